"""The system as `make run` runs it: three service processes over HTTP, Kafka and PostgreSQL.

An inspection recorded over HTTP becomes a red flag, a case, a referral and a
signed webhook delivery to a department's real HTTP receiver, and the whole
path is one trace across the three processes.
"""

from __future__ import annotations

import json
import os
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import asyncpg
import httpx
import jsonschema
import pytest
from confluent_kafka import OFFSET_BEGINNING, Consumer, TopicPartition

from pathways_cli import stack
from pathways_runtime import operations as ops
from pathways_contracts import TOPICS, decode
from pathways_runtime.auth import Role
from pathways_runtime.broker import ensure_topics
from pathways_runtime.embedded import EmbeddedApacheKafka, EmbeddedKafka, free_port
from pathways_runtime.settings import Settings
from processes import fresh_database
from support import WebhookReceiver, bearer, eventually, own_broker, read_all

pytestmark = pytest.mark.e2e
SCHEMAS = Path(__file__).parents[2] / "contracts" / "schemas"


@dataclass
class System:
    urls: dict[str, str]
    trace_dir: Path
    kafka: EmbeddedKafka | EmbeddedApacheKafka
    database_url: str


@pytest.fixture(scope="module")
async def system(infrastructure, tmp_path_factory) -> Iterator[System]:
    # A broker and a database of its own, so the in-process services of the integration tests
    # (same consumer group names) cannot take its events.
    state = tmp_path_factory.mktemp("e2e")
    with own_broker(state) as kafka:
        database_url = await fresh_database(infrastructure.database_url, "pathways_e2e")
        await ensure_topics(Settings(KAFKA_BOOTSTRAP_SERVERS=kafka.bootstrap_servers))
        env = dict(os.environ) | {
            "KAFKA_BOOTSTRAP_SERVERS": kafka.bootstrap_servers, "DATABASE_URL": database_url,
            "PATHWAYS_TRACE_DIR": str(state / "traces"), "INSPECTION_PORT": str(free_port()),
            "REFERRAL_PORT": str(free_port()), "NOTIFICATION_PORT": str(free_port()),
            "INSIGHTS_PORT": str(free_port())}
        started = stack.start_services(env, state)
        try:
            stack.wait_ready(started, timeout=120)
            yield System({svc.name: svc.url for svc, _ in started}, state / "traces", kafka, database_url)
        finally:
            stack.stop_services(started)


async def test_an_inspection_reaches_a_department_webhook_in_one_trace(system):
    inspector, labor = bearer(Role.INSPECTOR, "health-department"), bearer(Role.INSPECTOR, "labor-standards")
    receiver = WebhookReceiver()
    est = f"est-{uuid.uuid4().hex[:8]}"
    try:
        async with httpx.AsyncClient(timeout=10) as http:
            sub = await http.post(f"{system.urls['notification']}/subscriptions",
                                  headers=bearer(Role.DEPARTMENT, "labor-standards"),
                                  json={"department": "labor-standards", "role": "labor",
                                        "event_types": ["case.opened"], "url": receiver.url + "/pathways"})
            assert sub.status_code == 201, sub.text
            registered = await http.post(f"{system.urls['inspection']}/establishments", headers=inspector, json={
                "id": est, "license_number": f"LIC-{est}", "name": "Harbor Nail Salon", "license_type": "food",
                "license_status": "active", "area": "Ward 5", "jurisdiction": "metro-county"})
            assert registered.status_code == 201, registered.text
            for token, program, code in ((inspector, "food_establishment", "VUL-LIVING-ON-SITE"),
                                         (labor, "labor_standards_site_visit", "LAB-WAGE-THEFT")):
                recorded = await http.post(f"{system.urls['inspection']}/inspections", headers=token, json={
                    "establishment_id": est, "program": program, "reason": "routine",
                    "inspected_on": "2026-11-03", "result": "conditional", "indicator_codes": [code]})
                assert recorded.status_code == 201, recorded.text

        async def delivered():
            return [r for r in receiver.received if r.json()["data"]["establishment_id"] == est]

        delivery = (await eventually(delivered, timeout=60))[0]
    finally:
        receiver.close()

    trace_id = delivery.headers["traceparent"].split("-")[1]

    async def services_in_trace():
        spans = [s for s in ops.load_spans(system.trace_dir) if s["trace_id"] == trace_id]
        names = {s["service"] for s in spans}
        return spans if {"inspection", "referral", "notification"} <= names else None

    spans = await eventually(services_in_trace, timeout=30)
    assert ops.find_traces(spans, est) == [trace_id]  # `pathways trace <establishment>` finds it
    assert any(s["name"].startswith("POST /inspections") for s in spans)


