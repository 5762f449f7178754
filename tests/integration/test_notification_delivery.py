"""The notification service over the real wire: events from the broker, deliveries to a real HTTP receiver
and a real SMTP server, signed, redacted, retried, parked, replayed, unsubscribed."""

from __future__ import annotations

import json
import re
import socket
import time
import uuid
from datetime import UTC, date, datetime
from email import message_from_bytes
from email.policy import default as default_policy
from pathlib import Path

import pytest
from aiokafka import AIOKafkaProducer
from aiosmtpd.controller import Controller

from pathways_contracts import CloudEvent, Event, encode
from pathways_contracts.events import InspectionCompleted, RedFlagRaised, VictimServiceEngaged
from pathways_notification.adapters.email import EmailSettings
from pathways_runtime.auth import Role
from support import WebhookReceiver, bearer, eventually, read_all

pytestmark = pytest.mark.integration
DOC = Path(__file__).resolve().parents[2] / "docs" / "webhooks.md"
OPS = bearer(Role.OPS, "ops")
DEPARTMENT = bearer(Role.DEPARTMENT, "city-police")
VULNERABILITY = ["VUL-LIVING-ON-SITE", "VUL-PHYSICAL-ABUSE"]
OPERATION = ["OPS-EXITS-BLOCKED", "SEX-LOCKED-DOORS"]


def _recipe() -> dict:
    """The verification code block of docs/webhooks.md, executed as written."""
    found = re.search(r"<!-- recipe:verify[^>]*-->\s*```python\n(.*?)```", DOC.read_text(), re.DOTALL)
    namespace: dict = {}
    exec(compile(found.group(1), str(DOC), "exec"), namespace)  # noqa: S102 (our own documentation)
    return namespace


@pytest.fixture
def fast_retries(running, monkeypatch):
    """Seconds, not minutes, between attempts; the worker reads the running service's settings on every decision."""
    settings = running.services["notification"].settings
    monkeypatch.setattr(settings, "delivery_base_seconds", 0.05)
    monkeypatch.setattr(settings, "delivery_cap_seconds", 0.3)
    monkeypatch.setattr(settings, "delivery_max_attempts", 200)
    return settings


@pytest.fixture
async def producer(infrastructure):
    kafka = AIOKafkaProducer(bootstrap_servers=infrastructure.kafka, enable_idempotence=False)
    await kafka.start()
    yield kafka
    await kafka.stop()


async def publish(producer: AIOKafkaProducer, data: Event) -> CloudEvent:
    event = CloudEvent(data, source="/tests/notification")
    key, value, headers = encode(event)
    # Every record on the bus carries a trace context (the platform tests check it): start one here.
    headers["traceparent"] = f"00-{uuid.uuid4().hex}-{uuid.uuid4().hex[:16]}-01"
    await producer.send_and_wait(event.type, value, key=key, headers=[(k, v.encode()) for k, v in headers.items()])
    return event


def inspection(jurisdiction: str, establishment: str, codes: list[str] | None = None) -> InspectionCompleted:
    return InspectionCompleted(inspection_id=uuid.uuid4(), establishment_id=establishment, jurisdiction=jurisdiction,
                               department="health", program="massage_establishment", reason="routine",
                               inspected_on=date(2026, 11, 2), result="conditional", indicator_codes=codes or [])


def red_flag(jurisdiction: str, level: str = "red_flag", codes: list[str] = VULNERABILITY + OPERATION) -> RedFlagRaised:
    return RedFlagRaised(red_flag_id=uuid.uuid4(), establishment_id=f"est-{uuid.uuid4().hex[:8]}",
                         jurisdiction=jurisdiction, level=level, score=7.5, categories=["sex"],
                         dimensions=["victim_vulnerability", "criminal_operation"], indicator_codes=codes,
                         contributing_inspection_ids=[uuid.uuid4()], departments=["health"], minor_indicated=True,
                         rules_version="v1", raised_at=datetime.now(UTC))


