"""Operations over the bus, shared by the CLI and the ops console: topic sizes, decoded tails, dead-letter
replay, and the trace trees of the local span store."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections import defaultdict
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient

from pathways_contracts import InvalidEvent, decode, dlq_topic
from pathways_runtime.broker import client_kwargs, partitions_of
from pathways_runtime.settings import Settings


async def topic_sizes(settings: Settings) -> dict[str, tuple[int, int]]:
    """topic -> (partitions, messages), from the end offsets."""
    admin = AIOKafkaAdminClient(**client_kwargs(settings))
    await admin.start()
    try:
        names = sorted(await admin.list_topics())
    finally:
        await admin.close()
    consumer = AIOKafkaConsumer(**client_kwargs(settings))
    await consumer.start()
    try:
        result = {}
        await partitions_of(consumer, *names)
        for name in names:
            partitions = await partitions_of(consumer, name)
            ends = await consumer.end_offsets(partitions) if partitions else {}
            starts = await consumer.beginning_offsets(partitions) if partitions else {}
            result[name] = (len(partitions), sum(ends[tp] - starts[tp] for tp in partitions))
        return result
    finally:
        await consumer.stop()


@contextlib.asynccontextmanager
async def _from_the_beginning(settings: Settings, topic: str) -> AsyncIterator[tuple[AIOKafkaConsumer, list]]:
    """A group-less consumer assigned to every partition of ``topic``, at the start of each."""
    consumer = AIOKafkaConsumer(**client_kwargs(settings), enable_auto_commit=False)
    await consumer.start()
    try:
        partitions = await partitions_of(consumer, topic)
        if partitions:
            consumer.assign(partitions)
            await consumer.seek_to_beginning(*partitions)
        yield consumer, partitions
    finally:
        await consumer.stop()


async def read_topic(settings: Settings, topic: str, *, follow: bool, idle_seconds: float = 2.0,
                     ) -> AsyncIterator[dict]:
    """Every record of ``topic`` from the beginning, decoded; stops when idle unless ``follow``."""
    async with _from_the_beginning(settings, topic) as (consumer, partitions):
        if not partitions:
            raise SystemExit(f"no topic {topic!r}")
        while True:
            batch = await consumer.getmany(timeout_ms=int(idle_seconds * 1000))
            if not batch and not follow:
                return
            for records in batch.values():
                for record in records:
                    yield describe(record)


def describe(record) -> dict:
    headers = {k: v.decode("utf-8", "replace") for k, v in record.headers or ()}
    base = {"partition": record.partition, "offset": record.offset, "key": (record.key or b"").decode()}
    if record.topic.endswith(".dlq"):
        return base | {"dead_letter": {k: v for k, v in headers.items() if k.startswith("dlq_")},
                       "type": headers.get("ce_type"), "value": (record.value or b"")[:300].decode("utf-8", "replace")}
    try:
        event = decode(record.headers, record.value)
    except InvalidEvent as exc:
        return base | {"invalid": exc.reason}
    return base | {"id": event.id, "type": event.type, "source": event.source, "subject": event.subject,
                   "time": event.time.isoformat(), "traceparent": headers.get("traceparent"),
                   "data": event.data.model_dump(mode="json")}


# --- traces ---------------------------------------------------------------------------------------

def load_spans(trace_dir: Path) -> list[dict]:
    spans = []
    for path in sorted(trace_dir.glob("*.jsonl")):
        with path.open(encoding="utf-8") as lines:
            spans += [json.loads(line) for line in lines if line.strip()]
    return spans


def find_traces(spans: list[dict], needle: str) -> list[str]:
    """Trace ids whose id is ``needle`` or that have a span with an attribute equal to it."""
    found = []
    for span in spans:
        values = {str(v) for v in span["attributes"].values()}
        if (span["trace_id"] == needle or needle in values) and span["trace_id"] not in found:
            found.append(span["trace_id"])
    return found


def span_tree(spans: list[dict], trace_id: str) -> tuple[list[dict], dict[str, list[dict]]]:
    """(roots, children by parent span id) of one trace, each level in start order."""
    mine = sorted((s for s in spans if s["trace_id"] == trace_id), key=lambda s: s["start"])
    ids = {s["span_id"] for s in mine}
    children: dict[str, list[dict]] = defaultdict(list)
    roots = []
    for span in mine:
        if span["parent_id"] in ids:
            children[span["parent_id"]].append(span)
        else:
            roots.append(span)
    return roots, children


def run(coro):
    return asyncio.run(coro)


# --- dead letters ---------------------------------------------------------------------------------

async def replay_dead_letters(settings: Settings, topic: str, *, group: str | None = None,
                              event_id: str | None = None, match: Callable[[Any], bool] | None = None) -> int:
    """Publish parked records of ``<topic>.dlq`` back onto ``topic``, as they first arrived.

    For after the fix: a consumer that failed on them reads them again (its inbox has no row for a
    failed event, so it is handled once). ``group`` or ``event_id`` narrow the replay; ``match`` (a
    predicate on the raw dead-letter record) narrows it further (the ops console replays one record
    by its partition and offset).
    """
    from aiokafka import AIOKafkaProducer

    producer = AIOKafkaProducer(**client_kwargs(settings), enable_idempotence=False, acks="all")
    await producer.start()
    replayed = 0
    try:
        async for record in _raw_records(settings, dlq_topic(topic)):
            headers = {k: v for k, v in record.headers or ()}
            if group and headers.get("dlq_consumer_group", b"").decode() != group:
                continue
            if event_id and headers.get("ce_id", b"").decode() != event_id:
                continue
            if match is not None and not match(record):
                continue
            original = [(k, v) for k, v in record.headers or () if not k.startswith("dlq_")]
            await producer.send_and_wait(topic, record.value, key=record.key, headers=original)
            replayed += 1
    finally:
        await producer.stop()
    return replayed


async def _raw_records(settings: Settings, topic: str) -> AsyncIterator:
    """The records now in ``topic`` (up to its end offsets when called), undecoded."""
    async with _from_the_beginning(settings, topic) as (consumer, partitions):
        if not partitions:
            return
        ends = await consumer.end_offsets(partitions)
        while [tp for tp in partitions if await consumer.position(tp) < ends[tp]]:
            for records in (await consumer.getmany(timeout_ms=500)).values():
                for record in records:
                    if record.offset < ends[TopicPartition(record.topic, record.partition)]:
                        yield record
