"""The consumer pipeline every subscriber runs through, written once.

Records are consumed in batches (one ``getmany`` per poll; batch size and wait are settings). For
each batch, in the order the records were read (per partition, the log's order):

1. Check each record at the edge: a header value that is not UTF-8, a value larger than its type
   allows (``PATHWAYS_MAX_EVENT_BYTES``), or a record that is not a valid event (missing headers,
   bad JSON, unknown type, schema violation) is parked on ``<topic>.dlq`` with the reason.
2. Open ONE database transaction for the batch and claim every event in the inbox
   ``(consumer_group, event_id)`` with one statement; an event already claimed was handled
   before (idempotent consumer) and is skipped.
3. Run each claimed event's handler under its own SAVEPOINT, with a unit of work on the batch's
   connection (its repositories; the handler's first ``async with uow`` rides on the event's
   savepoint; ``emit`` hands the events to the batch, which writes them all to the outbox in one
   statement before it commits). One round trip per event: the previous event's savepoint is
   released and the next one set in one statement (the commit releases the last). A handler error
   rolls back to that event's savepoint only and is retried in place with exponential backoff;
   after the last attempt (or at once for ``Unprocessable``) the event is parked with the error,
   attempt count and source topic/partition/offset, its inbox claim is released (a replay from
   the DLQ is handled), and the batch goes on. Later events wait while an earlier one is retried,
   so the order per key (per partition) holds; a parked event does not block the ones after it.
   (Running a batch first without savepoints, redone with them when an event fails, was measured
   and rejected: a good event's handler would then run twice when a batch-mate fails.)
4. Commit the transaction, publish the batch's dead letters, then commit the Kafka offsets once
   (``AckPolicy.NACK_ON_ERROR``: the offsets move only after all of this succeeded). The fail point
   ``consumer.after_commit`` (a test instrument, see failpoints.py) crashes the process right after
   the transaction's commit.
5. A subscriber may say which events it wants (``wants``, e.g. the notification service: an event no
   subscription wants). The others are checked and acknowledged with the batch, but claim no inbox
   row and run no handler; a batch of none but those opens no transaction at all.
6. Infrastructure errors (database or broker unreachable) are not the events' fault: nothing is
   parked, the transaction rolls back, the offsets are rewound and the whole batch is read again
   (the inbox makes the redelivery harmless).
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, TypeVar, Union

import asyncpg
from aiokafka import ConsumerRecord
from faststream.kafka import KafkaBroker, KafkaMessage
from faststream.middlewares import AckPolicy
from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

from pathways_contracts import CloudEvent, Event, InvalidEvent, decode, dlq_topic
from pathways_runtime import metrics, outbox
from pathways_runtime.errors import Unprocessable
from pathways_runtime.failpoints import Crash
from pathways_runtime.uow import ItemSavepoints, Scope, UnitOfWork

log = logging.getLogger(__name__)
_propagator = TraceContextTextMapPropagator()

E = TypeVar("E", bound=Event)
TRANSIENT_ERRORS: tuple[type[BaseException], ...] = (
    ConnectionError,
    OSError,
    TimeoutError,
    asyncpg.PostgresConnectionError,
    asyncpg.InterfaceError,
    asyncpg.CannotConnectNowError,
)


# A handler gets the event decoded once at the edge (envelope and typed data) and a unit of work on
# the pipeline's transaction.
Handler = Callable[[CloudEvent, UnitOfWork], Awaitable[None]]
UnitOfWorkOn = Callable[[asyncpg.Connection, Scope], UnitOfWork]  # (the batch's connection, the event's scope)
Wants = Callable[[CloudEvent], Awaitable[bool]]
EVENT_SAVEPOINT = "pathways_event"


@dataclass(frozen=True)
class RetryPolicy:
    max_attempts: int = 3
    backoff_seconds: float = 0.5

    def delay(self, attempt: int) -> float:
        return self.backoff_seconds * 2 ** (attempt - 1)


@dataclass(frozen=True)
class BatchPolicy:
    """How records are read: up to ``max_records`` per poll, waiting at most ``timeout_ms`` for the first.

    ``fetch_max_wait_ms`` is how long the broker may hold a fetch that found nothing. Apache Kafka
    answers a waiting fetch as soon as data arrives, so its default (500) costs no latency there; the
    embedded Tansu broker does not, so each consume hop waits up to this long: see settings.
    """

    max_records: int = 500
    timeout_ms: int = 20
    fetch_max_wait_ms: int = 500


@dataclass(frozen=True)
class SizeLimits:
    """The largest value (bytes) an event may have: per event type, else the default."""

    default: int = 256 * 1024
    per_type: Mapping[str, int] = field(default_factory=dict)

    def limit(self, event_type: str) -> int:
        return self.per_type.get(event_type, self.default)


def dead_letter_headers(record: ConsumerRecord, reason: str, attempts: int, group: str) -> dict[str, str]:
    original = {k: v.decode("utf-8", "replace") for k, v in (record.headers or ())}
    return original | {
        "dlq_reason": reason[:2000],
        "dlq_attempts": str(attempts),
        "dlq_source_topic": record.topic,
        "dlq_source_partition": str(record.partition),
        "dlq_source_offset": str(record.offset),
        "dlq_consumer_group": group,
        "dlq_failed_at": datetime.now(UTC).isoformat(),
    }


@dataclass
class _Item:
    """One record of a batch: the record as read, and its event or why it cannot be one."""

    record: ConsumerRecord
    event: CloudEvent | None = None
    rejected: str | None = None


def _tolerant(record: ConsumerRecord) -> ConsumerRecord:
    """The record with header values FastStream can decode; a non-UTF-8 value is noted, not fatal.

    FastStream's parser decodes every header as UTF-8 and, on a value that is not, raises before any
    handler runs: the record was logged and skipped, neither handled nor parked. The pipeline parks
    a noted record with the names of the bad headers.
    """
    bad = []
    for name, value in record.headers or ():
        try:
            value.decode("utf-8")
        except UnicodeDecodeError:
            bad.append(name)
        except AttributeError:  # None: FastStream cannot decode it either
            bad.append(name)
    if not bad:
        return record
    clean = dataclasses.replace(record, headers=tuple(
        (k, (v or b"").decode("utf-8", "replace").encode()) for k, v in record.headers))
    clean.pathways_bad_headers = bad  # type: ignore[attr-defined]
    return clean


class _EventSpan:
    """The span of one event, continuing the producer's trace, current while its handler runs: ``pathways
    trace <id>`` follows an event through every service although records are read in batches. Started and
    made current by hand: ``start_as_current_span``'s generator-based context manager cost a quarter more."""

    __slots__ = ("_span", "_token")

    def __init__(self, tracer: trace.Tracer, item: _Item, group: str) -> None:
        event, record = item.event, item.record
        parent = _propagator.extract({k: v.decode("utf-8", "replace") for k, v in record.headers or ()
                                      if k == "traceparent"})
        self._span = tracer.start_span(
            f"{record.topic} process", context=parent, kind=trace.SpanKind.CONSUMER,
            attributes={"pathways.event_id": event.id, "pathways.event_type": event.type,
                        "pathways.subject": event.subject, "pathways.consumer_group": group,
                        "messaging.kafka.partition": record.partition, "messaging.kafka.offset": record.offset})

    def __enter__(self) -> trace.Span:
        self._token = otel_context.attach(trace.set_span_in_context(self._span))
        return self._span

    def __exit__(self, *exc_info: object) -> None:
        otel_context.detach(self._token)
        self._span.end()


