"""Housing: on a red flag with workers living on site or overcrowded employer housing, open a rental-housing
inspection request and hold emergency shelter beds for the people who may need to leave.

Both writes happen in the handler's transaction with the inbox row, so a
redelivered red flag neither opens a second request nor holds beds twice.
"""

from __future__ import annotations

from pathlib import Path

from pathways_consumer_kit import Context, DepartmentConsumer
from pathways_contracts.events import RedFlagRaised

DEPARTMENT = "housing"
MIGRATIONS = Path(__file__).parent / "migrations"
HOUSING_SIGNS = {
    "VUL-LIVING-ON-SITE": "workers living or sleeping on the premises",
    "VUL-OVERCROWDED-EMPLOYER-HOUSING": "overcrowded employer-rented housing",
}
BEDS_PER_OFFER = 2  # a first offer; the housing navigator adjusts it once the people are known


async def on_red_flag(event: RedFlagRaised, ctx: Context) -> None:
    reasons = [HOUSING_SIGNS[code] for code in event.indicator_codes if code in HOUSING_SIGNS]
    if not reasons:
        return
    await ctx.conn.execute(
        f"insert into {ctx.schema}.inspection_requests (red_flag_id, establishment_id, reasons)"
        " values ($1, $2, $3) on conflict do nothing", event.red_flag_id, event.establishment_id, reasons)
    await offer_shelter(ctx, event)


async def offer_shelter(ctx: Context, event: RedFlagRaised) -> None:
    """Hold beds at the site with the most free; an offer of 0 beds records that none were free."""
    site = await ctx.conn.fetchrow(
        f"select site, beds_free from {ctx.schema}.shelter_sites order by beds_free desc limit 1 for update")
    beds = min(BEDS_PER_OFFER, site["beds_free"]) if site else 0
    if beds:
        await ctx.conn.execute(f"update {ctx.schema}.shelter_sites set beds_free = beds_free - $2 where site = $1",
                               site["site"], beds)
    await ctx.conn.execute(
        f"insert into {ctx.schema}.shelter_offers (red_flag_id, establishment_id, site, beds) values ($1, $2, $3, $4)",
        event.red_flag_id, event.establishment_id, site["site"] if beds else None, beds)


def build(**options) -> DepartmentConsumer:
    consumer = DepartmentConsumer(DEPARTMENT, migrations=MIGRATIONS, **options)
    consumer.on(RedFlagRaised)(on_red_flag)
    return consumer


def main() -> None:
    build().run()
