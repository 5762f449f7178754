"""Police: only the criminal-operation view, and only for cases referred to the police (by triage or a hard
rule such as a minor or imminent danger).

- ``referral.created`` addressed to a police agency opens a case file; a
  referral to any other agency is ignored.
- ``redflag.raised`` is reduced on arrival to its criminal-operation and
  regulatory facts (the shared catalog decides each code's dimension):
  victim-vulnerability codes, the fused score and the minor flag are dropped
  before anything is stored. These facts are held out of sight and attached
  to a case file only when the police referral for that establishment comes;
  held facts nobody referred are purged after ``HOLD_DAYS``.
"""

from __future__ import annotations

import json
import os
from functools import cache
from pathlib import Path
from typing import Any

from pathways_consumer_kit import Context, DepartmentConsumer
from pathways_contracts.catalog import load_catalog
from pathways_contracts.events import RedFlagRaised, ReferralCreated
from pathways_contracts.vocab import Dimension

DEPARTMENT = "police"
MIGRATIONS = Path(__file__).parent / "migrations"
POLICE_DIMENSIONS = {Dimension.CRIMINAL_OPERATION, Dimension.REGULATORY}
CRIMINAL_OPERATION_FIELDS = ("red_flag_id", "establishment_id", "jurisdiction", "level", "categories", "raised_at")
HOLD_DAYS = 30
# The police agencies of the referral directory (agency kind "police"); one id per line of POLICE_AGENCY_IDS.
DEFAULT_POLICE_AGENCIES = "city-police-trafficking-unit"


@cache
def _dimension_of() -> dict[str, str]:
    return {i.code: i.dimension for i in load_catalog().indicators}


def criminal_operation_view(event: RedFlagRaised) -> dict[str, Any]:
    """The red flag as the police may hold it; an unknown code is withheld, not assumed shareable."""
    data = event.model_dump(mode="json", include=set(CRIMINAL_OPERATION_FIELDS))
    data["indicator_codes"] = [c for c in event.indicator_codes if _dimension_of().get(c) in POLICE_DIMENSIONS]
    return data


def police_agencies() -> frozenset[str]:
    return frozenset(os.environ.get("POLICE_AGENCY_IDS", DEFAULT_POLICE_AGENCIES).split())


async def on_red_flag(event: RedFlagRaised, ctx: Context) -> None:
    await ctx.conn.execute(f"delete from {ctx.schema}.held_red_flags"
                           " where received_at < now() - make_interval(days => $1)", HOLD_DAYS)
    facts = criminal_operation_view(event)
    await ctx.conn.execute(
        f"insert into {ctx.schema}.held_red_flags (red_flag_id, establishment_id, facts) values ($1, $2, $3)"
        " on conflict do nothing", event.red_flag_id, event.establishment_id, json.dumps(facts))
    # A case already referred to us receives its later red flags directly.
    await ctx.conn.execute(
        f"update {ctx.schema}.case_files set red_flags = red_flags || jsonb_build_array($2::jsonb)"
        " where establishment_id = $1", event.establishment_id, json.dumps(facts))


async def on_referral(event: ReferralCreated, ctx: Context) -> None:
    if event.agency_id not in police_agencies():
        return
    held = await ctx.conn.fetch(f"select facts from {ctx.schema}.held_red_flags where establishment_id = $1"
                                " order by received_at", event.establishment_id)
    await ctx.conn.execute(
        f"insert into {ctx.schema}.case_files (case_id, referral_id, establishment_id, rule_id, due_by, red_flags)"
        " values ($1, $2, $3, $4, $5, $6) on conflict (case_id) do nothing",
        event.case_id, event.referral_id, event.establishment_id, event.rule_id, event.due_by,
        json.dumps([json.loads(r["facts"]) for r in held]))


def build(**options) -> DepartmentConsumer:
    consumer = DepartmentConsumer(DEPARTMENT, migrations=MIGRATIONS, **options)
    consumer.on(ReferralCreated)(on_referral)
    consumer.on(RedFlagRaised)(on_red_flag)
    return consumer


def main() -> None:
    build().run()
