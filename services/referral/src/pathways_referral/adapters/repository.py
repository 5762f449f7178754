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


async def insert_referral(conn: asyncpg.Connection, *, referral_id: uuid.UUID, case_id: uuid.UUID, agency_id: str,
                          service: str, rule_id: str, policy_version: str, due_by: datetime) -> None:
    await conn.execute(
        f"insert into {SCHEMA}.referrals (id, case_id, agency_id, service, rule_id, policy_version, due_by)"
        " values ($1, $2, $3, $4, $5, $6, $7)",
        referral_id, case_id, agency_id, service, rule_id, policy_version, due_by,
    )


async def get_case(conn: asyncpg.Connection | asyncpg.Pool, case_id: uuid.UUID) -> dict | None:
    row = await conn.fetchrow(f"select * from {SCHEMA}.cases where id = $1", case_id)
    if row is None:
        return None
    referrals = await conn.fetch(
        f"select id, agency_id, service, rule_id, policy_version, status, due_by, created_at"
        f" from {SCHEMA}.referrals where case_id = $1 order by created_at", case_id)
    flags = await conn.fetch(
        f"select red_flag_id, level, received_at from {SCHEMA}.case_red_flags where case_id = $1"
        " order by received_at", case_id)
    return dict(row) | {"referrals": [dict(r) for r in referrals], "red_flags": [dict(f) for f in flags]}


async def list_cases(pool: asyncpg.Pool, establishment_id: str | None = None) -> list[dict]:
    if establishment_id:
        rows = await pool.fetch(f"select * from {SCHEMA}.cases where establishment_id = $1 order by opened_at",
                                establishment_id)
    else:
        rows = await pool.fetch(f"select * from {SCHEMA}.cases order by opened_at desc limit 200")
    return [dict(r) for r in rows]