async def subscribe(running, *, event_types: list[str], role: str = "labor", **more) -> dict:
    # Operations subscribe the department with the role the test needs (a department's own token would
    # subscribe it with its granted role only).
    body = {"department": "city-police", "role": role, "event_types": event_types} | more
    response = await running.notification.post("/subscriptions", headers=OPS, json=body)
    assert response.status_code == 201, response.text
    return response.json()


async def deliveries(running, subscription_id: str, status: str | None = None) -> list[dict]:
    params = {"subscription_id": subscription_id} | ({"status": status} if status else {})
    response = await running.notification.get("/deliveries", headers=OPS, params=params)
    assert response.status_code == 200, response.text
    return response.json()


def unique_jurisdiction() -> str:
    return f"test-{uuid.uuid4().hex[:8]}"


async def received(receiver: WebhookReceiver, count: int) -> list | None:
    return list(receiver.received) if len(receiver.received) >= count else None


async def test_a_delivery_is_signed_verifiably_with_the_documented_recipe(running, producer, receiver):
    where = unique_jurisdiction()
    sub = await subscribe(running, event_types=["inspection.completed"], url=receiver.url + "/hooks",
                          jurisdictions=[where])
    event = await publish(producer, inspection(where, "est-signed"))

    [delivery] = await eventually(lambda: received(receiver, 1))
    recipe = _recipe()
    verify = recipe["verify"]
    delivery_id = verify(sub["secret"], delivery.headers, delivery.body)
    assert delivery.json()["id"] == event.id and delivery.json()["type"] == "inspection.completed"
    [row] = await deliveries(running, sub["id"], "delivered")
    assert row["id"] == delivery_id  # the webhook-id is the delivery id: the receiver's idempotency key
    with pytest.raises(recipe["InvalidSignature"]):
        verify(sub["secret"], delivery.headers, delivery.body + b" ")


async def test_filters_decide_which_events_become_deliveries(running, producer, receiver):
    where = unique_jurisdiction()
    sub = await subscribe(running, event_types=["redflag.raised"], url=receiver.url, jurisdictions=[where],
                          min_level="red_flag", categories=["sex"])
    wanted = await publish(producer, red_flag(where, "urgent"))
    await publish(producer, red_flag(where, "concern"))  # below min_level
    await publish(producer, red_flag(unique_jurisdiction(), "urgent"))  # another jurisdiction
    marker = await publish(producer, red_flag(where, "red_flag"))

    got = await eventually(lambda: received(receiver, 2))
    assert {d.json()["id"] for d in got} == {wanted.id, marker.id}
    assert len(await deliveries(running, sub["id"])) == 2


async def test_a_receiver_down_for_a_while_gets_every_message_once_back_in_order(running, producer, receiver,
                                                                                  fast_retries):
    where, case = unique_jurisdiction(), f"est-{uuid.uuid4().hex[:8]}"
    receiver.status = 503
    sub = await subscribe(running, event_types=["inspection.completed"], url=receiver.url, jurisdictions=[where])
    sent = [await publish(producer, inspection(where, case)) for _ in range(5)]

    async def retried_while_down():
        rows = await deliveries(running, sub["id"], "pending")
        return len(rows) == 5 and any(r["attempts"] >= 3 for r in rows)

    await eventually(retried_while_down)
    receiver.status = 204
    got = await eventually(lambda: received(receiver, 5))
    assert [d.json()["id"] for d in got] == [e.id for e in sent]  # each once, in the order of the case
    attempts = (await running.notification.get(f"/deliveries/{got[0].headers['webhook-id']}/attempts",
                                               headers=OPS)).json()
    assert [a["status_code"] for a in attempts][-1] == 204 and 503 in [a["status_code"] for a in attempts]
    assert all(a["latency_ms"] >= 0 and a["outcome"] for a in attempts)


