"""The consumer pipeline every subscriber runs through, written once.

For each Kafka record:

1. Decode it as a CloudEvent of the topic's type. A record that is not a
   valid event (missing headers, bad JSON, unknown type, schema violation)
   goes straight to ``<topic>.dlq`` with the reason, and is acknowledged.
2. Open one database transaction; insert the inbox row
   ``(consumer_group, event_id)``. If it already exists the event was
   handled before: skip it (idempotent consumer).
3. Run the handler in that transaction with a unit of work on it (its
   repositories; ``emit`` writes to the outbox in the same transaction; the
   handler's ``async with uow`` is a savepoint). Commit, then commit the Kafka offset
   (``AckPolicy.NACK_ON_ERROR``: the offset moves only after success).
4. A handler error rolls the transaction back and is retried with
   exponential backoff; after the last attempt the record is parked on the
   DLQ with the error, attempt count and source topic/partition/offset, and
   the consumer moves on. Infrastructure errors (database or broker
   unreachable) are not the message's fault: they are not parked; the offset
   is not committed and the record is read again.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TypeVar

import asyncpg
from faststream.exceptions import AckMessage
from faststream.kafka import KafkaBroker, KafkaMessage
from faststream.middlewares import AckPolicy
from opentelemetry import trace

from pathways_contracts import CloudEvent, Event, InvalidEvent, decode, dlq_topic
from pathways_runtime import metrics
from pathways_runtime.errors import Unprocessable
from pathways_runtime.uow import UnitOfWork

log = logging.getLogger(__name__)

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
UnitOfWorkOn = Callable[[asyncpg.Connection], UnitOfWork]


@dataclass(frozen=True)
class RetryPolicy:
    max_attempts: int = 3
    backoff_seconds: float = 0.5

    def delay(self, attempt: int) -> float:
        return self.backoff_seconds * 2 ** (attempt - 1)


def dead_letter_headers(message: KafkaMessage, reason: str, attempts: int, group: str) -> dict[str, str]:
    record = message.raw_message
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


class EventConsumers:
    """Registers typed handlers on a service's broker, each behind the pipeline above."""

    def __init__(self, broker: KafkaBroker, pool: Callable[[], asyncpg.Pool], *, schema: str,
                 unit_of_work_on: UnitOfWorkOn, group: str, retry: RetryPolicy,
                 session_timeout_ms: int = 10_000) -> None:
        self._broker = broker
        self._pool = pool
        self._schema = schema
        self._unit_of_work_on = unit_of_work_on
        self._group = group
        self._retry = retry
        self._session_timeout_ms = session_timeout_ms

    def on(self, model: type[E], *, title: str, description: str, group: str | None = None,
           ) -> Callable[[Handler], Handler]:
        """Decorator: ``@consumers.on(RedFlagRaised, title=..., description=...)``."""

        # One consumer group per (service, event type) unless told otherwise: each subscription is a
        # consumer of its own, so a rebalance of one never pauses another, and a handler added later
        # starts from the beginning of its topic.
        def register(handler: Handler) -> Handler:
            self.subscribe(model, handler, title=title, description=description,
                           group=group or f"{self._group}.{model.event_type}")
            return handler

        return register

    def on_each(self, models: list[type[Event]], *, title: str, description: str, group: str | None = None,
                ) -> Callable[[Handler], Handler]:
        """Decorator: one handler for several event types, read by ONE consumer of all their topics.

        For services that treat every event alike (the notification service): one group join instead
        of one per topic.
        """

        def register(handler: Handler) -> Handler:
            self.subscribe(models, handler, title=title, description=description, group=group or self._group)
            return handler

        return register

    def subscribe(self, models: type[Event] | list[type[Event]], handler: Handler, *, title: str,
                  description: str, group: str) -> None:
        models = models if isinstance(models, list) else [models]
        self._broker.subscriber(
            *(m.event_type for m in models),
            group_id=group,
            auto_offset_reset="earliest",
            ack_policy=AckPolicy.NACK_ON_ERROR,
            decoder=self._decoder(group),
            session_timeout_ms=self._session_timeout_ms,
            heartbeat_interval_ms=self._session_timeout_ms // 3,
            title=f"{', '.join(m.event_type for m in models)} → {title}",
            description=description,
        )(self._entry(models, handler, group))

    def _decoder(self, group: str) -> Callable[..., Awaitable[Any]]:
        async def decode_or_park(message: KafkaMessage) -> Any:
            record = message.raw_message
            try:  # the topic names the only event type it may carry
                event = decode(record.headers, record.value, expected_type=record.topic)
            except InvalidEvent as exc:
                await self._park(message, f"invalid event: {exc.reason}", attempts=0, group=group)
                raise AckMessage() from exc
            message.cloud_event = event  # what the handler receives; FastStream's body is for the docs
            return event.data.model_dump(mode="json")

        return decode_or_park

    def _entry(self, models: list[type[Event]], handler: Handler, group: str) -> Callable[..., Awaitable[None]]:
        async def entry(event: Any, message: Any) -> None:
            await self._process(handler, group, message.cloud_event, message)

        # FastStream reads the annotations: with one model the body is validated as (and documented as)
        # the contract model; KafkaMessage (an annotated context alias) injects the raw message.
        body = models[0] if len(models) == 1 else dict
        entry.__annotations__ = {"event": body, "message": KafkaMessage, "return": None}
        topics = models[0].event_type.replace(".", "_") if len(models) == 1 else "events"
        entry.__name__ = f"{handler.__name__}_on_{topics}"
        entry.__doc__ = handler.__doc__
        return entry

    async def _process(self, handler: Handler, group: str, event: CloudEvent, message: KafkaMessage) -> None:
        # Searchable attributes on the consume span: `pathways trace <establishment or case id>` finds it.
        trace.get_current_span().set_attributes({
            "pathways.event_id": event.id, "pathways.event_type": event.type, "pathways.subject": event.subject,
            "pathways.consumer_group": group})
        started = metrics.now()
        for attempt in range(1, self._retry.max_attempts + 1):
            try:
                await self._handle_once(handler, group, event)
                metrics.consumed(event.type, group, "processed", started)
                return
            except TRANSIENT_ERRORS:
                # Not the message's fault: leave the offset, let the record be read again.
                metrics.consumed(event.type, group, "transient_error", started)
                await asyncio.sleep(self._retry.backoff_seconds)
                raise
            except Unprocessable as exc:  # retrying cannot help: park it now
                await self._park(message, f"unprocessable: {exc}", attempts=attempt, group=group)
                return
            except Exception as exc:  # noqa: BLE001 (every handler error is retried, then parked)
                log.warning("handler failed", extra={"event_id": event.id, "event_type": event.type,
                                                     "attempt": attempt, "error": repr(exc)})
                if attempt == self._retry.max_attempts:
                    await self._park(message, f"handler error: {exc!r}", attempts=attempt, group=group)
                    return
                await asyncio.sleep(self._retry.delay(attempt))

    async def _handle_once(self, handler: Handler, group: str, event: CloudEvent) -> None:
        async with self._pool().acquire() as conn, conn.transaction():
            claimed = await conn.fetchval(
                f"insert into {self._schema}.inbox (consumer_group, event_id, event_type) values ($1, $2, $3)"
                " on conflict do nothing returning true",
                group, event.id, event.type,
            )
            if not claimed:
                metrics.duplicate(event.type, group)
                log.info("duplicate event skipped", extra={"event_id": event.id, "event_type": event.type})
                return
            await handler(event, self._unit_of_work_on(conn))

    async def _park(self, message: KafkaMessage, reason: str, attempts: int, group: str) -> None:
        record = message.raw_message
        metrics.parked(record.topic, group, reason)
        log.error("event parked on the dead-letter topic",
                  extra={"topic": record.topic, "error": reason, "attempt": attempts})
        await self._broker.publish(
            record.value, dlq_topic(record.topic), key=record.key,
            headers=dead_letter_headers(message, reason, attempts, group),
        )
