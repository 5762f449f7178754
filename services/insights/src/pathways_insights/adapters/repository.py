"""All SQL of the insights service: its projection of the bus, and the release audit.

Every query names the insights schema only: this service never reads another service's tables.
"""

from __future__ import annotations

import json
import uuid
from datetime import date

import asyncpg

from pathways_contracts.vocab import InspectionReason, Program
from pathways_insights.domain.simulation import RecordedInspection
from pathways_insights.domain.statistics import Fact, Measure


class ProjectionRepository:
    def __init__(self, conn: asyncpg.Connection, schema: str) -> None:
        self.conn = conn
        self.s = schema

    async def add_inspection(self, i: RecordedInspection, result: str, category: str) -> bool:
        """Record an inspection (once: a re-delivered one changes nothing) and, when it is new, what it says of
        its establishment, in one statement; False when it was known."""
        return await self.conn.fetchval(
            f"with added as (insert into {self.s}.inspections (inspection_id, establishment_id, jurisdiction, area,"
            " department, program, reason, inspected_on, result, indicator_codes, category)"
            " values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) on conflict do nothing returning true),"
            f" establishment as (insert into {self.s}.establishments (establishment_id, jurisdiction, area,"
            " establishment_type, first_inspected_on) select $2, $3, $4, $6, $8 from added"
            " on conflict (establishment_id) do update set"
            f" area = coalesce(excluded.area, {self.s}.establishments.area),"
            " establishment_type = case when excluded.first_inspected_on"
            f" < {self.s}.establishments.first_inspected_on then excluded.establishment_type"
            f" else {self.s}.establishments.establishment_type end,"
            f" first_inspected_on = least(excluded.first_inspected_on, {self.s}.establishments.first_inspected_on))"
            " select exists (select 1 from added)",
            uuid.UUID(i.inspection_id), i.establishment_id, i.jurisdiction, i.area, i.department, i.program.value,
            i.reason.value, i.inspected_on, result, list(i.indicator_codes), category)

    async def add_red_flag(self, red_flag_id: uuid.UUID, establishment_id: str, jurisdiction: str, level: str,
                           category: str, raised_on: date) -> None:
        """A raised flag, or a higher level for a known one (escalation)."""
        await self.conn.execute(
            f"insert into {self.s}.red_flags (red_flag_id, establishment_id, jurisdiction, level, category,"
            " raised_on) values ($1, $2, $3, $4, $5, $6) on conflict (red_flag_id) do update set"
            " level = excluded.level, category = excluded.category",
            red_flag_id, establishment_id, jurisdiction, level, category, raised_on)

    async def open_case(self, case_id: uuid.UUID, establishment_id: str, jurisdiction: str, category: str,
                        opened_on: date) -> None:
        await self.conn.execute(
            f"insert into {self.s}.cases (case_id, establishment_id, jurisdiction, category, opened_on)"
            " values ($1, $2, $3, $4, $5) on conflict (case_id) do update set"
            " establishment_id = excluded.establishment_id, jurisdiction = excluded.jurisdiction,"
            " category = excluded.category, opened_on = excluded.opened_on",
            case_id, establishment_id, jurisdiction, category, opened_on)

    async def close_case(self, case_id: uuid.UUID, outcome: str, closed_on: date) -> None:
        # Topics are not ordered: a close may arrive before the open, so either may create the row.
        await self.conn.execute(
            f"insert into {self.s}.cases (case_id, closed_on, outcome) values ($1, $2, $3)"
            " on conflict (case_id) do update set closed_on = excluded.closed_on, outcome = excluded.outcome",
            case_id, closed_on, outcome)

    async def referral_created(self, referral_id: uuid.UUID, case_id: uuid.UUID, establishment_id: str,
                               agency_kind: str, created_on: date) -> None:
        await self.conn.execute(
            f"insert into {self.s}.referrals (referral_id, case_id, establishment_id, agency_kind, created_on)"
            " values ($1, $2, $3, $4, $5) on conflict (referral_id) do update set"
            " establishment_id = excluded.establishment_id, agency_kind = excluded.agency_kind,"
            " created_on = excluded.created_on",
            referral_id, case_id, establishment_id, agency_kind, created_on)

    async def referral_step(self, referral_id: uuid.UUID, case_id: uuid.UUID, step: str, on: date,
                            status: str | None = None) -> None:
        """accepted, declined, expired, engaged or closed (with its final status) on a day."""
        column = {"accepted": "accepted_on", "declined": "declined_on", "expired": "expired_on",
                  "engaged": "engaged_on", "closed": "closed_on"}[step]
        await self.conn.execute(
            f"insert into {self.s}.referrals (referral_id, case_id, {column}, closed_status)"
            f" values ($1, $2, $3, $4) on conflict (referral_id) do update set {column} = excluded.{column},"
            f" closed_status = coalesce(excluded.closed_status, {self.s}.referrals.closed_status)",
            referral_id, case_id, on, status)

    async def inspections_between(self, start: date, end: date, jurisdiction: str | None = None
                                  ) -> list[RecordedInspection]:
        """The inspections of [start, end], in the order they happened (day, then arrival)."""
        rows = await self.conn.fetch(
            f"select inspection_id, establishment_id, jurisdiction, area, department, program, reason,"
            f" inspected_on, indicator_codes from {self.s}.inspections"
            " where inspected_on between $1 and $2 and ($3::text is null or jurisdiction = $3)"
            " order by inspected_on, seq", start, end, jurisdiction)
        return [RecordedInspection(str(r["inspection_id"]), r["establishment_id"], r["jurisdiction"], r["area"],
                                   r["department"], Program(r["program"]), InspectionReason(r["reason"]),
                                   r["inspected_on"], tuple(r["indicator_codes"])) for r in rows]

    async def facts(self, measure: Measure, start: date, end: date) -> list[Fact]:
        """One fact per counted thing of ``measure`` whose day falls in [start, end]."""
        query = _FACTS[measure].format(s=self.s)
        rows = await self.conn.fetch(query, start, end)
        return [Fact(r["day"], r["area"], r["program"], r["category"], r["agency_kind"], r["days"]) for r in rows]


