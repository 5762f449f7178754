"""SQL for subscriptions and deliveries."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field
from datetime import datetime

import asyncpg

from pathways_notification.domain.filters import Filter

SCHEMA = "notification"
WAKE_CHANNEL = "pathways_deliveries"
_DELIVERY_COLUMNS = (
    "d.id, d.subscription_id, s.department, s.channel, d.event_id, d.event_type, d.subject, d.status,"
    " d.attempts, d.last_error, d.created_at, d.delivered_at")


@dataclass(frozen=True)
class NewSubscription:
    department: str
    role: str
    event_types: list[str]
    channel: str
    target: str
    secret: str | None
    jurisdictions: list[str] = field(default_factory=list)
    min_level: str | None = None
    categories: list[str] = field(default_factory=list)
    programs: list[str] = field(default_factory=list)


def subscription_filter(row: asyncpg.Record) -> Filter:
    return Filter(jurisdictions=frozenset(row["jurisdictions"]), min_level=row["min_level"],
                  categories=frozenset(row["categories"]), programs=frozenset(row["programs"]))


async def active_subscriptions_for(conn: asyncpg.Connection, event_type: str) -> list[asyncpg.Record]:
    # FOR SHARE: a concurrent 410 unsubscribe either waits for this transaction (and then cancels the
    # deliveries it adds) or has committed first (and the row no longer qualifies): no orphan pending.
    return await conn.fetch(
        f"select * from {SCHEMA}.subscriptions where active and $1 = any(event_types) for share", event_type)


async def add_delivery(conn: asyncpg.Connection, subscription_id: uuid.UUID, event_id: str, event_type: str,
                       subject: str, body: dict, traceparent: str | None) -> None:
    await conn.execute(
        f"insert into {SCHEMA}.deliveries (id, subscription_id, event_id, event_type, subject, body, traceparent)"
        " values ($1, $2, $3, $4, $5, $6, $7) on conflict (subscription_id, event_id) do nothing",
        uuid.uuid4(), subscription_id, event_id, event_type, subject, json.dumps(body, default=str), traceparent,
    )
    await wake_worker(conn)


async def wake_worker(conn: asyncpg.Connection | asyncpg.Pool) -> None:
    await conn.execute(f"select pg_notify('{WAKE_CHANNEL}', '')")


async def record_contact_restriction(conn: asyncpg.Connection, case_id: uuid.UUID, restricted: bool,
                                     changed_at: datetime) -> bool:
    """Store the case's flag unless a later change is already stored; True when this one was applied."""
    applied = await conn.fetchval(
        f"insert into {SCHEMA}.restricted_cases (case_id, restricted, changed_at) values ($1, $2, $3)"
        " on conflict (case_id) do update set restricted = excluded.restricted, changed_at = excluded.changed_at,"
        " recorded_at = now() where restricted_cases.changed_at < excluded.changed_at returning true",
        case_id, restricted, changed_at)
    return bool(applied)


async def case_restricted(conn: asyncpg.Connection, case_id: str) -> bool:
    return bool(await conn.fetchval(
        f"select restricted from {SCHEMA}.restricted_cases where case_id = $1::uuid", case_id))


async def cancel_case_deliveries(conn: asyncpg.Connection, case_id: uuid.UUID) -> int:
    """Cancel what waits about the case: pending ones, and parked ones so that a replay cannot send them."""
    cancelled = await conn.fetch(
        f"update {SCHEMA}.deliveries set status = 'cancelled' where body ->> 'case_id' = $1"
        " and status in ('pending', 'parked') returning id", str(case_id))
    return len(cancelled)


async def cancel_delivery(conn: asyncpg.Connection | asyncpg.Pool, delivery_id: uuid.UUID) -> None:
    await conn.execute(f"update {SCHEMA}.deliveries set status = 'cancelled' where id = $1 and status = 'pending'",
                       delivery_id)


async def create_subscription(conn: asyncpg.Connection | asyncpg.Pool, sub: NewSubscription) -> uuid.UUID:
    sub_id = uuid.uuid4()
    await conn.execute(
        f"insert into {SCHEMA}.subscriptions (id, department, role, event_types, channel, target, secret,"
        " jurisdictions, min_level, categories, programs) values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
        sub_id, sub.department, sub.role, sub.event_types, sub.channel, sub.target, sub.secret,
        sub.jurisdictions, sub.min_level, sub.categories, sub.programs,
    )
    return sub_id


async def get_subscription(conn: asyncpg.Connection | asyncpg.Pool, sub_id: uuid.UUID) -> asyncpg.Record | None:
    return await conn.fetchrow(f"select * from {SCHEMA}.subscriptions where id = $1", sub_id)


async def unsubscribe(conn: asyncpg.Connection, subscription_id: uuid.UUID) -> int:
    """Deactivate the subscription and cancel what was still waiting for it; return how many were cancelled."""
    await conn.execute(f"update {SCHEMA}.subscriptions set active = false, deactivated_at = now() where id = $1",
                       subscription_id)
    cancelled = await conn.fetch(
        f"update {SCHEMA}.deliveries set status = 'cancelled' where subscription_id = $1 and status = 'pending'"
        " returning id", subscription_id)
    return len(cancelled)


async def deliveries(pool: asyncpg.Pool, status: str | None = None, subscription_id: uuid.UUID | None = None,
                     department: str | None = None) -> list[dict]:
    rows = await pool.fetch(
        f"select {_DELIVERY_COLUMNS} from {SCHEMA}.deliveries d join {SCHEMA}.subscriptions s"
        " on s.id = d.subscription_id where ($1::text is null or d.status = $1)"
        " and ($2::uuid is null or d.subscription_id = $2) and ($3::text is null or s.department = $3)"
        " order by d.seq desc limit 500", status, subscription_id, department)
    return [dict(r) for r in rows]


async def attempts_of(pool: asyncpg.Pool, delivery_id: uuid.UUID) -> list[dict]:
    rows = await pool.fetch(
        f"select attempted_at, status_code, latency_ms, outcome, error from {SCHEMA}.delivery_attempts"
        " where delivery_id = $1 order by id", delivery_id)
    return [dict(r) for r in rows]


async def replay_parked(conn: asyncpg.Connection | asyncpg.Pool, *, delivery_id: uuid.UUID | None = None,
                        subscription_id: uuid.UUID | None = None) -> list[uuid.UUID]:
    """Put parked deliveries of an active subscription back in the queue, with a fresh attempt budget.

    The delivery keeps its id, so the receiver sees the same ``webhook-id`` and can drop a duplicate.
    """
    rows = await conn.fetch(
        f"update {SCHEMA}.deliveries d set status = 'pending', attempts = 0, next_attempt_at = now()"
        f" from {SCHEMA}.subscriptions s where s.id = d.subscription_id and s.active and d.status = 'parked'"
        " and ($1::uuid is null or d.id = $1) and ($2::uuid is null or d.subscription_id = $2) returning d.id",
        delivery_id, subscription_id)
    if rows:
        await wake_worker(conn)
    return [r["id"] for r in rows]


async def get_delivery(pool: asyncpg.Pool, delivery_id: uuid.UUID) -> dict | None:
    row = await pool.fetchrow(
        f"select {_DELIVERY_COLUMNS} from {SCHEMA}.deliveries d join {SCHEMA}.subscriptions s"
        " on s.id = d.subscription_id where d.id = $1", delivery_id)
    return dict(row) if row else None
