"""The delivery worker: sends pending deliveries, one lane per subscription.

Deliveries are written by the consumer in its transaction (so no event is
lost); sending happens here, outside any Kafka partition or transaction, so
one slow or dead receiver never delays another. Within a subscription,
deliveries go out in creation order, and a failing one holds back the later
ones of the same subscription until it succeeds or is parked.

Redaction happens here, at send time, with the subscription's role: the
stored body is the event as it was on the bus, and what leaves the service
is only what the role may see.
"""

from __future__ import annotations

import asyncio
import json
import logging
from datetime import UTC, datetime
from functools import lru_cache

import asyncpg
import httpx
from opentelemetry import context as otel_context
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

from pathways_contracts import CloudEvent
from pathways_contracts.catalog import load_catalog
from pathways_contracts.events import NotificationDelivered, NotificationFailed
from pathways_notification.adapters import email, webhook
from pathways_notification.adapters import repository as repo
from pathways_notification.adapters.repository import SCHEMA
from pathways_notification.domain import backoff
from pathways_notification.domain.outcome import Outcome, decide
from pathways_notification.domain.redaction import redact
from pathways_notification.settings import DeliverySettings, delivery_settings
from pathways_runtime import db, metrics, outbox

log = logging.getLogger(__name__)
SOURCE = "/pathways/notification"


@lru_cache(maxsize=1)
def _dimensions() -> dict[str, str]:
    return {i.code: str(i.dimension) for i in load_catalog().indicators}


def dimension_of(code: str) -> str | None:
    """The catalog dimension of an indicator code; None (withheld by redaction) when unknown."""
    return _dimensions().get(code)


def redacted_payload(row: asyncpg.Record) -> dict:
    data = redact(row["role"], row["event_type"], json.loads(row["body"]), dimension_of)
    return {"id": row["event_id"], "type": row["event_type"], "subject": row["subject"], "data": data}


_NEXT_PENDING = (
    f"select d.*, s.target, s.secret, s.department, s.channel, s.role,"
    f" exists (select 1 from {SCHEMA}.restricted_cases r where r.restricted"
    "          and r.case_id::text = d.body ->> 'case_id') as case_restricted"
    f" from {SCHEMA}.deliveries d join {SCHEMA}.subscriptions s on s.id = d.subscription_id"
    " where d.subscription_id = $1 and d.status = 'pending' and s.active order by d.seq limit 1")


