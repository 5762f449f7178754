"""All the notification service's SQL: subscriptions, deliveries and their attempts, restricted cases."""

from __future__ import annotations

import json
import uuid
from datetime import datetime
from typing import Any

import asyncpg

from pathways_notification.domain.filters import Filter
from pathways_notification.domain.model import NewDelivery, PendingDelivery, RecordedAttempt, Subscription

SCHEMA = "notification"
WAKE_CHANNEL = "pathways_deliveries"
SUBSCRIPTIONS_CHANNEL = "pathways_subscriptions"  # a subscription changed: in-memory tables reload
FALLBACK_SOURCE = "/pathways/notification"  # deliveries recorded before sources were kept
_DELIVERY_COLUMNS = (
    "d.id, d.subscription_id, s.department, s.channel, d.event_id, d.event_type, d.subject, d.status,"
    " d.attempts, d.last_error, d.created_at, d.delivered_at")


def _subscription(row: asyncpg.Record) -> Subscription:
    return Subscription(
        id=row["id"], department=row["department"], role=row["role"], event_types=tuple(row["event_types"]),
        channel=row["channel"], target=row["target"], secret=row["secret"], active=row["active"],
        filter=Filter(jurisdictions=frozenset(row["jurisdictions"]), min_level=row["min_level"],
                      categories=frozenset(row["categories"]), programs=frozenset(row["programs"])))


class SubscriptionRepository:
    def __init__(self, conn: asyncpg.Connection | asyncpg.Pool) -> None:
        self._conn = conn

    async def add(self, sub: Subscription) -> None:
        f = sub.filter
        await self._conn.execute(
            f"insert into {SCHEMA}.subscriptions (id, department, role, event_types, channel, target, secret,"
            " jurisdictions, min_level, categories, programs) values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
            sub.id, sub.department, sub.role, list(sub.event_types), sub.channel, sub.target, sub.secret,
            sorted(f.jurisdictions), f.min_level, sorted(str(c) for c in f.categories),
            sorted(str(p) for p in f.programs))
        await self._changed()

    async def _changed(self) -> None:
        await self._conn.execute(f"select pg_notify('{SUBSCRIPTIONS_CHANNEL}', '')")

    async def all_active(self) -> list[Subscription]:
        rows = await self._conn.fetch(f"select * from {SCHEMA}.subscriptions where active")
        return [_subscription(r) for r in rows]

    async def get(self, subscription_id: uuid.UUID) -> Subscription | None:
        row = await self._conn.fetchrow(f"select * from {SCHEMA}.subscriptions where id = $1", subscription_id)
        return _subscription(row) if row else None

    async def view(self, subscription_id: uuid.UUID) -> dict[str, Any] | None:
        """What the API shows of a subscription: every column but the secret."""
        row = await self._conn.fetchrow(f"select * from {SCHEMA}.subscriptions where id = $1", subscription_id)
        return {k: v for k, v in dict(row).items() if k != "secret"} if row else None

    async def deactivate(self, subscription_id: uuid.UUID) -> None:
        await self._conn.execute(
            f"update {SCHEMA}.subscriptions set active = false, deactivated_at = now() where id = $1",
            subscription_id)
        await self._changed()


