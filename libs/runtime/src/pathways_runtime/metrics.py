"""Prometheus metrics of a Pathways service, served on ``/metrics``.

Counters and histograms are process-wide (one service per process in production;
the scrape target names the service, as Prometheus intends). They are moved by
one-line calls from the pipeline (``consumed``, ``duplicate``, ``parked``,
``published``, ``publish_failed``, ``batch``, ``delivery``) and by ``HttpMetricsMiddleware``.
Gauges that describe state rather than events (outbox backlog and the age of its
oldest unsent row, consumer lag per group and partition) are measured when
``/metrics`` is scraped, by asking PostgreSQL and the broker (``refresh``).

Labels are bounded sets only: topics, consumer groups, schemas, outcome names,
reason *classes*, route templates. Never an id, a message or anything about a person.
"""

from __future__ import annotations

import asyncio
import collections
import logging
import time
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, Counter, Gauge, Histogram, generate_latest
from starlette.types import ASGIApp, Message, Receive, Scope, Send

if TYPE_CHECKING:
    from pathways_runtime.service import Service

log = logging.getLogger(__name__)

_FAST = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)

EVENTS_CONSUMED = Counter(
    "pathways_events_consumed", "Events a consumer group finished with, by outcome "
    "(processed, parked, invalid, transient_error).", ["topic", "consumer_group", "outcome"])
HANDLER_DURATION = Histogram(
    "pathways_event_handler_duration_seconds", "Time from receiving an event to finishing with it "
    "(retries included).", ["topic", "consumer_group"], buckets=_FAST)
DUPLICATES = Counter("pathways_events_duplicates", "Redelivered events a consumer group had handled before "
                     "and skipped (also counted as processed).", ["topic", "consumer_group"])
EVENTS_PUBLISHED = Counter("pathways_events_published", "Events the outbox relay published, by topic.", ["topic"])
PUBLISH_FAILURES = Counter("pathways_outbox_publish_failures", "Outbox relay rounds that failed (broker down "
                           "or slow); the rows wait and are published later.", ["schema"])
BATCH_SIZE = Histogram("pathways_batch_size", "Records handled together in one batch, by stage.", ["stage"],
                       buckets=(1, 2, 5, 10, 20, 50, 100, 200, 500, 1000))
DEAD_LETTERS = Counter("pathways_dead_letters", "Records parked on a dead-letter topic, by source topic and "
                       "reason class.", ["topic", "reason_class"])
OUTBOX_BACKLOG = Gauge("pathways_outbox_backlog", "Outbox rows not yet published (measured at scrape).",
                       ["schema"])
OUTBOX_OLDEST_AGE = Gauge("pathways_outbox_oldest_unsent_age_seconds", "Age of the oldest unpublished outbox "
                          "row; 0 when none waits (measured at scrape).", ["schema"])
CONSUMER_LAG = Gauge("pathways_consumer_lag_records", "Records of a partition not yet committed by a consumer "
                     "group (measured at scrape).", ["consumer_group", "topic", "partition"])
DELIVERIES = Counter("pathways_webhook_deliveries", "Delivery attempts to a department's webhook or mailbox, by "
                     "channel and outcome (delivered, retry, parked, unsubscribed).", ["channel", "outcome"])
DELIVERY_DURATION = Histogram("pathways_webhook_delivery_duration_seconds", "Time a receiver took to answer one "
                              "delivery attempt.", ["channel"], buckets=_FAST)
# HTTP server metrics named after OpenTelemetry's semantic conventions (http.server.request.duration).
HTTP_REQUESTS = Counter("http_server_requests", "HTTP requests answered.",
                        ["http_request_method", "http_route", "http_response_status_code"])
HTTP_DURATION = Histogram("http_server_request_duration_seconds", "Time to answer an HTTP request.",
                          ["http_request_method", "http_route"], buckets=_FAST)
HTTP_SHED = Counter("pathways_http_requests_shed", "Requests answered 503 at once because the service had as many "
                    "in flight as it takes (PATHWAYS_MAX_REQUESTS_IN_FLIGHT); counted as unmatched 503s above too.")

REASON_CLASSES = ("invalid_event", "unprocessable", "handler_error")


def reason_class(reason: str) -> str:
    """The class of a dead-letter reason (its prefix before the colon), never the free text itself."""
    prefix = reason.split(":", 1)[0].strip().lower().replace(" ", "_")
    return prefix if prefix in REASON_CLASSES else "other"


def now() -> float:
    return time.perf_counter()


# --- one-line calls from the pipeline -------------------------------------------------------------

def consumed(topic: str, group: str, outcome: str) -> None:
    """An event finished with but not handled (not wanted, or read again after a transient error); the
    handled ones are counted with their batch (``handled``)."""
    EVENTS_CONSUMED.labels(topic, group, outcome).inc()


