"""Holes found from outside (issue 14), over the real API, broker and PostgreSQL: who a subscription is for,
where a webhook may go, and lists that page."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta


import pytest
from aiokafka import AIOKafkaProducer

from pathways_contracts import CloudEvent, encode
from pathways_contracts.events import InspectionCompleted, ReferralAccepted, ReferralCreated
from pathways_notification.domain.destinations import AddressPolicy
from pathways_runtime.auth import Role
from support import bearer, eventually, read_by_group

pytestmark = pytest.mark.integration
OPS = bearer(Role.OPS, "ops")
HEALTH = bearer(Role.DEPARTMENT, "health-department")
POLICE = bearer(Role.DEPARTMENT, "police-department")


@pytest.fixture
async def producer(infrastructure):
    kafka = AIOKafkaProducer(bootstrap_servers=infrastructure.kafka, enable_idempotence=False)
    await kafka.start()
    yield kafka
    await kafka.stop()


async def publish_inspection(producer, jurisdiction: str) -> CloudEvent:
    return await publish(producer, InspectionCompleted(
        inspection_id=uuid.uuid4(), establishment_id=f"est-{uuid.uuid4().hex[:8]}", jurisdiction=jurisdiction,
        department="health", program="massage_establishment", reason="routine", inspected_on=date(2026, 11, 2),
        result="conditional", indicator_codes=[]))


async def publish(producer, data) -> CloudEvent:
    event = CloudEvent(data, source="/tests/notification")
    key, value, headers = encode(event)
    headers["traceparent"] = f"00-{uuid.uuid4().hex}-{uuid.uuid4().hex[:16]}-01"
    await producer.send_and_wait(event.type, value, key=key, headers=[(k, v.encode()) for k, v in headers.items()])
    return event


def body(**more) -> dict:
    return {"event_types": ["inspection.completed"], "url": "https://hooks.dept.example/p",
            "jurisdictions": ["nowhere"]} | more


# --- item 5: role and department come from the token --------------------------------------------------

@pytest.mark.parametrize("asked", [{"department": "police-department", "role": "police"}, {"role": "ops"},
                                   {"role": "victim_services"}, {"department": "health-department", "role": "ops"}])
async def test_a_department_token_cannot_subscribe_as_another_department_or_role(running, asked):
    response = await running.notification.post("/subscriptions", headers=HEALTH, json=body(**asked))
    assert response.status_code == 403, response.text


async def test_a_department_subscribes_as_its_org_with_its_granted_role(running):
    response = await running.notification.post("/subscriptions", headers=POLICE, json=body())
    assert response.status_code == 201, response.text
    found = (await running.notification.get(f"/subscriptions/{response.json()['id']}", headers=OPS)).json()
    assert (found["department"], found["role"]) == ("police-department", "police")


async def test_an_org_without_a_grant_is_refused_and_operations_must_name_department_and_role(running):
    stranger = bearer(Role.DEPARTMENT, "some-other-org")
    assert (await running.notification.post("/subscriptions", headers=stranger, json=body())).status_code == 403
    response = await running.notification.post("/subscriptions", headers=OPS, json=body())
    assert response.status_code == 422
    assert {tuple(e["loc"]) for e in response.json()["detail"]} == {("body", "department"), ("body", "role")}


# --- item 7: where a webhook may go -------------------------------------------------------------------

@pytest.mark.parametrize("url", ["http://127.0.0.1:8002/agencies", "https://169.254.169.254/latest/meta-data",
                                 "https://10.0.0.5/hook", "https://192.168.1.1/hook", "https://[fd00:ec2::254]/",
                                 "https://0.0.0.0/hook"])
async def test_internal_webhook_urls_are_refused_naming_url(running, url):
    # This session allows loopback (its receivers listen here), yet a Pathways service's port and every
    # other internal address stay refused.
    response = await running.notification.post("/subscriptions", headers=POLICE, json=body(url=url))
    assert response.status_code == 422, response.text
    assert ["body", "url"] in [e["loc"] for e in response.json()["detail"]]


async def test_the_address_is_checked_again_before_each_attempt(running, producer, receiver, monkeypatch):
    where = f"test-{uuid.uuid4().hex[:8]}"
    sub = (await running.notification.post("/subscriptions", headers=POLICE,
                                           json=body(url=receiver.url, jurisdictions=[where]))).json()
    # The operator withdraws the allowance (as if the host now resolved inside): nothing more is sent there.
    monkeypatch.setattr(running.services["notification"], "address_policy", AddressPolicy())
    await publish_inspection(producer, where)

    async def refused_attempt():
        rows = (await running.notification.get("/deliveries", headers=OPS,
                                               params={"subscription_id": sub["id"]})).json()
        if not rows:
            return None
        attempts = (await running.notification.get(f"/deliveries/{rows[0]['id']}/attempts", headers=OPS)).json()
        return attempts or None

    [first, *_] = await eventually(refused_attempt)
    assert first["status_code"] is None and "not sent" in first["error"] and "loopback" in first["error"]
    assert receiver.received == []


# --- pagination ---------------------------------------------------------------------------------------

async def test_deliveries_are_listed_a_page_at_a_time_with_a_next_link(running, producer, receiver):
    where = f"test-{uuid.uuid4().hex[:8]}"
    sub = (await running.notification.post("/subscriptions", headers=POLICE,
                                           json=body(url=receiver.url, jurisdictions=[where]))).json()
    for _ in range(5):
        await publish_inspection(producer, where)

    async def all_recorded():
        rows = (await running.notification.get("/deliveries", headers=OPS,
                                               params={"subscription_id": sub["id"]})).json()
        return rows if len(rows) == 5 else None

    everything = await eventually(all_recorded)
    pages, url, params = [], "/deliveries", {"subscription_id": sub["id"], "limit": 2}
    while url:
        response = await running.notification.get(url, headers=POLICE, params=params)
        assert response.status_code == 200
        pages.append([row["id"] for row in response.json()])
        url, params = response.links.get("next", {}).get("url"), None
    assert [len(p) for p in pages] == [2, 2, 1]
    assert [i for page in pages for i in page] == [row["id"] for row in everything]  # newest first, each once
    too_big = await running.notification.get("/deliveries", headers=OPS, params={"limit": 100_000})
    assert too_big.status_code == 422


async def test_the_delivery_worker_beats_a_heartbeat_that_readiness_watches(running):
    service = running.services["notification"]
    assert "deliver" in service.heartbeats  # expected every delivery_stall_seconds by the runtime's /readyz
    response = await running.notification.get("/readyz")
    assert response.status_code == 200 and "deliver" not in response.json()["overdue"]


# --- item 10: the police receive nothing about engagement with services ---------------------------------

async def test_police_receive_no_referral_naming_a_victim_service_agency(running, producer, receiver,
                                                                         infrastructure):
    # No filter: referral.accepted carries no jurisdiction, and a filter would hide the defect.
    sub = (await running.notification.post("/subscriptions", headers=POLICE, json=body(
        event_types=["referral.created", "referral.accepted"], url=receiver.url, jurisdictions=[]))).json()
    referral, case, now = uuid.uuid4(), uuid.uuid4(), datetime.now(UTC)
    agency = "riverbend-survivor-advocacy"
    events = [await publish(producer, ReferralCreated(
        referral_id=referral, case_id=case, agency_id=agency, establishment_id="est-x", jurisdiction="metro-county",
        service="victim_services", level="urgent", rule_id="r1", policy_version="v1", due_by=now + timedelta(days=1),
        created_at=now)),
        await publish(producer, ReferralAccepted(referral_id=referral, case_id=case, agency_id=agency,
                                                 accepted_at=now))]

    # The notification service has read both (its one consumer of every subscribable event), whatever it decided.
    for event in events:
        await eventually(lambda: read_by_group(infrastructure.kafka, "notification", event.type, [event.id]))
    rows = (await running.notification.get("/deliveries", headers=OPS, params={"subscription_id": sub["id"]})).json()
    assert rows == [], "a police subscription got a referral delivery"
    assert agency not in str([r.body for r in receiver.received])


async def test_a_deliveries_cursor_past_the_largest_sequence_is_a_422_naming_it(running):
    # Found by the API fuzzing: a cursor beyond a bigint reached the database and came back as a 500.
    response = await running.notification.get("/deliveries", headers=OPS, params={"cursor": 2**64})
    assert response.status_code == 422
    assert "cursor" in response.text
