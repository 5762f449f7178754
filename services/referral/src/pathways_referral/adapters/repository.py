"""SQL for cases and referrals (asyncpg, inside the caller's transaction)."""

from __future__ import annotations

import json
import uuid
from datetime import datetime

import asyncpg

SCHEMA = "referral"


async def open_case_for(conn: asyncpg.Connection, establishment_id: str, jurisdiction: str, level: str
                        ) -> tuple[uuid.UUID, bool]:
    """The open case of the establishment, creating it if there is none; (id, created)."""
    case_id = await conn.fetchval(
        f"insert into {SCHEMA}.cases (id, establishment_id, jurisdiction, level) values ($1, $2, $3, $4)"
        " on conflict (establishment_id) where status = 'open' do nothing returning id",
        uuid.uuid4(), establishment_id, jurisdiction, level,
    )
    if case_id is not None:
        return case_id, True
    existing = await conn.fetchval(
        f"select id from {SCHEMA}.cases where establishment_id = $1 and status = 'open'", establishment_id
    )
    return existing, False


async def attach_red_flag(conn: asyncpg.Connection, case_id: uuid.UUID, red_flag_id: uuid.UUID, level: str,
                          payload: dict) -> bool:
    """Link a red flag to a case; False when it was linked before (a re-sent red flag)."""
    return bool(await conn.fetchval(
        f"insert into {SCHEMA}.case_red_flags (red_flag_id, case_id, level, payload) values ($1, $2, $3, $4)"
        " on conflict do nothing returning true",
        red_flag_id, case_id, level, json.dumps(payload),
    ))


async def add_timeline(conn: asyncpg.Connection, case_id: uuid.UUID, what: str, detail: dict | None = None) -> None:
    await conn.execute(
        f"insert into {SCHEMA}.case_timeline (case_id, what, detail) values ($1, $2, $3)",
        case_id, what, json.dumps(detail or {}, default=str),
    )


async def alerted_unplaced(conn: asyncpg.Connection, case_id: uuid.UUID, agency_kind: str) -> bool:
    return await conn.fetchval(
        f"select exists (select 1 from {SCHEMA}.case_timeline where case_id = $1"
        " and what = 'coordinator alert: no agency left' and detail ->> 'agency_kind' = $2)", case_id, agency_kind)


async def insert_referral(conn: asyncpg.Connection, *, referral_id: uuid.UUID, case_id: uuid.UUID, agency_id: str,
                          agency_kind: str, service: str, rule_id: str, policy_version: str, due_by: datetime,
                          priority: int = 1, mandated: bool = False, reason: str = "",
                          referred_by_org: str | None = None, intake: dict | None = None,
                          created_at: datetime | None = None) -> None:
    # created_at comes from the caller's clock, the one due_by was computed from.
    await conn.execute(
        f"insert into {SCHEMA}.referrals (id, case_id, agency_id, agency_kind, service, rule_id, policy_version,"
        " due_by, priority, mandated, reason, referred_by_org, intake, created_at)"
        " values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, coalesce($14, now()))",
        referral_id, case_id, agency_id, agency_kind, service, rule_id, policy_version, due_by, priority, mandated,
        reason, referred_by_org, json.dumps(intake or {}), created_at,
    )


async def get_case(conn: asyncpg.Connection | asyncpg.Pool, case_id: uuid.UUID) -> dict | None:
    row = await conn.fetchrow(f"select * from {SCHEMA}.cases where id = $1", case_id)
    if row is None:
        return None
    referrals = await conn.fetch(
        f"select id, agency_id, agency_kind, service, rule_id, policy_version, status, status_reason, mandated,"
        f" reason, priority, due_by, created_at, accepted_at, engaged_at, closed_at"
        f" from {SCHEMA}.referrals where case_id = $1 order by created_at, priority", case_id)
    flags = await conn.fetch(
        f"select red_flag_id, level, received_at from {SCHEMA}.case_red_flags where case_id = $1"
        " order by received_at", case_id)
    timeline = await conn.fetch(
        f"select at, what, detail from {SCHEMA}.case_timeline where case_id = $1 order by id", case_id)
    triage = await conn.fetch(
        f"select approaches, roles_present, rationale, follow_up_on, imminent_danger, decided_by, decided_at"
        f" from {SCHEMA}.triage_decisions where case_id = $1 order by id", case_id)
    return dict(row) | {"referrals": [dict(r) for r in referrals], "red_flags": [dict(f) for f in flags],
                        "timeline": [dict(t) | {"detail": json.loads(t["detail"])} for t in timeline],
                        "triage": [dict(t) for t in triage]}