def handled(group: str, durations: Iterable[tuple[str, float]], duplicates: Iterable[str] = ()) -> None:
    """A committed batch: each handled event's (type, handler seconds) and each skipped duplicate's type;
    each labelled series looked up once per batch (a lookup costs as much as the count)."""
    processed, skipped = collections.Counter(), collections.Counter(duplicates)
    histograms: dict[str, Any] = {}
    for topic, seconds in durations:
        processed[topic] += 1
        histogram = histograms.get(topic)
        if histogram is None:
            histogram = histograms[topic] = HANDLER_DURATION.labels(topic, group)
        histogram.observe(seconds)
    for topic, n in (processed + skipped).items():
        EVENTS_CONSUMED.labels(topic, group, "processed").inc(n)
    for topic, n in skipped.items():
        DUPLICATES.labels(topic, group).inc(n)


def parked(topic: str, group: str, reason: str) -> None:
    """A record parked on ``<topic>.dlq``: counted as a dead letter and as the group's outcome for it."""
    kind = reason_class(reason)
    DEAD_LETTERS.labels(topic, kind).inc()
    EVENTS_CONSUMED.labels(topic, group, "invalid" if kind == "invalid_event" else "parked").inc()


def published(topic: str) -> None:
    EVENTS_PUBLISHED.labels(topic).inc()


def shed() -> None:
    HTTP_SHED.inc()


def publish_failed(schema: str) -> None:
    PUBLISH_FAILURES.labels(schema).inc()


def batch(stage: str, size: int) -> None:
    if size:
        BATCH_SIZE.labels(stage).observe(size)


def deliveries(channel: str, outcome: str, latencies_seconds: list[float]) -> None:
    """Attempts of one channel and outcome (a delivery lane's batch): the labelled series looked up once."""
    DELIVERIES.labels(channel, outcome).inc(len(latencies_seconds))
    duration = DELIVERY_DURATION.labels(channel)
    for latency in latencies_seconds:
        duration.observe(latency)


# --- measured at scrape ---------------------------------------------------------------------------

async def refresh(service: Service, timeout: float = 3.0) -> None:
    """Set the state gauges from PostgreSQL and the broker; a part that does not answer is left as it was."""
    results = await asyncio.gather(asyncio.wait_for(_outbox(service), timeout),
                                   asyncio.wait_for(_lag(service), timeout), return_exceptions=True)
    for what, result in zip(("outbox", "consumer lag"), results, strict=True):
        if isinstance(result, BaseException):
            log.warning("metrics: %s not measured", what, extra={"error": repr(result)})


async def _outbox(service: Service) -> None:
    row = await service.pool.fetchrow(
        f"select count(*) as backlog, coalesce(extract(epoch from now() - min(created_at)), 0) as age"
        f" from {service.schema}.outbox")  # it holds only what waits
    OUTBOX_BACKLOG.labels(service.schema).set(row["backlog"])
    OUTBOX_OLDEST_AGE.labels(service.schema).set(float(row["age"]))


def subscriptions(service: Service) -> dict[str, list[str]]:
    """consumer group -> its topics, as the service's broker subscribed them."""
    groups: dict[str, list[str]] = {}
    for sub in service.broker.subscribers:
        group = getattr(sub, "group_id", None)
        if group:
            groups.setdefault(group, []).extend(getattr(sub, "topic_names", ()) or ())
    return groups


async def _lag(service: Service) -> None:
    from aiokafka import AIOKafkaConsumer, TopicPartition
    from aiokafka.admin import AIOKafkaAdminClient

    groups = subscriptions(service)
    if not groups:
        return
    settings = service.settings
    admin = AIOKafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap_servers,
                                request_timeout_ms=settings.kafka_request_timeout_ms)
    consumer = AIOKafkaConsumer(bootstrap_servers=settings.kafka_bootstrap_servers, enable_auto_commit=False,
                                request_timeout_ms=settings.kafka_request_timeout_ms)
    await admin.start()
    try:
        await consumer.start()
        try:
            for group, topics in groups.items():
                partitions = [TopicPartition(t, p) for t in topics for p in consumer.partitions_for_topic(t) or ()]
                if not partitions:
                    continue
                ends = await consumer.end_offsets(partitions)
                committed = await admin.list_consumer_group_offsets(group, partitions=partitions)
                for tp in partitions:
                    meta = committed.get(tp)
                    position = meta.offset if meta is not None and meta.offset >= 0 else 0
                    CONSUMER_LAG.labels(group, tp.topic, str(tp.partition)).set(max(ends[tp] - position, 0))
        finally:
            await consumer.stop()
    finally:
        await admin.close()


async def exposition(service: Service) -> tuple[bytes, str]:
    """The text exposition of every metric, state gauges measured now."""
    await refresh(service)
    return generate_latest(REGISTRY), CONTENT_TYPE_LATEST


# --- HTTP -----------------------------------------------------------------------------------------

class HttpMetricsMiddleware:
    """Counts and times every HTTP request by method, route template and status.

    The route template (``/deliveries/{delivery_id}/replay``) comes from the matched route after the
    app answered, so ids never become labels; a request that matched no route is ``unmatched``.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def send_and_note(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_and_note)
        finally:
            route = getattr(scope.get("route"), "path", None) or "unmatched"
            HTTP_REQUESTS.labels(scope["method"], route, str(status)).inc()
            HTTP_DURATION.labels(scope["method"], route).observe(time.perf_counter() - started)
