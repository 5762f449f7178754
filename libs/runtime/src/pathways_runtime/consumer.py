"""The consumer pipeline every subscriber runs through, written once.

For each Kafka record:

1. Decode it as a CloudEvent of the topic's type. A record that is not a
   valid event (missing headers, bad JSON, unknown type, schema violation)
   goes straight to ``<topic>.dlq`` with the reason, and is acknowledged.
2. Open one database transaction; insert the inbox row
   ``(consumer_group, event_id)``. If it already exists the event was
   handled before: skip it (idempotent consumer).
3. Run the handler in that transaction; events it emits go to the outbox in
   the same transaction. Commit, then commit the Kafka offset
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

from pathways_contracts import CloudEvent, Event, InvalidEvent, decode, dlq_topic
from pathways_runtime import outbox

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


@dataclass
class Handling:
    """What a handler gets besides the event: its transaction and a way to emit events."""

    conn: asyncpg.Connection
    event: CloudEvent
    schema: str
    source: str

    async def emit(self, data: Event) -> CloudEvent:
        """Record an event in the outbox, in this handler's transaction."""
        event = CloudEvent(data=data, source=self.source)
        await outbox.add_event(self.conn, self.schema, event)
        return event


Handler = Callable[[Any, Handling], Awaitable[None]]


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

    def __init__(self, broker: KafkaBroker, pool: Callable[[], asyncpg.Pool], *, schema: str, source: str,
                 group: str, retry: RetryPolicy) -> None:
        self._broker = broker
        self._pool = pool
        self._schema = schema
        self._source = source
        self._group = group
        self._retry = retry

    def on(self, model: type[E], *, title: str, description: str, group: str | None = None,
           ) -> Callable[[Handler], Handler]:
        """Decorator: ``@consumers.on(RedFlagRaised, title=..., description=...)``."""

        def register(handler: Handler) -> Handler:
            self.subscribe(model, handler, title=title, description=description, group=group or self._group)
            return handler

        return register

    def subscribe(self, model: type[E], handler: Handler, *, title: str, description: str, group: str) -> None:
        entry = self._entry(model, handler, group)
        self._broker.subscriber(
            model.event_type,
            group_id=group,
            auto_offset_reset="earliest",
            ack_policy=AckPolicy.NACK_ON_ERROR,
            decoder=self._decoder(model, group),
            session_timeout_ms=30_000,
            heartbeat_interval_ms=3_000,
            title=title,
            description=description,
        )(entry)

    def _decoder(self, model: type[Event], group: str) -> Callable[..., Awaitable[Any]]:
        async def decode_or_park(message: KafkaMessage) -> Any:
            record = message.raw_message
            try:
                event = decode(record.headers, record.value, expected_type=model.event_type)
            except InvalidEvent as exc:
                await self._park(message, f"invalid event: {exc.reason}", attempts=0, group=group)
                raise AckMessage() from exc
            return event.data.model_dump(mode="json")

        return decode_or_park

    def _entry(self, model: type[E], handler: Handler, group: str) -> Callable[..., Awaitable[None]]:
        async def entry(event: Any, message: Any) -> None:
            await self._process(model, handler, group, event, message)

        # FastStream reads the annotations: the body is validated as (and documented as) the contract
        # model, and KafkaMessage (an annotated context alias) injects the raw message.
        entry.__annotations__ = {"event": model, "message": KafkaMessage, "return": None}
        entry.__name__ = f"{handler.__name__}_on_{model.event_type.replace('.', '_')}"
        entry.__doc__ = handler.__doc__
        return entry

    async def _process(self, model: type[E], handler: Handler, group: str, data: E, message: KafkaMessage) -> None:
        headers = message.headers
        event = CloudEvent(data=data, source=headers["ce_source"], id=headers["ce_id"],
                           time=datetime.fromisoformat(headers["ce_time"].replace("Z", "+00:00")))
        for attempt in range(1, self._retry.max_attempts + 1):
            try:
                await self._handle_once(handler, group, event)
                return
            except TRANSIENT_ERRORS:
                # Not the message's fault: leave the offset, let the record be read again.
                await asyncio.sleep(self._retry.backoff_seconds)
                raise
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
                log.info("duplicate event skipped", extra={"event_id": event.id, "event_type": event.type})
                return
            await handler(event.data, Handling(conn, event, self._schema, self._source))

    async def _park(self, message: KafkaMessage, reason: str, attempts: int, group: str) -> None:
        record = message.raw_message
        log.error("event parked on the dead-letter topic",
                  extra={"topic": record.topic, "error": reason, "attempt": attempts})
        await self._broker.publish(
            record.value, dlq_topic(record.topic), key=record.key,
            headers=dead_letter_headers(message, reason, attempts, group),
        )