async def case_row(conn: asyncpg.Connection, case_id: uuid.UUID, *, lock: bool = False) -> asyncpg.Record | None:
    return await conn.fetchrow(f"select * from {SCHEMA}.cases where id = $1" + (" for update" if lock else ""),
                               case_id)


async def raise_case_level(conn: asyncpg.Connection, case_id: uuid.UUID, level: str, levels: list[str]) -> bool:
    """Set the case's level to ``level`` if that is higher; True when it went up."""
    return await conn.fetchval(
        f"update {SCHEMA}.cases set level = $2 where id = $1 and array_position($3::text[], level)"
        " < array_position($3::text[], $2) returning true", case_id, level, levels) or False


async def update_red_flag(conn: asyncpg.Connection, red_flag_id: uuid.UUID, level: str, payload: dict) -> None:
    await conn.execute(f"update {SCHEMA}.case_red_flags set level = $2, payload = $3 where red_flag_id = $1",
                       red_flag_id, level, json.dumps(payload))


async def red_flag_payloads(conn: asyncpg.Connection, case_id: uuid.UUID) -> list[dict]:
    rows = await conn.fetch(f"select payload from {SCHEMA}.case_red_flags where case_id = $1", case_id)
    return [json.loads(r["payload"]) for r in rows]


async def latest_triage(conn: asyncpg.Connection, case_id: uuid.UUID) -> asyncpg.Record | None:
    return await conn.fetchrow(f"select * from {SCHEMA}.triage_decisions where case_id = $1"
                               " order by id desc limit 1", case_id)


async def insert_triage(conn: asyncpg.Connection, case_id: uuid.UUID, decision: dict, decided_by: str) -> None:
    await conn.execute(
        f"insert into {SCHEMA}.triage_decisions (case_id, approaches, roles_present, rationale, follow_up_on,"
        " imminent_danger, decided_by) values ($1, $2, $3, $4, $5, $6, $7)",
        case_id, decision["approaches"], decision["roles_present"], decision["rationale"],
        decision["follow_up_on"], decision["imminent_danger"], decided_by)


async def close_case(conn: asyncpg.Connection, case_id: uuid.UUID, outcome: str) -> datetime | None:
    return await conn.fetchval(
        f"update {SCHEMA}.cases set status = 'closed', closed_at = now(), outcome = $2"
        " where id = $1 and status = 'open' returning closed_at", case_id, outcome)


async def insert_diversion_case(conn: asyncpg.Connection, jurisdiction: str) -> uuid.UUID:
    return await conn.fetchval(
        f"insert into {SCHEMA}.cases (id, kind, jurisdiction, level) values ($1, 'diversion', $2, 'concern')"
        " returning id", uuid.uuid4(), jurisdiction)


# --- referrals ------------------------------------------------------------------------------------

async def referral(conn: asyncpg.Connection | asyncpg.Pool, referral_id: uuid.UUID, *, lock: bool = False
                   ) -> asyncpg.Record | None:
    return await conn.fetchrow(
        f"select r.*, c.establishment_id, c.jurisdiction, c.level, c.kind as case_kind"
        f" from {SCHEMA}.referrals r join {SCHEMA}.cases c on c.id = r.case_id where r.id = $1"
        + (" for update of r" if lock else ""), referral_id)


async def list_referrals(conn: asyncpg.Pool, *, agency_id: str | None = None, case_id: uuid.UUID | None = None,
                         referred_by_org: str | None = None) -> list[asyncpg.Record]:
    return await conn.fetch(
        f"select r.*, c.establishment_id, c.jurisdiction, c.level from {SCHEMA}.referrals r"
        f" join {SCHEMA}.cases c on c.id = r.case_id"
        " where ($1::text is null or r.agency_id = $1) and ($2::uuid is null or r.case_id = $2)"
        " and ($3::text is null or r.referred_by_org = $3) order by r.created_at desc limit 500",
        agency_id, case_id, referred_by_org)


