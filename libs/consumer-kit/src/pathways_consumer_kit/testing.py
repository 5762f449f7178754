"""Helpers for a department's tests: put a live event on the broker as a Pathways service would."""

from __future__ import annotations

import uuid

from aiokafka import AIOKafkaProducer

from pathways_contracts import CloudEvent, Event, encode
from pathways_runtime.settings import Settings


async def publish(data: Event, bootstrap_servers: str | None = None, source: str = "/tests") -> CloudEvent:
    """Publish one event (CloudEvents binary mode, with a trace context) and return it."""
    event = CloudEvent(data, source=source)
    key, value, headers = encode(event)
    headers["traceparent"] = f"00-{uuid.uuid4().hex}-{uuid.uuid4().hex[:16]}-01"
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap_servers or Settings().kafka_bootstrap_servers,
                                enable_idempotence=False)
    await producer.start()
    try:
        await producer.send_and_wait(event.type, value, key=key,
                                     headers=[(k, v.encode()) for k, v in headers.items()])
    finally:
        await producer.stop()
    return event
