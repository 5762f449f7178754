"""Poison in the middle of a stream: records no producer of ours would write, produced raw onto topics
the services consume, between good events. Each must be parked on the topic's DLQ with a reason, and the
good stream around it must go through untouched (the checker's counts)."""

from __future__ import annotations

import asyncio
import json
import uuid

import pytest
from aiokafka import AIOKafkaProducer

from fault.checker import Workload, check, subscribe
from processes import System
from support import announce

pytestmark = pytest.mark.fault


def _headers(event_type: str, subject: str, **override: bytes | None) -> list[tuple[str, bytes]]:
    headers = {"ce_specversion": b"1.0", "ce_id": str(uuid.uuid4()).encode(), "ce_source": b"/fault-suite",
               "ce_type": event_type.encode(), "ce_time": b"2026-11-03T10:00:00Z", "ce_subject": subject.encode(),
               "content-type": b"application/json",
               "ce_dataschema": f"urn:pathways:schema:{event_type}:v1".encode()} | override
    return [(k, v) for k, v in headers.items() if v is not None]


def _submitted(subject: str) -> dict:
    return {"inspection_id": str(uuid.uuid4()), "establishment_id": subject, "department": "health-department",
            "program": "food_establishment", "reason": "routine", "inspected_on": "2026-11-03", "result": "pass",
            "indicator_codes": [], "source_system": "fault-suite"}


def poison_records(topic: str) -> list[tuple[str, bytes | None, list[tuple[str, bytes]]]]:
    """(what it is, value, headers) — one of each kind of poison."""
    subject = "poison-est"
    good = json.dumps(_submitted(subject)).encode()
    return [
        ("not JSON", b"{not json", _headers(topic, subject)),
        ("wrong ce_type", good, _headers("case.closed", subject)),
        ("missing headers", good, _headers(topic, subject, ce_id=None, ce_source=None)),
        ("schema violation", json.dumps({"establishment_id": subject}).encode(), _headers(topic, subject)),
        ("tombstone", None, _headers(topic, subject)),
        ("subject mismatch", good, _headers(topic, "someone-else")),
        ("unknown type", good, _headers("inspection.teleported", subject)),
        ("unknown version", good, _headers(topic, subject, ce_dataschema=f"urn:pathways:schema:{topic}:v99".encode())),
        ("non-UTF-8 header", good, _headers(topic, subject, ce_source=b"/fault-\xff\xfe-suite")),
        # Over the 256 KiB an event may have, under the broker's 1 MB record limit (Kafka refuses larger writes).
        ("oversized", json.dumps(_submitted(subject) | {"padding": "x" * 600_000}).encode(), _headers(topic, subject)),
    ]


async def produce_poison(kafka: str, topic: str) -> list[str]:
    producer = AIOKafkaProducer(bootstrap_servers=kafka, max_request_size=4 * 1024 * 1024)
    await producer.start()
    markers = []
    try:
        for kind, value, headers in poison_records(topic):
            marker = f"{topic}:{kind}"
            markers.append(marker)
            await producer.send_and_wait(topic, value, key=b"poison-est", headers=[*headers, ("fault_marker", marker.encode())])
    finally:
        await producer.stop()
    return markers


async def test_poison_in_the_middle_of_a_stream_is_parked_and_the_stream_goes_on(system: System, receiver, broker):
    await subscribe(system.url("notification"), receiver)
    workload = Workload(system.url("inspection"))
    await workload.register()
    topics = ("inspection.submitted", "redflag.raised")
    markers: list[str] = []

    async def fault() -> None:
        while len(workload.acked) < 30:
            await asyncio.sleep(0.05)
        for topic in topics:
            markers.extend(await produce_poison(broker.bootstrap_servers, topic))

    await workload.run_until_done(during=asyncio.ensure_future(fault()))
    report = await check(broker.bootstrap_servers, workload, receiver, poison_ids=markers, poison_topics=topics)
    deadline = asyncio.get_running_loop().time() + 60
    while report.poison_unparked and asyncio.get_running_loop().time() < deadline:
        await asyncio.sleep(1)
        report = await check(broker.bootstrap_servers, workload, receiver, poison_ids=markers, poison_topics=topics)
    announce("poison: %s; not parked: %s", report.summary(), report.poison_unparked)
    report.assert_clean()