class DeliveryWorker:
    def __init__(self, pool: asyncpg.Pool, client: httpx.AsyncClient,
                 settings: DeliverySettings = delivery_settings) -> None:
        self._pool = pool
        self._client = client
        self._settings = settings
        self._lanes: dict[str, asyncio.Task] = {}

    async def run(self) -> None:
        async with db.listening(self._pool, repo.WAKE_CHANNEL) as (_, wake):
            while True:
                await self._start_lanes()
                try:
                    await asyncio.wait_for(wake.wait(), self._settings.poll_seconds)
                except TimeoutError:
                    pass
                wake.clear()

    async def _start_lanes(self) -> None:
        due = await self._pool.fetch(
            f"select distinct subscription_id from {SCHEMA}.deliveries"
            " where status = 'pending' and next_attempt_at <= now()")
        for row in due:
            sub = str(row["subscription_id"])
            if sub not in self._lanes or self._lanes[sub].done():
                self._lanes[sub] = asyncio.create_task(self._drain_lane(row["subscription_id"]))

    async def _drain_lane(self, subscription_id) -> None:
        try:
            while await self._send_next(subscription_id):
                pass
        except Exception:  # a lane must never die silently: the next poll starts it again
            log.exception("delivery lane failed", extra={"subscription_id": str(subscription_id)})

    async def _send_next(self, subscription_id) -> bool:
        """Send the oldest pending delivery of the lane if it is due; True to continue the lane."""
        async with self._pool.acquire() as conn:
            row = await conn.fetchrow(_NEXT_PENDING, subscription_id)
            if row is None or row["next_attempt_at"] > datetime.now(UTC):
                return False
            if row["case_restricted"]:
                # Recorded just before the restriction committed, so its cancel did not see it.
                await repo.cancel_delivery(conn, row["id"])
                return True
            attempt = await self._attempt(row)
            async with conn.transaction():
                outcome = await self._record(conn, row, attempt)
            return outcome is Outcome.DELIVERED

    async def _attempt(self, row: asyncpg.Record) -> webhook.Attempt:
        parent = TraceContextTextMapPropagator().extract({"traceparent": row["traceparent"] or ""})
        token = otel_context.attach(parent)
        try:
            payload = redacted_payload(row)
            if row["channel"] == "email":
                # Read per attempt, as the adapter documents: the SMTP server comes from the environment.
                return await email.send(email.EmailSettings(), row["target"], str(row["id"]), row["event_type"],
                                        payload)
            return await webhook.post(self._client, row["target"], row["secret"], str(row["id"]), payload,
                                      timeout=self._settings.timeout_seconds)
        finally:
            otel_context.detach(token)

    async def _record(self, conn: asyncpg.Connection, row: asyncpg.Record, attempt: webhook.Attempt) -> Outcome:
        attempts = row["attempts"] + 1
        outcome = decide(attempt.status_code, attempts, self._settings.max_attempts)
        if row["channel"] == "email" and outcome is Outcome.UNSUBSCRIBED:
            outcome = decide(None, attempts, self._settings.max_attempts)  # 410 is not an SMTP answer
        await conn.execute(
            f"insert into {SCHEMA}.delivery_attempts (delivery_id, status_code, latency_ms, error, outcome)"
            " values ($1, $2, $3, $4, $5)", row["id"], attempt.status_code, attempt.latency_ms, attempt.error,
            str(outcome))
        log.info("delivery attempt", extra={
            "delivery_id": str(row["id"]), "subscription_id": str(row["subscription_id"]), "attempt": attempts,
            "status_code": attempt.status_code, "latency_ms": attempt.latency_ms, "outcome": str(outcome)})
        metrics.delivery(row["channel"], str(outcome), attempt.latency_ms / 1000)
        await _APPLY[outcome](self, conn, row, attempt, attempts)
        return outcome

    async def _delivered(self, conn, row, attempt, attempts) -> None:
        await conn.execute(f"update {SCHEMA}.deliveries set status = 'delivered', attempts = $2,"
                           " delivered_at = now() where id = $1", row["id"], attempts)
        await outbox.add_event(conn, SCHEMA, CloudEvent(
            NotificationDelivered(**_facts(row, attempts), delivered_at=datetime.now(UTC)), SOURCE))

    async def _parked(self, conn, row, attempt, attempts) -> None:
        await conn.execute(f"update {SCHEMA}.deliveries set status = 'parked', attempts = $2, last_error = $3"
                           " where id = $1", row["id"], attempts, _error(attempt))
        await outbox.add_event(conn, SCHEMA, CloudEvent(
            NotificationFailed(**_facts(row, attempts), last_error=_error(attempt), failed_at=datetime.now(UTC)),
            SOURCE))

    async def _retry(self, conn, row, attempt, attempts) -> None:
        when = backoff.next_attempt_at(attempts, datetime.now(UTC), self._settings.base_seconds,
                                       self._settings.cap_seconds)
        await conn.execute(f"update {SCHEMA}.deliveries set attempts = $2, last_error = $3,"
                           " next_attempt_at = $4 where id = $1", row["id"], attempts, _error(attempt), when)

    async def _unsubscribed(self, conn, row, attempt, attempts) -> None:
        await conn.execute(f"update {SCHEMA}.deliveries set attempts = $2, last_error = $3 where id = $1",
                           row["id"], attempts, _error(attempt))
        cancelled = await repo.unsubscribe(conn, row["subscription_id"])
        log.warning("receiver answered 410: subscription deactivated",
                    extra={"subscription_id": str(row["subscription_id"]), "cancelled": cancelled})


_APPLY = {Outcome.DELIVERED: DeliveryWorker._delivered, Outcome.PARKED: DeliveryWorker._parked,
          Outcome.RETRY: DeliveryWorker._retry, Outcome.UNSUBSCRIBED: DeliveryWorker._unsubscribed}


def _facts(row: asyncpg.Record, attempts: int) -> dict:
    return dict(delivery_id=row["id"], subscription_id=row["subscription_id"], department=row["department"],
                channel=row["channel"], source_event_id=row["event_id"], source_event_type=row["event_type"],
                attempts=attempts)


def _error(attempt: webhook.Attempt) -> str:
    return attempt.error or f"HTTP {attempt.status_code}"