_ESTABLISHMENT = "left join {s}.establishments e on e.establishment_id = x.establishment_id"


def _referral_facts(day: str, extra: str = "", timed: bool = True) -> str:
    """Referrals (or one step of theirs) by the day of ``day``; with the days since the referral when ``timed``."""
    days = f"x.{day} - x.created_on" if timed else "null::int"  # null too when the creation is not known yet
    return (f"select x.{day} as day, e.area, e.establishment_type as program, c.category, x.agency_kind,"
            f" {days} as days from {{s}}.referrals x {_ESTABLISHMENT}"
            f" left join {{s}}.cases c on c.case_id = x.case_id where x.{day} between $1 and $2 {extra}")


_FACTS = {
    Measure.INSPECTIONS: "select x.inspected_on as day, x.area, x.program, x.category, null as agency_kind,"
                         " null::int as days from {s}.inspections x where x.inspected_on between $1 and $2",
    Measure.RED_FLAGS: "select x.raised_on as day, e.area, e.establishment_type as program, x.category,"
                       " null as agency_kind, null::int as days from {s}.red_flags x " + _ESTABLISHMENT
                       + " where x.raised_on between $1 and $2",
    Measure.CASES_OPENED: "select x.opened_on as day, e.area, e.establishment_type as program, x.category,"
                          " null as agency_kind, null::int as days from {s}.cases x " + _ESTABLISHMENT
                          + " where x.opened_on between $1 and $2",
    Measure.CASES_CLOSED: "select x.closed_on as day, e.area, e.establishment_type as program, x.category,"
                          " null as agency_kind, x.closed_on - x.opened_on as days from {s}.cases x "
                          + _ESTABLISHMENT + " where x.closed_on between $1 and $2",
    Measure.REFERRALS: _referral_facts("created_on", timed=False),
    Measure.REFERRALS_ACCEPTED: _referral_facts("accepted_on"),
    Measure.REFERRALS_DECLINED: _referral_facts("declined_on"),
    Measure.REFERRALS_EXPIRED: _referral_facts("expired_on"),
    Measure.VICTIM_SERVICE_ENGAGED: _referral_facts("engaged_on"),
    Measure.REFERRALS_COMPLETED: _referral_facts("closed_on", "and x.closed_status = 'completed'"),
}


class ReleaseRepository:
    """The audit of statistics releases: who, when, which parameters, how much was published."""

    def __init__(self, conn: asyncpg.Connection, schema: str) -> None:
        self.conn = conn
        self.s = schema

    async def record(self, release_id: uuid.UUID, *, released_to: str, role: str, org: str, parameters: dict,
                     k: int, cells_published: int, cells_suppressed: int) -> None:
        await self.conn.execute(
            f"insert into {self.s}.releases (release_id, released_to, role, org, parameters, k, cells_published,"
            " cells_suppressed) values ($1, $2, $3, $4, $5, $6, $7, $8)",
            release_id, released_to, role, org, json.dumps(parameters, default=str), k, cells_published,
            cells_suppressed)

    async def recent(self, limit: int = 50) -> list[dict]:
        rows = await self.conn.fetch(
            f"select release_id, released_at, released_to, role, org, parameters, k, cells_published,"
            f" cells_suppressed from {self.s}.releases order by released_at desc limit $1", limit)
        return [dict(r) | {"parameters": json.loads(r["parameters"])} for r in rows]
