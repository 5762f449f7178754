"""SQL for the registry, inspections and red flags (asyncpg, inside the caller's transaction)."""

from __future__ import annotations

import json
import uuid
from datetime import date

import asyncpg

SCHEMA = "inspection"

ESTABLISHMENT_COLUMNS = ("id", "license_number", "name", "license_type", "license_status", "license_expiry",
                         "address", "area", "jurisdiction")


async def upsert_establishment(conn: asyncpg.Connection | asyncpg.Pool, row: dict) -> bool:
    """Insert or update by license number; True when the row was new."""
    values = [row.get(c) for c in ESTABLISHMENT_COLUMNS]
    updates = ", ".join(f"{c} = excluded.{c}" for c in ESTABLISHMENT_COLUMNS[2:])
    return await conn.fetchval(
        f"insert into {SCHEMA}.establishments ({', '.join(ESTABLISHMENT_COLUMNS)})"
        f" values ({', '.join(f'${i}' for i in range(1, len(values) + 1))})"
        f" on conflict (license_number) do update set {updates}, updated_at = now()"
        " returning (xmax = 0)",
        *values,
    )


async def get_establishment(conn: asyncpg.Connection | asyncpg.Pool, establishment_id: str) -> dict | None:
    row = await conn.fetchrow(f"select * from {SCHEMA}.establishments where id = $1", establishment_id)
    return dict(row) if row else None


async def insert_inspection(conn: asyncpg.Connection, inspection: dict) -> None:
    await conn.execute(
        f"insert into {SCHEMA}.inspections (id, establishment_id, department, program, reason, inspected_on,"
        " result, indicator_codes, checklist_version, answers, interpreter_language, recorded_by)"
        " values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
        inspection["id"], inspection["establishment_id"], inspection["department"], inspection["program"],
        inspection["reason"], inspection["inspected_on"], inspection["result"], inspection["indicator_codes"],
        inspection.get("checklist_version"), json.dumps(inspection.get("answers") or {}),
        inspection.get("interpreter_language"), inspection["recorded_by"],
    )


async def inspections_since(conn: asyncpg.Connection, establishment_id: str, since: date) -> list[dict]:
    """Every department's inspections of one establishment since a date: the input of fused screening."""
    rows = await conn.fetch(
        f"select id, department, program, inspected_on, indicator_codes from {SCHEMA}.inspections"
        " where establishment_id = $1 and inspected_on >= $2 order by inspected_on, id",
        establishment_id, since,
    )
    return [dict(r) for r in rows]


async def open_red_flag(conn: asyncpg.Connection, establishment_id: str) -> dict | None:
    row = await conn.fetchrow(
        f"select * from {SCHEMA}.red_flags where establishment_id = $1 and status = 'open' for update",
        establishment_id,
    )
    return dict(row) if row else None


async def insert_red_flag(conn: asyncpg.Connection, red_flag_id: uuid.UUID, establishment_id: str, level: str,
                          score: float, explanation: dict) -> None:
    await conn.execute(
        f"insert into {SCHEMA}.red_flags (id, establishment_id, level, score, explanation)"
        " values ($1, $2, $3, $4, $5)",
        red_flag_id, establishment_id, level, score, json.dumps(explanation, default=str),
    )


async def raise_red_flag_level(conn: asyncpg.Connection, red_flag_id: uuid.UUID, level: str, score: float,
                               explanation: dict) -> None:
    await conn.execute(
        f"update {SCHEMA}.red_flags set level = $2, score = $3, explanation = $4, updated_at = now()"
        " where id = $1",
        red_flag_id, level, score, json.dumps(explanation, default=str),
    )
