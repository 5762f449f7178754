"""A webhook as a department's receiver sees it: a structured-mode CloudEvent, read by the official SDK."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest
from aiokafka import AIOKafkaProducer
from cloudevents.core.bindings.http import HTTPMessage, from_http_event

from pathways_contracts import CloudEvent, encode
from pathways_contracts.events import RedFlagRaised
from pathways_runtime.auth import Role
from support import bearer, eventually

pytestmark = pytest.mark.integration
OPS = bearer(Role.OPS, "ops")


async def test_a_webhook_is_a_structured_cloudevent_the_official_sdk_parses(running, infrastructure, receiver):
    where = f"test-{uuid.uuid4().hex[:8]}"
    sub = await running.notification.post("/subscriptions", headers=OPS, json={
        "department": "city-police", "role": "police", "event_types": ["redflag.raised"], "url": receiver.url,
        "jurisdictions": [where]})
    assert sub.status_code == 201, sub.text
    flag = RedFlagRaised(red_flag_id=uuid.uuid4(), establishment_id=f"est-{uuid.uuid4().hex[:8]}", jurisdiction=where,
                         level="urgent", score=8.0, categories=["sex"], dimensions=["criminal_operation"],
                         indicator_codes=["OPS-EXITS-BLOCKED"], contributing_inspection_ids=[uuid.uuid4()],
                         departments=["health"], minor_indicated=True, rules_version="v1", raised_at=datetime.now(UTC))
    sent = CloudEvent(flag, source="/tests/inspection")
    producer = AIOKafkaProducer(bootstrap_servers=infrastructure.kafka, enable_idempotence=False)
    await producer.start()
    try:
        key, value, headers = encode(sent)
        headers["traceparent"] = f"00-{uuid.uuid4().hex}-{uuid.uuid4().hex[:16]}-01"
        await producer.send_and_wait(sent.type, value, key=key,
                                     headers=[(k, v.encode()) for k, v in headers.items()])
    finally:
        await producer.stop()

    async def arrived():
        return [r for r in receiver.received if r.json().get("id") == sent.id]

    [delivery] = await eventually(arrived)
    headers = {name.lower(): value for name, value in delivery.headers.items()}
    assert headers["content-type"] == "application/cloudevents+json"
    assert {"webhook-id", "webhook-timestamp", "webhook-signature"} <= set(headers)
    event = from_http_event(HTTPMessage(headers=delivery.headers, body=delivery.body))
    assert (event.get_specversion(), event.get_id(), event.get_type(), event.get_source(), event.get_subject()) == (
        "1.0", sent.id, "redflag.raised", "/tests/inspection", flag.establishment_id)
    assert event.get_time() == sent.time and event.get_datacontenttype() == "application/json"
    data = event.get_data()
    assert data["red_flag_id"] == str(flag.red_flag_id) and data["level"] == "urgent"
    assert "minor_indicated" not in data and "score" not in data  # redacted for the police role
