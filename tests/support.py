"""Helpers shared by the integration and end-to-end tests: deadlines, topic reads, a real webhook receiver."""

from __future__ import annotations

import asyncio
import json
import os
import threading
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from aiokafka import AIOKafkaConsumer, TopicPartition

from pathways_runtime.auth import Role, issue_token
from pathways_runtime.broker import partitions_of

TEST_JWT_SECRET = "pathways-tests-secret-of-at-least-32-bytes"

# The broker the integration and end-to-end tiers run on: Tansu (`make test`) or Apache Kafka (`make test-kafka`).
TEST_BROKER = os.environ.get("PATHWAYS_TEST_BROKER", "tansu")

# Tests that depend on one broker's behaviour, with the reason.
only_on_apache_kafka = pytest.mark.skipif(
    TEST_BROKER != "kafka", reason="needs Apache Kafka (replication, SASL, durable storage): make test-kafka")


def own_broker(state: Path):
    """A broker of the session's kind of its own, for a test that pauses it or needs its consumer groups alone."""
    from pathways_runtime.embedded import embedded_broker

    return embedded_broker(TEST_BROKER, log_dir=state / "logs", data_dir=state / "kafka")


def bearer(role: Role, org: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {issue_token(TEST_JWT_SECRET, subject=f'test-{org}', role=role, org=org)}"}


async def eventually(probe: Callable[[], Awaitable[Any]], timeout: float = 30, interval: float = 0.2) -> Any:
    """Poll ``probe`` until it returns something truthy, with a deadline (never a fixed sleep)."""
    deadline = time.monotonic() + timeout
    while True:
        result = await probe()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout}s; last result: {result!r}")
        await asyncio.sleep(interval)


@dataclass(frozen=True)
class Record:
    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None
    headers: dict[str, str]


async def read_all(bootstrap: str, topic: str, timeout: float = 20) -> list[Record]:
    """Every record now in ``topic``, read by partition assignment (no consumer group).

    Gives up (returning what it read) after ``timeout``: a caller polling with ``eventually``
    must never hang on one read.
    """
    deadline = time.monotonic() + timeout
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    await consumer.start()
    try:
        partitions = await partitions_of(consumer, topic)
        if not partitions:
            return []
        consumer.assign(partitions)
        await consumer.seek_to_beginning(*partitions)
        ends = await consumer.end_offsets(partitions)
        records: list[Record] = []
        while time.monotonic() < deadline and [tp for tp in partitions if await consumer.position(tp) < ends[tp]]:
            for batch in (await consumer.getmany(timeout_ms=500)).values():
                records += [Record(r.topic, r.partition, r.offset, r.key, r.value,
                                   # "replace": the bus may carry poison (a header value that is not UTF-8,
                                   # which the services park); a test reading a topic must not crash on it.
                                   {k: v.decode("utf-8", "replace") for k, v in r.headers or ()}) for r in batch]
        return records
    finally:
        await consumer.stop()


async def read_by_group(bootstrap: str, group: str, topic: str, event_ids: list[str] | set[str]) -> bool:
    """True once every one of these events is on ``topic`` and ``group`` has committed past it.

    What a consumer did with an event (handled it, or acknowledged it unwanted, with no inbox row)
    does not matter here: only that it has read it.
    """
    from aiokafka import TopicPartition
    from aiokafka.admin import AIOKafkaAdminClient

    wanted = set(event_ids)
    records = [r for r in await read_all(bootstrap, topic) if r.headers.get("ce_id") in wanted]
    if not wanted or len({r.headers["ce_id"] for r in records}) < len(wanted):
        return False
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        # Partitions named: Tansu cannot answer an offset fetch for all of a group's partitions.
        committed = await admin.list_consumer_group_offsets(
            group, partitions=sorted({TopicPartition(topic, r.partition) for r in records}))
    finally:
        await admin.close()
    positions = {tp.partition: meta.offset for tp, meta in committed.items() if tp.topic == topic}
    return all(positions.get(r.partition, -1) > r.offset for r in records)


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


class _ReceiverServer(ThreadingHTTPServer):
    # A lane sends its batch at once: socketserver's default listen backlog (5) drops the connections of
    # a burst, which the sender sees as a failed attempt (the SYN retransmitted after a second), a retry.
    request_queue_size = 128


@dataclass
class WebhookReceiver:
    """A real HTTP server in a thread that records what it receives and answers ``status``."""

    status: int = 204
    delay: float = 0.0
    received: list[Received] = field(default_factory=list)
    most_in_flight: int = 0  # the most requests it was answering at the same moment

    def __post_init__(self) -> None:
        receiver = self
        in_flight, lock = [0], threading.Lock()

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
                length = int(self.headers.get("content-length", 0))
                body = self.rfile.read(length)
                if len(body) < length:  # the sender was killed mid-body: not a delivery, and nobody to answer
                    self.close_connection = True
                    return
                with lock:
                    in_flight[0] += 1
                    receiver.most_in_flight = max(receiver.most_in_flight, in_flight[0])
                try:
                    time.sleep(receiver.delay)
                finally:
                    with lock:
                        in_flight[0] -= 1
                if receiver.status < 300:
                    receiver.received.append(Received(self.path, dict(self.headers), body))
                self.send_response(receiver.status)
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self._server = _ReceiverServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()


def announce(message: str, *args: object) -> None:
    """A test's counts (what was sent, lost, parked, fuzzed), printed: ``pytest -rP`` shows them, and
    they stay readable when the services under test have reconfigured logging in this process."""
    print(message % args, flush=True)
