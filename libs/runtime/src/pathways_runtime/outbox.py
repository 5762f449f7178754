"""Transactional outbox and its relay.

``add_rows`` is called inside the service's own database transaction (by the unit of work), so
the domain rows and the event commit together or not at all. The outbox holds only what waits: the
relay publishes its rows in id order, a batch at a time, and deletes them once the broker has
acknowledged them (a delete writes no new row version, where marking them published did, and the
table no longer grows with every event ever emitted). It is woken by LISTEN/NOTIFY as soon as a
transaction commits, and polls as a fallback. When the broker is down the rows wait; nothing
recorded is lost. The fail point ``relay.after_publish`` (a test instrument, see failpoints.py)
crashes the process after the broker acknowledged a batch and before its rows are deleted.
"""

from __future__ import annotations

import asyncio
import json
import logging
from dataclasses import dataclass

import asyncpg
from faststream.kafka import KafkaBroker
from opentelemetry import trace
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

from pathways_contracts import CloudEvent, Event
from pathways_runtime import db, metrics
from pathways_runtime.failpoints import Crash

log = logging.getLogger(__name__)
_propagator = TraceContextTextMapPropagator()


def _channel(schema: str) -> str:
    return f"pathways_outbox_{schema}"


def current_traceparent() -> str | None:
    carrier: dict[str, str] = {}
    _propagator.inject(carrier)
    return carrier.get("traceparent")


@dataclass(frozen=True)
class Row:
    """An event as the outbox stores it, taken when it was emitted (with the trace it was emitted in)."""

    event_id: str
    topic: str
    key: bytes
    value: bytes
    headers: str
    traceparent: str | None


def row(event: CloudEvent) -> Row:
    """The outbox row of ``event``, emitted now: the current span is annotated and its trace recorded."""
    trace.get_current_span().set_attributes({"pathways.subject": event.subject, "pathways.event_type": event.type})
    return Row(event.id, event.type, event.key, event.value(), json.dumps(event.headers()), current_traceparent())


async def add_rows(conn: asyncpg.Connection, schema: str, rows: list[Row]) -> None:
    """Record ``rows`` for publication, in their order, in the caller's transaction: one statement."""
    if not rows:
        return
    # The rows and the wake-up of the relay (delivered at commit) in one round trip; ``ordinality`` keeps
    # the ids (the relay's publishing order) in the order the events were emitted.
    await conn.execute(
        f"with wake as (select pg_notify($7, '')) insert into {schema}.outbox"
        " (event_id, topic, key, value, headers, traceparent)"
        " select e.event_id, e.topic, e.key, e.value, e.headers, e.traceparent"
        " from unnest($1::text[], $2::text[], $3::bytea[], $4::bytea[], $5::jsonb[], $6::text[])"
        " with ordinality as e(event_id, topic, key, value, headers, traceparent, n), wake order by e.n",
        [r.event_id for r in rows], [r.topic for r in rows], [r.key for r in rows], [r.value for r in rows],
        [r.headers for r in rows], [r.traceparent for r in rows], _channel(schema),
    )


class OutboxRelay:
    """Publishes a service's outbox. One relay per service holds an advisory lock,
    so rows with the same key are never published out of order by two replicas."""

    def __init__(self, pool: asyncpg.Pool, schema: str, broker: KafkaBroker, poll_seconds: float = 2.0,
                 batch: int = 500, fail_point: Crash | None = None) -> None:
        self._pool = pool
        self._batch = batch
        self._schema = schema
        self._broker = broker
        self._poll = poll_seconds
        self._wake = asyncio.Event()
        self._tracer = trace.get_tracer("pathways.outbox")
        self._fail_point = fail_point  # relay.after_publish, when armed

    async def run(self) -> None:
        async with db.listening(self._pool, _channel(self._schema)) as (conn, self._wake):
            conn.holds_session_state()  # the lock below (LISTEN marked it already; said where it is taken)
            await conn.execute("select pg_advisory_lock(hashtext($1))", f"outbox:{self._schema}")
            try:
                await self._relay_until_cancelled()
            finally:
                await conn.execute("select pg_advisory_unlock(hashtext($1))", f"outbox:{self._schema}")

    async def _relay_until_cancelled(self) -> None:
        backoff = 0.2
        while True:
            try:
                # A full batch may have more behind it; a short one emptied the outbox (a row committed
                # meanwhile has set the wake-up, so the wait below returns at once: nothing waits for the poll).
                while await self.publish_batch() == self._batch:
                    pass
                backoff = 0.2
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # broker down or slow: keep the rows, try again later
                metrics.publish_failed(self._schema)
                log.warning("outbox publish failed; will retry", extra={"error": repr(exc)})
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 5.0)
                continue
            await db.wait_woken(self._wake, self._poll)

    async def publish_batch(self, limit: int | None = None) -> int:
        """Publish up to ``limit`` rows in order; return how many were published.

        The rows are handed to the producer one after another without waiting for each
        acknowledgement (the producer batches them and keeps their order per partition), then all
        acknowledgements are awaited and the rows are deleted in one statement. If any send fails
        nothing is deleted: the batch is sent again (consumers' inboxes drop the duplicates).
        """
        async with self._pool.acquire() as conn, conn.transaction():
            rows = await conn.fetch(
                f"select id, event_id, topic, key, value, headers, traceparent from {self._schema}.outbox"
                " order by id limit $1 for update",
                limit or self._batch,
            )
            if not rows:
                return 0
            metrics.batch("outbox_relay", len(rows))
            acknowledgements = [await self._send(row) for row in rows]
            await asyncio.gather(*acknowledgements)
            if self._fail_point is not None:  # acknowledged, not deleted: a crash publishes the batch again
                self._fail_point(len(rows))
            for row in rows:
                metrics.published(row["topic"])
            await conn.execute(
                f"delete from {self._schema}.outbox where id = any($1::bigint[])",
                [r["id"] for r in rows],
            )
            return len(rows)

    async def _send(self, row: asyncpg.Record) -> asyncio.Future:
        # A producer span continuing the trace of the transaction that wrote the row; the record carries it
        # (``traceparent``), and each consumer's span of the event is its child.
        parent = _propagator.extract({"traceparent": row["traceparent"]} if row["traceparent"] else {})
        span = self._tracer.start_span(f"{row['topic']} publish", context=parent, kind=trace.SpanKind.PRODUCER,
                                       attributes={"messaging.system": "kafka",
                                                   "messaging.destination.name": row["topic"],
                                                   "pathways.event_id": row["event_id"]})
        headers = json.loads(row["headers"])
        _propagator.inject(headers, context=trace.set_span_in_context(span))
        try:
            return await self._broker.publish(row["value"], row["topic"], key=row["key"], headers=headers,
                                              no_confirm=True)
        finally:
            span.end()