async def test_a_dead_receivers_deliveries_are_parked_announced_and_replayed(running, producer, receiver,
                                                                             fast_retries, infrastructure):
    fast_retries.delivery_max_attempts = 2
    where = unique_jurisdiction()
    receiver.status = 503
    sub = await subscribe(running, event_types=["inspection.completed"], url=receiver.url, jurisdictions=[where])
    for _ in range(2):
        await publish(producer, inspection(where, f"est-{uuid.uuid4().hex[:8]}"))

    parked = await eventually(lambda: _exactly(deliveries(running, sub["id"], "parked"), 2))
    parked_ids = {d["id"] for d in parked}
    failed = await eventually(lambda: _failures_of(infrastructure.kafka, parked_ids))
    assert {json.loads(r.value)["delivery_id"] for r in failed} == parked_ids

    receiver.status = 204
    first, second = sorted(parked_ids)
    one = await running.notification.post(f"/deliveries/{first}/replay", headers=OPS)
    assert one.status_code == 200 and one.json()["replayed"] == [first]
    await eventually(lambda: received(receiver, 1))
    rest = await running.notification.post("/deliveries/replay", headers=OPS, params={"subscription_id": sub["id"]})
    assert rest.json()["replayed"] == [second]
    got = await eventually(lambda: received(receiver, 2))
    assert {d.headers["webhook-id"] for d in got} == parked_ids  # same ids: a receiver can drop duplicates
    again = await running.notification.post(f"/deliveries/{first}/replay", headers=OPS)
    assert again.status_code == 409


async def _exactly(rows_coroutine, count: int):
    rows = await rows_coroutine
    return rows if len(rows) == count else None


async def _failures_of(kafka: str, delivery_ids: set[str]):
    records = [r for r in await read_all(kafka, "notification.failed")
               if json.loads(r.value)["delivery_id"] in delivery_ids]
    return records if len(records) == len(delivery_ids) else None


async def test_a_slow_receiver_does_not_delay_another_subscription(running, producer):
    where = unique_jurisdiction()
    slow, fast = WebhookReceiver(delay=3.0), WebhookReceiver()
    try:
        await subscribe(running, event_types=["inspection.completed"], url=slow.url, jurisdictions=[where])
        await subscribe(running, event_types=["inspection.completed"], url=fast.url, jurisdictions=[where])
        started = time.monotonic()
        for _ in range(3):
            await publish(producer, inspection(where, f"est-{uuid.uuid4().hex[:8]}"))
        await eventually(lambda: received(fast, 3), interval=0.05)
        fast_took = time.monotonic() - started
        assert fast_took < 3.0, f"the fast receiver waited {fast_took:.1f}s"
        assert len(slow.received) <= 1  # the slow one is still working through its lane
        await eventually(lambda: received(slow, 3), timeout=30)
    finally:
        slow.close()
        fast.close()


async def test_a_subscriptions_deliveries_about_distinct_subjects_go_out_at_once_each_once(running, producer):
    """Issue 10: a lane sends a batch at once (the oldest delivery of each subject), not one at a time."""
    where, count = unique_jurisdiction(), 20
    receiver = WebhookReceiver(delay=0.2)
    try:
        sub = await subscribe(running, event_types=["inspection.completed"], url=receiver.url, jurisdictions=[where])
        sent = [await publish(producer, inspection(where, f"est-{uuid.uuid4().hex[:8]}")) for _ in range(count)]
        got = await eventually(lambda: received(receiver, count))
        assert receiver.most_in_flight >= 2, "the receiver only ever saw one request at a time"
        assert sorted(d.json()["id"] for d in got) == sorted(e.id for e in sent)  # each once

        rows = await eventually(lambda: _exactly(deliveries(running, sub["id"], "delivered"), count))
        assert len({r["id"] for r in rows}) == count and all(r["attempts"] == 1 for r in rows)
        for row in rows:
            attempts = (await running.notification.get(f"/deliveries/{row['id']}/attempts", headers=OPS)).json()
            assert [a["outcome"] for a in attempts] == ["delivered"]
        assert len(receiver.received) == count  # nothing sent twice
    finally:
        receiver.close()