async def save_referral_state(conn: asyncpg.Connection, referral_id: uuid.UUID, state) -> None:
    await conn.execute(
        f"update {SCHEMA}.referrals set status = $2, accepted_at = $3, engaged_at = $4, closed_at = $5,"
        " status_reason = $6, outcome = $7, updated_at = now() where id = $1",
        referral_id, state.status.value, state.accepted_at, state.engaged_at, state.closed_at,
        state.status_reason, state.outcome)


async def offered(conn: asyncpg.Connection, case_id: uuid.UUID) -> list[asyncpg.Record]:
    """(agency_kind, agency_id) of every referral the case ever had, whatever became of it."""
    return await conn.fetch(f"select agency_kind, agency_id from {SCHEMA}.referrals where case_id = $1", case_id)


async def lock_next_due(conn: asyncpg.Connection) -> uuid.UUID | None:
    """One requested referral past its deadline, locked; another sweeper replica skips it."""
    return await conn.fetchval(
        f"select id from {SCHEMA}.referrals where status = 'requested' and due_by < now()"
        " order by due_by limit 1 for update skip locked")


async def still_requested(conn: asyncpg.Connection, case_id: uuid.UUID) -> list[uuid.UUID]:
    return [r["id"] for r in await conn.fetch(
        f"select id from {SCHEMA}.referrals where case_id = $1 and status = 'requested' for update", case_id)]


async def all_referral_states(pool: asyncpg.Pool) -> list[asyncpg.Record]:
    return await pool.fetch(f"select agency_id, agency_kind, created_at, due_by, status, accepted_at, engaged_at,"
                            f" closed_at, status_reason, outcome from {SCHEMA}.referrals")


async def status_feed(pool: asyncpg.Pool, department: str, establishment_id: str | None) -> list[asyncpg.Record]:
    """Per red flag the department contributed to: has the case been referred, accepted, engaged."""
    return await pool.fetch(
        f"select f.red_flag_id, f.level, f.received_at, c.establishment_id, c.status as case_status,"
        f" exists (select 1 from {SCHEMA}.referrals r where r.case_id = c.id) as referred,"
        f" exists (select 1 from {SCHEMA}.referrals r where r.case_id = c.id and r.accepted_at is not null)"
        f"   as accepted,"
        f" exists (select 1 from {SCHEMA}.referrals r where r.case_id = c.id and r.engaged_at is not null)"
        f"   as help_engaged"
        f" from {SCHEMA}.case_red_flags f join {SCHEMA}.cases c on c.id = f.case_id"
        " where f.payload -> 'departments' ? $1 and ($2::text is null or c.establishment_id = $2)"
        " order by f.received_at desc limit 500", department, establishment_id)


# --- agency directory -----------------------------------------------------------------------------

async def agency_documents(conn: asyncpg.Connection | asyncpg.Pool) -> list[dict]:
    return [json.loads(r["document"]) for r in await conn.fetch(f"select document from {SCHEMA}.agencies order by id")]


async def agency_document(conn: asyncpg.Connection | asyncpg.Pool, agency_id: str) -> dict | None:
    doc = await conn.fetchval(f"select document from {SCHEMA}.agencies where id = $1", agency_id)
    return json.loads(doc) if doc else None


async def insert_agency(conn: asyncpg.Connection | asyncpg.Pool, agency_id: str, kind: str, document: dict) -> bool:
    return await conn.fetchval(
        f"insert into {SCHEMA}.agencies (id, kind, document) values ($1, $2, $3) on conflict do nothing"
        " returning true", agency_id, kind, json.dumps(document)) or False


async def upsert_agency(conn: asyncpg.Connection | asyncpg.Pool, agency_id: str, kind: str, document: dict) -> None:
    await conn.execute(
        f"insert into {SCHEMA}.agencies (id, kind, document) values ($1, $2, $3) on conflict (id) do update"
        " set kind = excluded.kind, document = excluded.document, updated_at = now()",
        agency_id, kind, json.dumps(document))


async def list_cases(pool: asyncpg.Pool, establishment_id: str | None = None) -> list[dict]:
    if establishment_id:
        rows = await pool.fetch(f"select * from {SCHEMA}.cases where establishment_id = $1 order by opened_at",
                                establishment_id)
    else:
        rows = await pool.fetch(f"select * from {SCHEMA}.cases order by opened_at desc limit 200")
    return [dict(r) for r in rows]