class DeliveryRepository:
    def __init__(self, conn: asyncpg.Connection | asyncpg.Pool) -> None:
        self._conn = conn

    async def add(self, deliveries: list[NewDelivery]) -> None:
        """Record deliveries (one statement for all); an event already recorded for a subscription is skipped,
        and so is a subscription that is no longer active (the caller's list may be a moment stale)."""
        if not deliveries:
            return
        # FOR SHARE: a concurrent 410 unsubscribe either waits for this transaction (and then cancels the
        # deliveries it adds) or has committed first (and the row no longer qualifies): no orphan pending.
        await self._conn.execute(
            f"with active as (select id from {SCHEMA}.subscriptions where id = any($2::uuid[]) and active"
            " for share)"
            f" insert into {SCHEMA}.deliveries (id, subscription_id, event_id, event_type, subject, body,"
            " traceparent, source, event_time)"
            " select * from unnest($1::uuid[], $2::uuid[], $3::text[], $4::text[], $5::text[], $6::jsonb[],"
            " $7::text[], $8::text[], $9::timestamptz[]) as u(id, subscription_id, event_id, event_type, subject,"
            " body, traceparent, source, event_time) where u.subscription_id in (select id from active)"
            " on conflict (subscription_id, event_id) do nothing",
            [d.id for d in deliveries], [d.subscription_id for d in deliveries], [d.event_id for d in deliveries],
            [d.event_type for d in deliveries], [d.subject for d in deliveries],
            [json.dumps(d.body, default=str) for d in deliveries], [d.traceparent for d in deliveries],
            [d.source for d in deliveries], [d.time for d in deliveries])
        await self.wake_worker()

    async def wake_worker(self) -> None:
        """NOTIFY the delivery worker (delivered when the transaction commits)."""
        await self._conn.execute(f"select pg_notify('{WAKE_CHANNEL}', '')")

    async def due_lanes(self) -> list[uuid.UUID]:
        """Subscriptions with a pending delivery whose time has come."""
        rows = await self._conn.fetch(
            f"select distinct subscription_id from {SCHEMA}.deliveries"
            " where status = 'pending' and next_attempt_at <= now()")
        return [r["subscription_id"] for r in rows]

    async def due(self, subscription_id: uuid.UUID, now: datetime, limit: int) -> list[PendingDelivery]:
        """Up to ``limit`` deliveries of an active subscription to send at ``now``, oldest first: the oldest
        pending delivery of each subject, when it is due. A later delivery of a subject waits for the one
        before it (however long its retries take); other subjects do not."""
        rows = await self._conn.fetch(
            f"select d.*, s.target, s.secret, s.department, s.channel, s.role,"
            f" exists (select 1 from {SCHEMA}.restricted_cases r where r.restricted"
            "          and r.case_id::text = d.body ->> 'case_id') as case_restricted"
            f" from {SCHEMA}.deliveries d join {SCHEMA}.subscriptions s on s.id = d.subscription_id"
            " where d.subscription_id = $1 and d.status = 'pending' and s.active and d.next_attempt_at <= $2"
            f" and not exists (select 1 from {SCHEMA}.deliveries e where e.subscription_id = d.subscription_id"
            "                  and e.subject = d.subject and e.status = 'pending' and e.seq < d.seq)"
            " order by d.seq limit $3",
            subscription_id, now, limit)
        return [PendingDelivery(
            id=row["id"], subscription_id=row["subscription_id"], event_id=row["event_id"],
            event_type=row["event_type"], subject=row["subject"], source=row["source"] or FALLBACK_SOURCE,
            time=row["event_time"] or row["created_at"], body=json.loads(row["body"]),
            traceparent=row["traceparent"], attempts=row["attempts"], next_attempt_at=row["next_attempt_at"],
            department=row["department"], role=row["role"], channel=row["channel"], target=row["target"],
            secret=row["secret"], case_restricted=row["case_restricted"]) for row in rows]

    async def record_outcomes(self, recorded: list[RecordedAttempt]) -> None:
        """A batch's attempts and what they mean, in one statement: each attempt is logged, and its delivery
        counts it; a delivered one is marked delivered, a parked one parked, a retried one gets its next
        time, and a failed one keeps the reason as its last error."""
        if not recorded:
            return
        await self._conn.execute(
            "with u as (select * from unnest($1::uuid[], $2::int[], $3::int[], $4::text[], $5::text[], $6::int[],"
            " $7::text[], $8::timestamptz[]) as u(id, status_code, latency_ms, error, outcome, attempts, reason,"
            " next_at)),"
            f" logged as (insert into {SCHEMA}.delivery_attempts (delivery_id, status_code, latency_ms, error, outcome)"
            " select id, status_code, latency_ms, error, outcome from u)"
            f" update {SCHEMA}.deliveries d set attempts = u.attempts,"
            " status = case u.outcome when 'delivered' then 'delivered' when 'parked' then 'parked' else d.status end,"
            " delivered_at = case when u.outcome = 'delivered' then now() else d.delivered_at end,"
            " last_error = case when u.outcome = 'delivered' then d.last_error else u.reason end,"
            " next_attempt_at = coalesce(u.next_at, d.next_attempt_at)"
            " from u where d.id = u.id",
            [r.delivery_id for r in recorded], [r.attempt.status_code for r in recorded],
            [r.attempt.latency_ms for r in recorded], [r.attempt.error for r in recorded],
            [r.outcome for r in recorded], [r.attempts for r in recorded],
            [None if r.attempt.ok else r.attempt.reason() for r in recorded],
            [r.next_attempt_at for r in recorded])

    async def cancel(self, delivery_id: uuid.UUID) -> None:
        await self._conn.execute(
            f"update {SCHEMA}.deliveries set status = 'cancelled' where id = $1 and status = 'pending'", delivery_id)

    async def cancel_pending_of(self, subscription_id: uuid.UUID) -> int:
        cancelled = await self._conn.fetch(
            f"update {SCHEMA}.deliveries set status = 'cancelled' where subscription_id = $1"
            " and status = 'pending' returning id", subscription_id)
        return len(cancelled)

    async def cancel_about_case(self, case_id: uuid.UUID) -> int:
        """Cancel what waits about the case: pending ones, and parked ones so that a replay cannot send them."""
        cancelled = await self._conn.fetch(
            f"update {SCHEMA}.deliveries set status = 'cancelled' where body ->> 'case_id' = $1"
            " and status in ('pending', 'parked') returning id", str(case_id))
        return len(cancelled)

    async def replay_parked(self, *, delivery_id: uuid.UUID | None = None,
                            subscription_id: uuid.UUID | None = None) -> list[uuid.UUID]:
        """Put parked deliveries of an active subscription back in the queue, with a fresh attempt budget."""
        rows = await self._conn.fetch(
            f"update {SCHEMA}.deliveries d set status = 'pending', attempts = 0, next_attempt_at = now()"
            f" from {SCHEMA}.subscriptions s where s.id = d.subscription_id and s.active and d.status = 'parked'"
            " and ($1::uuid is null or d.id = $1) and ($2::uuid is null or d.subscription_id = $2)"
            " returning d.id", delivery_id, subscription_id)
        if rows:
            await self.wake_worker()
        return sorted(r["id"] for r in rows)

    async def view(self, delivery_id: uuid.UUID) -> dict[str, Any] | None:
        row = await self._conn.fetchrow(
            f"select {_DELIVERY_COLUMNS} from {SCHEMA}.deliveries d join {SCHEMA}.subscriptions s"
            " on s.id = d.subscription_id where d.id = $1", delivery_id)
        return dict(row) if row else None

    async def page(self, *, status: str | None, subscription_id: uuid.UUID | None, department: str | None,
                   before: int | None, limit: int) -> tuple[list[dict[str, Any]], int | None]:
        """Deliveries newest first, ``limit`` of them older than the cursor ``before``; and the next cursor."""
        rows = await self._conn.fetch(
            f"select {_DELIVERY_COLUMNS}, d.seq from {SCHEMA}.deliveries d join {SCHEMA}.subscriptions s"
            " on s.id = d.subscription_id where ($1::text is null or d.status = $1)"
            " and ($2::uuid is null or d.subscription_id = $2) and ($3::text is null or s.department = $3)"
            " and ($4::bigint is null or d.seq < $4) order by d.seq desc limit $5",
            status, subscription_id, department, before, limit + 1)
        more = len(rows) > limit
        rows = rows[:limit]
        items = [{k: v for k, v in dict(r).items() if k != "seq"} for r in rows]
        return items, (rows[-1]["seq"] if more else None)

    async def attempts_of(self, delivery_id: uuid.UUID) -> list[dict[str, Any]]:
        rows = await self._conn.fetch(
            f"select attempted_at, status_code, latency_ms, outcome, error from {SCHEMA}.delivery_attempts"
            " where delivery_id = $1 order by id", delivery_id)
        return [dict(r) for r in rows]


class RestrictionRepository:
    """Cases on which someone must not be contacted (from ``case.contact_restricted``)."""

    def __init__(self, conn: asyncpg.Connection | asyncpg.Pool) -> None:
        self._conn = conn

    async def record(self, case_id: uuid.UUID, restricted: bool, changed_at: datetime) -> bool:
        """Store the case's flag unless a later change is already stored; True when this one was applied."""
        applied = await self._conn.fetchval(
            f"insert into {SCHEMA}.restricted_cases (case_id, restricted, changed_at) values ($1, $2, $3)"
            " on conflict (case_id) do update set restricted = excluded.restricted,"
            " changed_at = excluded.changed_at, recorded_at = now()"
            " where restricted_cases.changed_at < excluded.changed_at returning true",
            case_id, restricted, changed_at)
        return bool(applied)

    async def is_restricted(self, case_id: str) -> bool:
        try:
            case = uuid.UUID(case_id)
        except ValueError:
            return False  # not a case id this service could have recorded
        return bool(await self._conn.fetchval(
            f"select restricted from {SCHEMA}.restricted_cases where case_id = $1", case))