async def _unpublished(system: System, schema: str) -> int:
    conn = await asyncpg.connect(system.database_url)
    try:
        return await conn.fetchval(f"select count(*) from {schema}.outbox")
    finally:
        await conn.close()


def read_with_librdkafka(bootstrap: str, topic: str) -> list:
    """Every record of a topic through librdkafka (confluent-kafka), a client independent of ours."""
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": "e2e-wire-check",
                         "enable.auto.commit": False})
    try:
        partitions = consumer.list_topics(topic, timeout=10).topics[topic].partitions
        ends = {p: consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=10)[1] for p in partitions}
        consumer.assign([TopicPartition(topic, p, OFFSET_BEGINNING) for p in partitions])
        records, deadline = [], time.monotonic() + 30
        while sum(ends.values()) > len(records) and time.monotonic() < deadline:
            message = consumer.poll(0.5)
            if message is not None and not message.error():
                records.append(message)
        assert len(records) == sum(ends.values()), f"read {len(records)} of {sum(ends.values())} on {topic}"
        return records
    finally:
        consumer.close()


async def test_every_message_on_every_topic_is_a_valid_cloudevent(system):
    """After the flow above: every record the system wrote, read with librdkafka, is a binary-mode
    CloudEvent whose value validates against the committed JSON Schema of its topic."""
    seen = 0
    for spec in TOPICS:
        records = read_with_librdkafka(system.kafka.bootstrap_servers, spec.name)
        if spec.name.endswith(".dlq"):
            assert records == [], f"{spec.name} holds dead letters: the system parked its own events"
            continue
        schema = json.loads((SCHEMAS / f"{spec.name}.json").read_text())
        for record in records:
            headers = {k: v.decode() for k, v in record.headers()}
            event = decode(record.headers(), record.value(), expected_type=spec.name)
            assert headers["ce_specversion"] == "1.0" and headers["content-type"] == "application/json"
            assert headers["ce_dataschema"] == type(event.data).dataschema()
            assert record.key() == event.subject.encode()
            assert headers["traceparent"].startswith("00-")
            jsonschema.validate(json.loads(record.value()), schema)
            seen += 1
    assert seen >= 5  # inspection.completed x2, redflag.raised, case.opened, referral.created, ...


async def test_an_inspection_posted_while_the_broker_is_down_is_published_when_it_returns(system):
    """The broker process is stopped (SIGSTOP) while an inspector records an inspection, then continued.

    (Stopping and restarting the embedded broker would empty its in-memory topics; on Apache Kafka
    the topics outlive the restart, which is what pausing the process reproduces.)"""
    est = f"est-{uuid.uuid4().hex[:8]}"
    inspector = bearer(Role.INSPECTOR, "health-department")
    async with httpx.AsyncClient(timeout=10) as http:
        assert (await http.post(f"{system.urls['inspection']}/establishments", headers=inspector, json={
            "id": est, "license_number": f"LIC-{est}", "name": "Sunrise Spa", "license_type": "massage",
            "license_status": "active", "jurisdiction": "metro-county"})).status_code == 201
        system.kafka.pause()
        try:
            recorded = await http.post(f"{system.urls['inspection']}/inspections", headers=inspector, json={
                "establishment_id": est, "program": "massage_establishment", "reason": "routine",
                "inspected_on": "2026-11-04", "result": "pass", "indicator_codes": []})
            assert recorded.status_code == 201, recorded.text  # the broker's outage is not the inspector's
            assert await _unpublished(system, "inspection") >= 1
        finally:
            system.kafka.resume()
    inspection_id = recorded.json()["inspection_id"]

    async def published():
        records = await read_all(system.kafka.bootstrap_servers, "inspection.completed")
        return [r for r in records if json.loads(r.value)["inspection_id"] == inspection_id]

    assert len(await eventually(published, timeout=60)) == 1
