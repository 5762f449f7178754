"""SQL for cases, referrals and the agency directory (asyncpg, on the unit of work's connection).

Each repository returns plain dicts (and takes plain values), so the in-memory repositories of the
unit tests (tests/unit/referral_fakes.py) can stand in for them method for method.
"""

from __future__ import annotations

import functools
import json
import uuid
from dataclasses import dataclass
from datetime import datetime

import asyncpg

from pathways_contracts.vocab import Level
from pathways_referral.domain.directory import Organization

SCHEMA = "referral"
LEVELS = [level.value for level in Level]  # lowest first: the order a case's priority may only go up


@dataclass(frozen=True)
class After:
    """Keyset cursor: the sort key (a time) and the id of the last row of the previous page."""

    at: datetime
    id: uuid.UUID


@dataclass(frozen=True)
class NewReferral:
    referral_id: uuid.UUID
    case_id: uuid.UUID
    agency_id: str
    agency_kind: str
    service: str
    rule_id: str
    policy_version: str
    due_by: datetime
    created_at: datetime  # the caller's clock, the one due_by was computed from
    priority: int = 1
    mandated: bool = False
    reason: str = ""
    referred_by_org: str | None = None
    intake: dict | None = None


def _dict(row: asyncpg.Record | None) -> dict | None:
    return None if row is None else dict(row)


class CaseRepository:
    def __init__(self, conn: asyncpg.Connection) -> None:
        self.conn = conn

    async def open_for(self, establishment_id: str, jurisdiction: str, level: str) -> tuple[uuid.UUID, bool]:
        """The open case of the establishment, creating it if there is none; (id, created)."""
        case_id = await self.conn.fetchval(
            f"insert into {SCHEMA}.cases (id, establishment_id, jurisdiction, level) values ($1, $2, $3, $4)"
            " on conflict (establishment_id) where status = 'open' do nothing returning id",
            uuid.uuid4(), establishment_id, jurisdiction, level)
        if case_id is not None:
            return case_id, True
        existing = await self.conn.fetchval(
            f"select id from {SCHEMA}.cases where establishment_id = $1 and status = 'open'", establishment_id)
        return existing, False

    async def add_diversion(self, jurisdiction: str) -> dict:
        return dict(await self.conn.fetchrow(
            f"insert into {SCHEMA}.cases (id, kind, jurisdiction, level) values ($1, 'diversion', $2, 'concern')"
            " returning *", uuid.uuid4(), jurisdiction))

    async def get(self, case_id: uuid.UUID, *, lock: bool = False) -> dict | None:
        return _dict(await self.conn.fetchrow(
            f"select * from {SCHEMA}.cases where id = $1" + (" for update" if lock else ""), case_id))

    async def attach_red_flag(self, case_id: uuid.UUID, red_flag_id: uuid.UUID, level: str, payload: dict) -> bool:
        """Link a red flag to a case; False when it was linked before (a re-sent red flag)."""
        return bool(await self.conn.fetchval(
            f"insert into {SCHEMA}.case_red_flags (red_flag_id, case_id, level, payload) values ($1, $2, $3, $4)"
            " on conflict do nothing returning true", red_flag_id, case_id, level, json.dumps(payload)))

    async def update_red_flag(self, red_flag_id: uuid.UUID, level: str, payload: dict) -> None:
        await self.conn.execute(f"update {SCHEMA}.case_red_flags set level = $2, payload = $3 where red_flag_id = $1",
                                red_flag_id, level, json.dumps(payload))

    async def red_flags(self, case_id: uuid.UUID) -> list[dict]:
        """The payloads (the red flag events' data) of every red flag of the case."""
        rows = await self.conn.fetch(f"select payload from {SCHEMA}.case_red_flags where case_id = $1", case_id)
        return [json.loads(r["payload"]) for r in rows]

    async def raise_level(self, case_id: uuid.UUID, level: str) -> bool:
        """Set the case's level to ``level`` if that is higher; True when it went up."""
        return await self.conn.fetchval(
            f"update {SCHEMA}.cases set level = $2 where id = $1 and array_position($3::text[], level)"
            " < array_position($3::text[], $2) returning true", case_id, level, LEVELS) or False

    async def add_triage(self, case_id: uuid.UUID, decision: dict, decided_by: str) -> None:
        await self.conn.execute(
            f"insert into {SCHEMA}.triage_decisions (case_id, approaches, roles_present, rationale, follow_up_on,"
            " imminent_danger, decided_by) values ($1, $2, $3, $4, $5, $6, $7)",
            case_id, decision["approaches"], decision["roles_present"], decision["rationale"],
            decision["follow_up_on"], decision["imminent_danger"], decided_by)

    async def latest_triage(self, case_id: uuid.UUID) -> dict | None:
        return _dict(await self.conn.fetchrow(
            f"select * from {SCHEMA}.triage_decisions where case_id = $1 order by id desc limit 1", case_id))

    async def close(self, case_id: uuid.UUID, outcome: str, at: datetime) -> datetime | None:
        return await self.conn.fetchval(
            f"update {SCHEMA}.cases set status = 'closed', closed_at = $3, outcome = $2"
            " where id = $1 and status = 'open' returning closed_at", case_id, outcome, at)

    async def add_timeline(self, case_id: uuid.UUID, what: str, detail: dict | None = None) -> None:
        await self.conn.execute(f"insert into {SCHEMA}.case_timeline (case_id, what, detail) values ($1, $2, $3)",
                                case_id, what, json.dumps(detail or {}, default=str))

    async def alerted_unplaced(self, case_id: uuid.UUID, agency_kind: str) -> bool:
        return await self.conn.fetchval(
            f"select exists (select 1 from {SCHEMA}.case_timeline where case_id = $1"
            " and what = 'coordinator alert: no agency left' and detail ->> 'agency_kind' = $2)", case_id, agency_kind)

    # --- reads ----------------------------------------------------------------------------------

    async def detail(self, case_id: uuid.UUID) -> dict | None:
        """The case with its referrals, red flags, timeline and triage decisions."""
        row = await self.conn.fetchrow(f"select * from {SCHEMA}.cases where id = $1", case_id)
        if row is None:
            return None
        referrals = await self.conn.fetch(
            f"select id, agency_id, agency_kind, service, rule_id, policy_version, status, status_reason, mandated,"
            f" reason, priority, due_by, created_at, accepted_at, engaged_at, closed_at"
            f" from {SCHEMA}.referrals where case_id = $1 order by created_at, priority", case_id)
        flags = await self.conn.fetch(
            f"select red_flag_id, level, received_at from {SCHEMA}.case_red_flags where case_id = $1"
            " order by received_at", case_id)
        timeline = await self.conn.fetch(
            f"select at, what, detail from {SCHEMA}.case_timeline where case_id = $1 order by id", case_id)
        triage = await self.conn.fetch(
            f"select approaches, roles_present, rationale, follow_up_on, imminent_danger, decided_by, decided_at"
            f" from {SCHEMA}.triage_decisions where case_id = $1 order by id", case_id)
        return dict(row) | {"referrals": [dict(r) for r in referrals], "red_flags": [dict(f) for f in flags],
                            "timeline": [dict(t) | {"detail": json.loads(t["detail"])} for t in timeline],
                            "triage": [dict(t) for t in triage]}

    async def page(self, *, establishment_id: str | None, after: After | None, limit: int) -> list[dict]:
        """Newest first, ``limit`` rows after the cursor (keyset: stable while new cases arrive)."""
        rows = await self.conn.fetch(
            f"select * from {SCHEMA}.cases where ($1::text is null or establishment_id = $1)"
            " and ($2::timestamptz is null or (opened_at, id) < ($2, $3::uuid))"
            " order by opened_at desc, id desc limit $4",
            establishment_id, after.at if after else None, after.id if after else None, limit)
        return [dict(r) for r in rows]


