"""What the console reads, all read-only: each service's probes and metrics over HTTP, the dead-letter
and event topics from the broker, and the local span store. The CLI's reading code is reused."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime

import httpx
from aiokafka import AIOKafkaConsumer, TopicPartition
from prometheus_client.parser import text_string_to_metric_families

from pathways_runtime import operations as ops
from pathways_contracts import TOPICS
from pathways_runtime.metrics import reason_class
from pathways_runtime.settings import Settings

# --- services: probes and metrics -----------------------------------------------------------------


@dataclass
class ServiceStatus:
    name: str
    url: str
    healthy: bool = False
    ready: bool = False
    checks: dict = field(default_factory=dict)
    samples: list[tuple[str, dict[str, str], float]] = field(default_factory=list)
    error: str | None = None

    def total(self, name: str, by: str | None = None, **where: str) -> dict[str, float] | float:
        """Sum of the samples named ``name`` matching ``where``; grouped by the label ``by`` if given."""
        grouped: dict[str, float] = defaultdict(float)
        for sample, labels, value in self.samples:
            if sample == name and all(labels.get(k) == v for k, v in where.items()):
                grouped[labels.get(by, "") if by else ""] += value
        return dict(grouped) if by else grouped.get("", 0.0)


async def service_status(http: httpx.AsyncClient, name: str, url: str) -> ServiceStatus:
    status = ServiceStatus(name, url)
    try:
        status.healthy = (await http.get(f"{url}/healthz")).status_code == 200
        ready = await http.get(f"{url}/readyz")
        status.ready, status.checks = ready.status_code == 200, ready.json().get("checks", {})
        scraped = await http.get(f"{url}/metrics")
        scraped.raise_for_status()
        status.samples = [(s.name, s.labels, s.value) for family in text_string_to_metric_families(scraped.text)
                          for s in family.samples]
    except (httpx.HTTPError, ValueError) as exc:
        status.error = f"{type(exc).__name__}: {exc}"[:200]
    return status


async def all_statuses(urls: dict[str, str]) -> list[ServiceStatus]:
    async with httpx.AsyncClient(timeout=8) as http:
        return list(await asyncio.gather(*(service_status(http, n, u) for n, u in urls.items())))


# --- topics ---------------------------------------------------------------------------------------


async def read_topics(settings: Settings, topics: list[str]) -> list:
    """Every record now in ``topics`` (up to their end offsets), undecoded, with one group-less consumer."""
    consumer = AIOKafkaConsumer(bootstrap_servers=settings.kafka_bootstrap_servers, enable_auto_commit=False,
                                request_timeout_ms=settings.kafka_request_timeout_ms)
    await consumer.start()
    try:
        partitions = [TopicPartition(t, p) for t in topics for p in sorted(consumer.partitions_for_topic(t) or ())]
        if not partitions:
            return []
        consumer.assign(partitions)
        await consumer.seek_to_beginning(*partitions)
        ends = await consumer.end_offsets(partitions)
        records = []
        while [tp for tp in partitions if await consumer.position(tp) < ends[tp]]:
            for batch in (await consumer.getmany(timeout_ms=500)).values():
                records += [r for r in batch if r.offset < ends[TopicPartition(r.topic, r.partition)]]
        return records
    finally:
        await consumer.stop()


@dataclass
class DeadLetter:
    dlq_topic: str
    partition: int
    offset: int
    topic: str
    reason: str
    reason_class: str
    attempts: str
    consumer_group: str
    source: str  # topic/partition@offset it was read from
    failed_at: str
    event_id: str
    event_type: str
    subject: str
    value: str  # the event as received, as stored on the bus
    state: str = "parked"  # parked, replayed, processed, discarded


def dead_letter(record) -> DeadLetter:
    headers = {k: v.decode("utf-8", "replace") for k, v in record.headers or ()}
    value = (record.value or b"").decode("utf-8", "replace")
    with contextlib.suppress(ValueError):
        value = json.dumps(json.loads(value), indent=2)
    reason = headers.get("dlq_reason", "")
    return DeadLetter(
        dlq_topic=record.topic, partition=record.partition, offset=record.offset,
        topic=headers.get("dlq_source_topic", record.topic.removesuffix(".dlq")), reason=reason,
        reason_class=reason_class(reason), attempts=headers.get("dlq_attempts", "?"),
        consumer_group=headers.get("dlq_consumer_group", ""),
        source=f"{headers.get('dlq_source_topic')}/{headers.get('dlq_source_partition')}"
               f"@{headers.get('dlq_source_offset')}",
        failed_at=headers.get("dlq_failed_at", ""), event_id=headers.get("ce_id", ""),
        event_type=headers.get("ce_type", ""), subject=headers.get("ce_subject", ""), value=value)


def dlq_topics() -> list[str]:
    return [t.name for t in TOPICS if t.name.endswith(".dlq")]


async def dead_letters(settings: Settings) -> list[DeadLetter]:
    return [dead_letter(r) for r in await read_topics(settings, dlq_topics())]


@dataclass
class FlowEvent:
    time: datetime
    type: str
    source: str
    subject: str
    event_id: str
    ids: dict[str, str]  # the event's *_id fields: ids only, never a person's details
    topic: str
    offset: str


async def flow(settings: Settings, needle: str) -> list[FlowEvent]:
    """The events, across every topic, whose subject is ``needle`` or that name it in an ``*_id`` field."""
    topics = [t.name for t in TOPICS if not t.name.endswith(".dlq")]
    found = []
    for record in await read_topics(settings, topics):
        event = ops.describe(record)
        if "id" not in event:
            continue
        ids = {k: str(v) for k, v in event["data"].items() if k.endswith("_id") and isinstance(v, str | int)}
        if event["subject"] == needle or needle in ids.values() or event["id"] == needle:
            found.append(FlowEvent(datetime.fromisoformat(event["time"]), event["type"], event["source"],
                                   event["subject"], event["id"], ids, record.topic,
                                   f"{record.partition}@{record.offset}"))
    return sorted(found, key=lambda e: e.time)


# --- traces ---------------------------------------------------------------------------------------


@dataclass
class SpanRow:
    depth: int
    service: str
    name: str
    kind: str
    status: str
    offset_ms: float
    took_ms: float
    left_pct: float
    width_pct: float
    queued_ms: float | None  # a consumer span: time its message waited after the producer sent it


@dataclass
class Trace:
    trace_id: str
    services: list[str]
    total_ms: float
    rows: list[SpanRow]
    started: datetime


def traces(settings: Settings, needle: str, *, with_database: bool = False) -> list[Trace]:
    """The traces that mention ``needle``, as timelines; database calls only when asked (they are most rows)."""
    spans = ops.load_spans(settings.trace_dir)
    result = []
    for trace_id in ops.find_traces(spans, needle):
        roots, children = ops.span_tree(spans, trace_id)
        mine = [s for s in spans if s["trace_id"] == trace_id]
        t0, t1 = min(s["start"] for s in mine), max(s["end"] for s in mine)
        total = max(t1 - t0, 1)
        rows: list[SpanRow] = []

        def walk(span: dict, depth: int, parent: dict | None) -> None:
            queued = None
            if span["kind"] == "CONSUMER" and parent is not None and parent["kind"] == "PRODUCER":
                queued = (span["start"] - parent["end"]) / 1e6
            if with_database or "db.system" not in span["attributes"]:
                rows.append(SpanRow(depth, span["service"] or "?", span["name"], span["kind"], span["status"],
                                    (span["start"] - t0) / 1e6, (span["end"] - span["start"]) / 1e6,
                                    100 * (span["start"] - t0) / total,
                                    max(100 * (span["end"] - span["start"]) / total, 0.3), queued))
            for child in children.get(span["span_id"], []):
                walk(child, depth + 1, span)

        for root in roots:
            walk(root, 0, None)
        services = list(dict.fromkeys(r.service for r in rows))
        result.append(Trace(trace_id, services, total / 1e6, rows, datetime.fromtimestamp(t0 / 1e9, UTC)))
    return sorted(result, key=lambda t: t.started, reverse=True)
