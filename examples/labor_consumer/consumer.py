"""Labor standards: on labor indicators (in a red flag or in any department's inspection), open a wage-theft
investigation of the establishment, or add the new evidence to the one already open.

"Labor indicator" is read from the shared catalog (category labor or both,
excluding the purely sex-trafficking ones), so a code added to the catalog
later is recognised without a change here.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

from pathways_consumer_kit import Context, DepartmentConsumer
from pathways_contracts.catalog import load_catalog
from pathways_contracts.events import InspectionCompleted, RedFlagRaised
from pathways_contracts.vocab import Category

DEPARTMENT = "labor"
MIGRATIONS = Path(__file__).parent / "migrations"
# Wage, hours and pay-record indicators: what a wage-theft investigation can act on.
WAGE_AND_HOURS = {"LAB-WAGE-THEFT", "LAB-UNPAID-OVERTIME", "LAB-EXCESSIVE-HOURS", "LAB-NO-DAYS-OFF",
                  "LAB-NO-PAY-RECORDS", "LAB-HOUSING-WAGE-DEDUCTIONS", "LAB-RECRUITMENT-FEES", "OPS-DEBT-BONDAGE"}


@cache
def labor_codes() -> frozenset[str]:
    return frozenset(i.code for i in load_catalog().indicators if i.points_to(Category.LABOR)) & WAGE_AND_HOURS


async def on_red_flag(event: RedFlagRaised, ctx: Context) -> None:
    await open_or_extend(ctx, event.establishment_id, event.jurisdiction, event.indicator_codes)


async def on_inspection(event: InspectionCompleted, ctx: Context) -> None:
    await open_or_extend(ctx, event.establishment_id, event.jurisdiction, event.indicator_codes)


async def open_or_extend(ctx: Context, establishment_id: str, jurisdiction: str, codes: list[str]) -> None:
    found = sorted(set(codes) & labor_codes())
    if not found:
        return
    await ctx.conn.execute(
        f"insert into {ctx.schema}.wage_theft_investigations"
        " (establishment_id, jurisdiction, indicator_codes, evidence_events) values ($1, $2, $3, array[$4])"
        " on conflict (establishment_id) do update set"
        "  indicator_codes = (select array_agg(distinct c order by c) from unnest("
        f"    {ctx.schema}.wage_theft_investigations.indicator_codes || excluded.indicator_codes) c),"
        f"  evidence_events = {ctx.schema}.wage_theft_investigations.evidence_events || excluded.evidence_events,"
        "  updated_at = now()",
        establishment_id, jurisdiction, found, ctx.event.id)


def build(**options) -> DepartmentConsumer:
    consumer = DepartmentConsumer(DEPARTMENT, migrations=MIGRATIONS, **options)
    consumer.on(RedFlagRaised)(on_red_flag)
    consumer.on(InspectionCompleted)(on_inspection)
    return consumer


def main() -> None:
    build().run()