async def test_a_receiver_answering_410_unsubscribes_itself(running, producer, receiver):
    where = unique_jurisdiction()
    receiver.status = 410
    sub = await subscribe(running, event_types=["inspection.completed"], url=receiver.url, jurisdictions=[where])
    for _ in range(3):
        await publish(producer, inspection(where, "est-gone"))

    async def deactivated():
        found = (await running.notification.get(f"/subscriptions/{sub['id']}", headers=OPS)).json()
        return found if not found["active"] else None

    await eventually(deactivated)
    assert await deliveries(running, sub["id"], "pending") == []
    assert await deliveries(running, sub["id"], "cancelled")
    await publish(producer, inspection(where, "est-gone"))
    await publish(producer, inspection(where, "est-gone"))
    assert await deliveries(running, sub["id"], "pending") == []


async def test_police_never_receive_victim_vulnerability_codes(running, producer, receiver):
    where = unique_jurisdiction()
    await subscribe(running, role="police", event_types=["redflag.raised", "victim_service.engaged"],
                    url=receiver.url, jurisdictions=[where])
    event = await publish(producer, red_flag(where))
    await publish(producer, VictimServiceEngaged(referral_id=uuid.uuid4(), case_id=uuid.uuid4(),
                                                 agency_id="riverbend-survivor-advocacy",
                                                 engaged_at=datetime.now(UTC)))

    [delivery] = await eventually(lambda: received(receiver, 1))
    data = delivery.json()["data"]
    assert delivery.json()["id"] == event.id
    assert sorted(data["indicator_codes"]) == sorted(OPERATION)
    assert data["dimensions"] == ["criminal_operation"]
    assert not any(code in delivery.body.decode() for code in VULNERABILITY)
    assert "minor_indicated" not in data and "score" not in data


async def test_email_delivery_arrives_at_the_smtp_server_redacted(running, producer, monkeypatch):
    inbox, port = [], _free_port()

    class Handler:
        async def handle_DATA(self, server, session, envelope):
            inbox.append(message_from_bytes(envelope.content, policy=default_policy))
            return "250 Message accepted"

    controller = Controller(Handler(), hostname="127.0.0.1", port=port)
    controller.start()
    monkeypatch.setattr(running.services["notification"].settings, "email", EmailSettings(
        host="127.0.0.1", port=port, starttls=False, sender="pathways@city.example"))
    try:
        where = unique_jurisdiction()
        sub = await subscribe(running, role="police", channel="email", email="intake@police.city.example",
                              event_types=["redflag.raised"], jurisdictions=[where])
        assert sub["secret"] is None
        event = await publish(producer, red_flag(where))

        [message] = await eventually(lambda: _some(inbox))
        assert message["To"] == "intake@police.city.example"
        # the worker records the delivery after the SMTP server has answered: a moment after the inbox has it
        [row] = await eventually(lambda: deliveries(running, sub["id"], "delivered"))
        assert message["Pathways-Delivery-Id"] == row["id"]
        body = json.loads(message.get_content())
        assert body["id"] == event.id and sorted(body["data"]["indicator_codes"]) == sorted(OPERATION)
        assert not any(code in message.get_content() for code in VULNERABILITY)
    finally:
        controller.stop()


async def _some(items: list):
    return list(items) if items else None


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.mark.parametrize("url", ["http://example.org/hook", "ftp://127.0.0.1/x", "http://10.0.0.5/hook"])
async def test_a_webhook_url_must_be_https_unless_local(running, url):
    response = await running.notification.post("/subscriptions", headers=DEPARTMENT, json={
        "department": "city-police", "role": "police", "event_types": ["case.opened"], "url": url})
    assert response.status_code == 422
    assert ["body", "url"] in [e["loc"] for e in response.json()["detail"]]


@pytest.mark.parametrize("url", ["https://hooks.city.example/p", "http://localhost:8080/p", "http://127.0.0.1/p"])
async def test_https_and_local_http_urls_are_accepted(running, url):
    await subscribe(running, role="police", event_types=["case.opened"], url=url, jurisdictions=["nowhere"])