class ReferralRepository:
    def __init__(self, conn: asyncpg.Connection) -> None:
        self.conn = conn

    async def get(self, referral_id: uuid.UUID, *, lock: bool = False) -> dict | None:
        """The referral with its case's establishment, jurisdiction, level and kind."""
        return _dict(await self.conn.fetchrow(
            f"select r.*, c.establishment_id, c.jurisdiction, c.level, c.kind as case_kind"
            f" from {SCHEMA}.referrals r join {SCHEMA}.cases c on c.id = r.case_id where r.id = $1"
            + (" for update of r" if lock else ""), referral_id))

    async def add(self, r: NewReferral) -> None:
        await self.conn.execute(
            f"insert into {SCHEMA}.referrals (id, case_id, agency_id, agency_kind, service, rule_id, policy_version,"
            " due_by, priority, mandated, reason, referred_by_org, intake, created_at)"
            " values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)",
            r.referral_id, r.case_id, r.agency_id, r.agency_kind, r.service, r.rule_id, r.policy_version, r.due_by,
            r.priority, r.mandated, r.reason, r.referred_by_org, json.dumps(r.intake or {}), r.created_at)

    async def save_state(self, referral_id: uuid.UUID, state) -> None:
        await self.conn.execute(
            f"update {SCHEMA}.referrals set status = $2, accepted_at = $3, engaged_at = $4, closed_at = $5,"
            " status_reason = $6, outcome = $7, updated_at = now() where id = $1",
            referral_id, state.status.value, state.accepted_at, state.engaged_at, state.closed_at,
            state.status_reason, state.outcome)

    async def offered(self, case_id: uuid.UUID) -> list[dict]:
        """(agency_kind, agency_id) of every referral the case ever had, whatever became of it."""
        rows = await self.conn.fetch(f"select agency_kind, agency_id from {SCHEMA}.referrals where case_id = $1",
                                     case_id)
        return [dict(r) for r in rows]

    async def due(self, now: datetime, limit: int) -> list[uuid.UUID]:
        """Requested referrals past their deadline at ``now``, oldest deadline first."""
        rows = await self.conn.fetch(f"select id from {SCHEMA}.referrals where status = 'requested' and due_by < $1"
                                     " order by due_by limit $2", now, limit)
        return [r["id"] for r in rows]

    async def still_requested(self, case_id: uuid.UUID) -> list[uuid.UUID]:
        return [r["id"] for r in await self.conn.fetch(
            f"select id from {SCHEMA}.referrals where case_id = $1 and status = 'requested' for update", case_id)]

    # --- reads ----------------------------------------------------------------------------------

    async def page(self, *, agency_id: str | None = None, case_id: uuid.UUID | None = None,
                   referred_by_org: str | None = None, after: After | None = None, limit: int = 100) -> list[dict]:
        rows = await self.conn.fetch(
            f"select r.*, c.establishment_id, c.jurisdiction, c.level from {SCHEMA}.referrals r"
            f" join {SCHEMA}.cases c on c.id = r.case_id"
            " where ($1::text is null or r.agency_id = $1) and ($2::uuid is null or r.case_id = $2)"
            " and ($3::text is null or r.referred_by_org = $3)"
            " and ($4::timestamptz is null or (r.created_at, r.id) < ($4, $5::uuid))"
            " order by r.created_at desc, r.id desc limit $6",
            agency_id, case_id, referred_by_org, after.at if after else None, after.id if after else None, limit)
        return [dict(r) for r in rows]

    async def all_states(self) -> list[dict]:
        rows = await self.conn.fetch(f"select agency_id, agency_kind, created_at, due_by, status, accepted_at,"
                                     f" engaged_at, closed_at, status_reason, outcome from {SCHEMA}.referrals")
        return [dict(r) for r in rows]

    async def status_feed(self, department: str, establishment_id: str | None, *, after: After | None = None,
                          limit: int = 100) -> list[dict]:
        """Per red flag the department contributed to, newest first: has the case been referred, accepted, engaged."""
        rows = await self.conn.fetch(
            f"select f.red_flag_id, f.level, f.received_at, c.establishment_id, c.status as case_status,"
            f" exists (select 1 from {SCHEMA}.referrals r where r.case_id = c.id) as referred,"
            f" exists (select 1 from {SCHEMA}.referrals r where r.case_id = c.id and r.accepted_at is not null)"
            f"   as accepted,"
            f" exists (select 1 from {SCHEMA}.referrals r where r.case_id = c.id and r.engaged_at is not null)"
            f"   as help_engaged"
            f" from {SCHEMA}.case_red_flags f join {SCHEMA}.cases c on c.id = f.case_id"
            " where f.payload -> 'departments' ? $1 and ($2::text is null or c.establishment_id = $2)"
            " and ($3::timestamptz is null or (f.received_at, f.red_flag_id) < ($3, $4::uuid))"
            " order by f.received_at desc, f.red_flag_id desc limit $5",
            department, establishment_id, after.at if after else None, after.id if after else None, limit)
        return [dict(r) for r in rows]


