"""SQL for subscriptions and deliveries."""

from __future__ import annotations

import json
import uuid

import asyncpg

SCHEMA = "notification"


async def matching_subscriptions(conn: asyncpg.Connection, event_type: str) -> list[asyncpg.Record]:
    return await conn.fetch(
        f"select * from {SCHEMA}.subscriptions where active and $1 = any(event_types)", event_type)


async def add_delivery(conn: asyncpg.Connection, subscription_id: uuid.UUID, event_id: str, event_type: str,
                       subject: str, body: dict, traceparent: str | None) -> None:
    await conn.execute(
        f"insert into {SCHEMA}.deliveries (id, subscription_id, event_id, event_type, subject, body, traceparent)"
        " values ($1, $2, $3, $4, $5, $6, $7) on conflict (subscription_id, event_id) do nothing",
        uuid.uuid4(), subscription_id, event_id, event_type, subject, json.dumps(body, default=str), traceparent,
    )
    await conn.execute("select pg_notify('pathways_deliveries', '')")


async def create_subscription(conn: asyncpg.Connection | asyncpg.Pool, *, department: str, role: str,
                              event_types: list[str], channel: str, target: str, secret: str | None) -> uuid.UUID:
    sub_id = uuid.uuid4()
    await conn.execute(
        f"insert into {SCHEMA}.subscriptions (id, department, role, event_types, channel, target, secret)"
        " values ($1, $2, $3, $4, $5, $6, $7)",
        sub_id, department, role, event_types, channel, target, secret,
    )
    return sub_id


async def deliveries(pool: asyncpg.Pool, status: str | None = None) -> list[dict]:
    rows = await pool.fetch(
        f"select d.id, d.subscription_id, s.department, d.event_id, d.event_type, d.subject, d.status,"
        f" d.attempts, d.last_error, d.created_at, d.delivered_at from {SCHEMA}.deliveries d"
        f" join {SCHEMA}.subscriptions s on s.id = d.subscription_id"
        " where ($1::text is null or d.status = $1) order by d.created_at desc limit 500", status)
    return [dict(r) for r in rows]