class EventConsumers:
    """Registers typed handlers on a service's broker, each behind the pipeline above."""

    def __init__(self, broker: KafkaBroker, pool: Callable[[], asyncpg.Pool], *, schema: str,
                 unit_of_work_on: UnitOfWorkOn, group: str, retry: RetryPolicy,
                 session_timeout_ms: int = 10_000, batch: BatchPolicy | None = None,
                 sizes: SizeLimits | None = None, fail_point: Crash | None = None) -> None:
        self._broker = broker
        self._pool = pool
        self._schema = schema
        self._unit_of_work_on = unit_of_work_on
        self._group = group
        self._retry = retry
        self._session_timeout_ms = session_timeout_ms
        self._batch = batch or BatchPolicy()
        self._sizes = sizes or SizeLimits()
        self._fail_point = fail_point  # consumer.after_commit, when armed
        self._tracer = trace.get_tracer("pathways.consumer")

    def on(self, model: type[E], *, title: str, description: str, group: str | None = None,
           wants: Wants | None = None) -> Callable[[Handler], Handler]:
        """Decorator: ``@consumers.on(RedFlagRaised, title=..., description=...)``."""

        # One consumer group per (service, event type) unless told otherwise: each subscription is a
        # consumer of its own, so a rebalance of one never pauses another, and a handler added later
        # starts from the beginning of its topic.
        def register(handler: Handler) -> Handler:
            self.subscribe(model, handler, title=title, description=description,
                           group=group or f"{self._group}.{model.event_type}", wants=wants)
            return handler

        return register

    def on_each(self, models: list[type[Event]], *, title: str, description: str, group: str | None = None,
                wants: Wants | None = None) -> Callable[[Handler], Handler]:
        """Decorator: one handler for several event types, read by ONE consumer of all their topics.

        For services that treat every event alike (the notification service): one group join instead
        of one per topic.
        """

        def register(handler: Handler) -> Handler:
            self.subscribe(models, handler, title=title, description=description, group=group or self._group,
                           wants=wants)
            return handler

        return register

    def subscribe(self, models: type[Event] | list[type[Event]], handler: Handler, *, title: str,
                  description: str, group: str, wants: Wants | None = None) -> None:
        """``wants``: which events the handler is for; the rest are acknowledged without a transaction."""
        models = models if isinstance(models, list) else [models]
        self._broker.subscriber(
            *(m.event_type for m in models),
            group_id=group,
            auto_offset_reset="earliest",
            ack_policy=AckPolicy.NACK_ON_ERROR,
            batch=True,
            max_records=self._batch.max_records,
            batch_timeout_ms=self._batch.timeout_ms,
            fetch_max_wait_ms=self._batch.fetch_max_wait_ms,
            parser=self._parse,
            decoder=self._decode,
            session_timeout_ms=self._session_timeout_ms,
            heartbeat_interval_ms=self._session_timeout_ms // 3,
            title=f"{', '.join(m.event_type for m in models)} → {title}",
            description=description,
        )(self._entry(models, handler, group, wants))

    @staticmethod
    async def _parse(records: tuple[ConsumerRecord, ...], parse: Callable[..., Awaitable[Any]]) -> Any:
        return await parse(tuple(_tolerant(r) for r in records))

    async def _decode(self, message: KafkaMessage) -> list[Event]:
        """Decode each record once: the items the pipeline works on, and the typed bodies for FastStream."""
        items = [self._check(record) for record in message.raw_message]
        message.pathways_items = items
        return [item.event.data for item in items if item.event is not None]

    def _check(self, record: ConsumerRecord) -> _Item:
        bad_headers = getattr(record, "pathways_bad_headers", None)
        if bad_headers:
            return _Item(record, rejected=f"invalid event: header value(s) not UTF-8: {', '.join(bad_headers)}")
        size, limit = len(record.value or b""), self._sizes.limit(record.topic)
        if size > limit:
            return _Item(record, rejected=f"invalid event: value of {size} bytes exceeds the {limit} bytes allowed"
                                          f" for {record.topic}")
        try:  # the topic names the only event type it may carry
            return _Item(record, decode(record.headers, record.value, expected_type=record.topic))
        except InvalidEvent as exc:
            return _Item(record, rejected=f"invalid event: {exc.reason}")

    def _entry(self, models: list[type[Event]], handler: Handler, group: str,
               wants: Wants | None) -> Callable[..., Awaitable[None]]:
        context = self._broker.context

        async def entry(events: Any) -> None:
            # The message is read from FastStream's context here rather than injected as a parameter:
            # FastDepends resolves a context parameter by calling a plain function in a worker thread,
            # a thread hop per batch that cost about a tenth of a consuming service's CPU.
            await self._process_batch(handler, group, context.get_local("message").pathways_items, wants)

        # FastStream reads the annotations: the body is documented as (a batch of) the contract model(s);
        # the decoder hands it the already validated models, which pydantic passes through unchanged.
        body = models[0] if len(models) == 1 else Union[tuple(models)]  # noqa: UP007 (a runtime union)
        entry.__annotations__ = {"events": list[body], "return": None}
        topics = models[0].event_type.replace(".", "_") if len(models) == 1 else "events"
        entry.__name__ = f"{handler.__name__}_on_{topics}"
        entry.__doc__ = handler.__doc__
        return entry

    async def _process_batch(self, handler: Handler, group: str, items: list[_Item], wants: Wants | None = None,
                             ) -> None:
        parked: list[tuple[_Item, str, int]] = [(item, item.rejected, 0) for item in items if item.rejected]
        events = [item for item in items if item.event is not None]
        metrics.batch("consumer", len(items))
        if wants is not None:
            events = await self._wanted(events, wants, group)
        if events:
            try:
                await self._handle_batch(handler, group, events, parked)  # committed when it returns
                if self._fail_point is not None:  # committed, the offsets not yet: a crash re-reads the batch
                    self._fail_point(len(events))
            except TRANSIENT_ERRORS:
                for item in events:
                    metrics.consumed(item.event.type, group, "transient_error")
                # Not the messages' fault: park nothing, let the batch be read again after a pause.
                await asyncio.sleep(self._retry.backoff_seconds)
                raise
        for item, reason, attempts in parked:  # after the commit: a crash before here re-reads the batch
            await self._park(item.record, reason, attempts=attempts, group=group)

    @staticmethod
    async def _wanted(items: list[_Item], wants: Wants, group: str) -> list[_Item]:
        wanted = []
        for item in items:
            if await wants(item.event):
                wanted.append(item)
            else:
                metrics.consumed(item.event.type, group, "not_wanted")
        return wanted

    async def _handle_batch(self, handler: Handler, group: str, items: list[_Item],
                            parked: list[tuple[_Item, str, int]]) -> None:
        durations: list[tuple[str, float]] = []  # (type, handler seconds) of each handled event
        async with self._pool().acquire() as conn, conn.transaction():
            fresh, duplicates = await self._claim(conn, group, items)
            released: list[str] = []
            rows: list[outbox.Row] = []
            savepoints = ItemSavepoints(conn, EVENT_SAVEPOINT)
            for item in fresh:
                await savepoints.next()
                started = metrics.now()
                outcome = await self._handle_one(handler, group, item, conn)
                if isinstance(outcome, Scope):
                    durations.append((item.event.type, metrics.now() - started))
                    rows += outcome.rows
                else:
                    parked.append((item, *outcome))
                    released.append(item.event.id)
            if released:  # a parked event was not handled: a replay from the DLQ must find no claim
                await conn.execute(
                    f"delete from {self._schema}.inbox where consumer_group = $1 and event_id = any($2::text[])",
                    group, released)
            await outbox.add_rows(conn, self._schema, rows)
        self._report(group, durations, duplicates)

    async def _claim(self, conn: asyncpg.Connection, group: str, items: list[_Item]) -> tuple[list[_Item], list[_Item]]:
        """Claim the batch's events in the inbox (one statement): (the ones to handle, in order; duplicates)."""
        claimed = {r[0] for r in await conn.fetch(
            f"insert into {self._schema}.inbox (consumer_group, event_id, event_type)"
            " select $1, id, type from unnest($2::text[], $3::text[]) as e(id, type)"
            " on conflict do nothing returning event_id",
            group, [i.event.id for i in items], [i.event.type for i in items])}
        fresh, duplicates = [], []
        for item in items:  # handled before, or a second copy in this batch: a duplicate
            if item.event.id in claimed:
                claimed.discard(item.event.id)
                fresh.append(item)
            else:
                duplicates.append(item)
        return fresh, duplicates

    async def _handle_one(self, handler: Handler, group: str, item: _Item,
                          conn: asyncpg.Connection) -> Scope | tuple[str, int]:
        """Run the handler on the event's savepoint (set by the caller), retried per the policy: the scope it
        committed on, or a reason to park it (its effects rolled back) and the attempts made."""
        event = item.event
        with _EventSpan(self._tracer, item, group) as span:
            for attempt in range(1, self._retry.max_attempts + 1):
                scope = Scope(EVENT_SAVEPOINT)
                try:
                    await handler(event, self._unit_of_work_on(conn, scope))
                    return scope
                except TRANSIENT_ERRORS:
                    raise
                except Exception as exc:  # noqa: BLE001 (every handler error is retried, then parked)
                    span.record_exception(exc)
                    # This event's effects only; the savepoint stays set for the next attempt.
                    await conn.execute(f"rollback to savepoint {EVENT_SAVEPOINT}")
                    if isinstance(exc, Unprocessable):  # retrying cannot help: park it now
                        return f"unprocessable: {exc}", attempt
                    log.warning("handler failed", extra={"event_id": event.id, "event_type": event.type,
                                                         "attempt": attempt, "error": repr(exc)})
                    if attempt == self._retry.max_attempts:
                        return f"handler error: {exc!r}", attempt
                    await asyncio.sleep(self._retry.delay(attempt))
        raise AssertionError("unreachable: the last attempt returns")

    @staticmethod
    def _report(group: str, durations: list[tuple[str, float]], duplicates: list[_Item]) -> None:
        """A committed batch's metrics; a line per duplicate (rare: a batch read again after a crash)."""
        metrics.handled(group, durations, (item.event.type for item in duplicates))
        for item in duplicates:
            log.info("duplicate event skipped", extra={"event_id": item.event.id, "event_type": item.event.type})

    async def _park(self, record: ConsumerRecord, reason: str, attempts: int, group: str) -> None:
        log.error("event parked on the dead-letter topic",
                  extra={"topic": record.topic, "error": reason, "attempt": attempts})
        metrics.parked(record.topic, group, reason)
        await self._broker.publish(
            record.value, dlq_topic(record.topic), key=record.key,
            headers=dead_letter_headers(record, reason, attempts, group),
        )