@functools.lru_cache(maxsize=4096)
def _organization(document: str) -> Organization:
    """A stored document, validated once: the directory is read for every red flag placed, and its
    documents rarely change (the models are frozen, so one instance serves every reader)."""
    return Organization.model_validate_json(document)


class AgencyRepository:
    """The agency directory: one HSDS-shaped JSON document per organisation."""

    def __init__(self, conn: asyncpg.Connection) -> None:
        self.conn = conn

    async def all(self) -> list[Organization]:
        """Every organisation, read in the caller's transaction (so always current)."""
        rows = await self.conn.fetch(f"select document from {SCHEMA}.agencies order by id")
        return [_organization(r["document"]) for r in rows]

    async def add(self, agency_id: str, kind: str, document: dict) -> bool:
        """False when an agency with this id exists (it is left as it is)."""
        return await self.conn.fetchval(
            f"insert into {SCHEMA}.agencies (id, kind, document) values ($1, $2, $3) on conflict do nothing"
            " returning true", agency_id, kind, json.dumps(document)) or False

    async def put(self, agency_id: str, kind: str, document: dict) -> None:
        await self.conn.execute(
            f"insert into {SCHEMA}.agencies (id, kind, document) values ($1, $2, $3) on conflict (id) do update"
            " set kind = excluded.kind, document = excluded.document, updated_at = now()",
            agency_id, kind, json.dumps(document))
