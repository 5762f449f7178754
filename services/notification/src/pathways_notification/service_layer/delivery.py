"""The delivery worker: sends pending deliveries, one lane per subscription.

Deliveries are written by the consumer in its transaction (so no event is
lost); sending happens here, outside any Kafka partition or transaction, so
one slow or dead receiver never delays another. Within a subscription,
deliveries go out in creation order (per subject), and a failing one holds
back the later ones of the same subscription until it succeeds or is parked.
"""

from __future__ import annotations

import asyncio
import json
import logging
from datetime import UTC, datetime

import asyncpg
import httpx
from opentelemetry import context as otel_context
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

from pathways_contracts import CloudEvent
from pathways_contracts.events import NotificationDelivered, NotificationFailed
from pathways_notification.adapters import webhook
from pathways_notification.adapters.repository import SCHEMA
from pathways_notification.domain import backoff
from pathways_runtime import outbox

log = logging.getLogger(__name__)
SOURCE = "/pathways/notification"


class DeliveryWorker:
    def __init__(self, pool: asyncpg.Pool, client: httpx.AsyncClient, poll_seconds: float = 1.0) -> None:
        self._pool = pool
        self._client = client
        self._poll = poll_seconds
        self._wake = asyncio.Event()
        self._lanes: dict[str, asyncio.Task] = {}

    async def run(self) -> None:
        async with self._pool.acquire() as listener:
            await listener.add_listener("pathways_deliveries", lambda *_: self._wake.set())
            while True:
                await self._start_lanes()
                try:
                    await asyncio.wait_for(self._wake.wait(), self._poll)
                except TimeoutError:
                    pass
                self._wake.clear()

    async def _start_lanes(self) -> None:
        due = await self._pool.fetch(
            f"select distinct subscription_id from {SCHEMA}.deliveries"
            " where status = 'pending' and next_attempt_at <= now()")
        for row in due:
            sub = str(row["subscription_id"])
            if sub not in self._lanes or self._lanes[sub].done():
                self._lanes[sub] = asyncio.create_task(self._drain_lane(row["subscription_id"]))

    async def _drain_lane(self, subscription_id) -> None:
        while await self._send_next(subscription_id):
            pass

    async def _send_next(self, subscription_id) -> bool:
        """Send the oldest pending delivery of the lane if it is due; True to continue the lane."""
        async with self._pool.acquire() as conn:
            row = await conn.fetchrow(
                f"select d.*, s.target, s.secret, s.department, s.channel from {SCHEMA}.deliveries d"
                f" join {SCHEMA}.subscriptions s on s.id = d.subscription_id"
                " where d.subscription_id = $1 and d.status = 'pending' order by d.created_at limit 1",
                subscription_id)
            if row is None or row["next_attempt_at"] > datetime.now(UTC):
                return False
            attempt = await self._attempt(row)
            async with conn.transaction():
                await self._record(conn, row, attempt)
            return attempt.ok

    async def _attempt(self, row: asyncpg.Record) -> webhook.Attempt:
        parent = TraceContextTextMapPropagator().extract({"traceparent": row["traceparent"] or ""})
        token = otel_context.attach(parent)
        try:
            payload = {"id": row["event_id"], "type": row["event_type"], "subject": row["subject"],
                       "data": json.loads(row["body"])}
            return await webhook.post(self._client, row["target"], row["secret"], str(row["id"]), payload)
        finally:
            otel_context.detach(token)

    async def _record(self, conn: asyncpg.Connection, row: asyncpg.Record, attempt: webhook.Attempt) -> None:
        attempts = row["attempts"] + 1
        await conn.execute(
            f"insert into {SCHEMA}.delivery_attempts (delivery_id, status_code, latency_ms, error)"
            " values ($1, $2, $3, $4)", row["id"], attempt.status_code, attempt.latency_ms, attempt.error)
        now = datetime.now(UTC)
        common = dict(delivery_id=row["id"], subscription_id=row["subscription_id"], department=row["department"],
                      channel=row["channel"], source_event_id=row["event_id"], source_event_type=row["event_type"],
                      attempts=attempts)
        if attempt.ok:
            await conn.execute(f"update {SCHEMA}.deliveries set status = 'delivered', attempts = $2,"
                               " delivered_at = now() where id = $1", row["id"], attempts)
            await outbox.add_event(conn, SCHEMA, CloudEvent(NotificationDelivered(**common, delivered_at=now), SOURCE))
        elif backoff.is_last(attempts):
            await conn.execute(f"update {SCHEMA}.deliveries set status = 'parked', attempts = $2, last_error = $3"
                               " where id = $1", row["id"], attempts, _error(attempt))
            await outbox.add_event(conn, SCHEMA, CloudEvent(
                NotificationFailed(**common, last_error=_error(attempt), failed_at=now), SOURCE))
        else:
            await conn.execute(f"update {SCHEMA}.deliveries set attempts = $2, last_error = $3,"
                               " next_attempt_at = $4 where id = $1", row["id"], attempts, _error(attempt),
                               backoff.next_attempt_at(attempts, now))


def _error(attempt: webhook.Attempt) -> str:
    return attempt.error or f"HTTP {attempt.status_code}"
