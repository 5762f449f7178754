"""The department consumer kit: a department's own consumer of Pathways events in a few lines.

    consumer = DepartmentConsumer("housing", migrations=Path(__file__).parent / "migrations")

    @consumer.on(RedFlagRaised)
    async def on_red_flag(event: RedFlagRaised, ctx: Context) -> None:
        await ctx.conn.execute(f"insert into {ctx.schema}.requests ...")

    consumer.run()
"""

from pathways_consumer_kit.consumer import Context, DepartmentConsumer
from pathways_consumer_kit.testing import publish

__all__ = ["Context", "DepartmentConsumer", "publish"]
