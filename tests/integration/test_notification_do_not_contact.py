"""'Do not contact' over the real broker and PostgreSQL: a person flagged on a case, linked through the
referral API, stops every notification about that case (case.contact_restricted, no person data on the
bus), cancels what was waiting, and notifications about other cases go on."""

from __future__ import annotations

import uuid

import asyncpg
import pytest

from pathways_contracts import decode
from pathways_runtime.auth import Role
from referral_scenarios import TRIAGE, case_of, events_of, publish, red_flag
from support import WebhookReceiver, bearer, eventually, read_all, read_by_group

pytestmark = pytest.mark.integration
DEPARTMENT = bearer(Role.DEPARTMENT, "labor-standards")
OPS = bearer(Role.OPS, "ops")
NOTIFICATION_GROUP = "notification"  # its one consumer of every subscribable event
DECISION = {"approaches": ["labor_standards_enforcement"], "roles_present": ["labor", "advocate"],
            "rationale": "Wage theft reported by two departments."}


@pytest.fixture
async def notification_db(infrastructure):
    conn = await asyncpg.connect(infrastructure.database_url)
    yield conn
    await conn.close()


async def open_case(running) -> str:
    flag = red_flag(["labor"])
    await publish(running, flag)
    return (await case_of(running, flag.establishment_id))["id"]


async def link_person(running, case_id: str, *, do_not_contact: bool) -> str:
    person = {"name": "Ana Testperson", "language": "es", "do_not_contact": do_not_contact}
    added = await running.referral.post(f"/cases/{case_id}/people", headers=TRIAGE, json=person)
    assert added.status_code == 201, added.text
    return added.json()["person_id"]


async def subscribe_to_triage(running, url: str) -> dict:
    body = {"department": "labor-standards", "role": "labor", "event_types": ["case.triaged"], "url": url}
    response = await running.notification.post("/subscriptions", headers=DEPARTMENT, json=body)
    assert response.status_code == 201, response.text
    return response.json()


async def triage(running, case_id: str) -> None:
    response = await running.referral.post(f"/cases/{case_id}/triage", headers=TRIAGE, json=DECISION)
    assert response.status_code == 200, response.text


async def restriction_recorded(conn: asyncpg.Connection, case_id: str, restricted: bool) -> bool:
    """The notification service has read the case's case.contact_restricted (the bus is asynchronous)."""
    return await conn.fetchval("select restricted = $2 from notification.restricted_cases where case_id = $1",
                               uuid.UUID(case_id), restricted) is True


async def triaged_event_handled(conn: asyncpg.Connection, kafka: str, case_id: str) -> bool:
    """Every case.triaged of the case has been read by the notification service, whatever it decided."""
    events = [decode(r.headers, r.value, expected_type="case.triaged") for r in await read_all(kafka, "case.triaged")]
    ids = [e.id for e in events if str(e.data.case_id) == case_id]
    return await read_by_group(kafka, NOTIFICATION_GROUP, "case.triaged", ids)


def cases_received(receiver: WebhookReceiver) -> list[str]:
    return [d.json()["data"]["case_id"] for d in receiver.received]


async def received_all(receiver: WebhookReceiver, *case_ids: str) -> bool:
    return set(case_ids) <= set(cases_received(receiver))


async def test_a_case_with_a_do_not_contact_person_notifies_nothing_while_others_do(
        running, infrastructure, receiver, notification_db):
    await subscribe_to_triage(running, receiver.url)
    restricted, other, unflagged = [await open_case(running) for _ in range(3)]
    person = await link_person(running, restricted, do_not_contact=True)
    await link_person(running, unflagged, do_not_contact=False)
    await eventually(lambda: restriction_recorded(notification_db, restricted, True))

    for case_id in (restricted, other, unflagged):
        await triage(running, case_id)
    await eventually(lambda: received_all(receiver, other, unflagged))
    await eventually(lambda: triaged_event_handled(notification_db, infrastructure.kafka, restricted))
    assert restricted not in cases_received(receiver), "a do-not-contact case was notified"
    deliveries = (await running.notification.get("/deliveries", headers=OPS)).json()
    assert restricted not in {d["subject"] for d in deliveries}, "no delivery is even recorded"

    announced = await events_of(infrastructure.kafka, "case.contact_restricted", case_id=restricted)
    assert [e["restricted"] for e in announced] == [True], "announced once, when the case's flag flipped"
    assert set(announced[0]) == {"case_id", "establishment_id", "restricted", "changed_at"}
    assert not await events_of(infrastructure.kafka, "case.contact_restricted", case_id=unflagged)

    # Clearing the flag lifts the restriction: notifications about the case resume.
    cleared = await running.referral.put(f"/people/{person}/do-not-contact", headers=TRIAGE,
                                         json={"do_not_contact": False})
    assert cleared.status_code == 200, cleared.text
    await eventually(lambda: restriction_recorded(notification_db, restricted, False))
    await triage(running, restricted)
    await eventually(lambda: received_all(receiver, restricted))


async def test_a_restriction_cancels_what_was_still_waiting_for_a_down_receiver(
        running, infrastructure, receiver, notification_db, monkeypatch):
    settings = running.services["notification"].settings
    monkeypatch.setattr(settings, "delivery_base_seconds", 0.05)
    monkeypatch.setattr(settings, "delivery_cap_seconds", 0.3)
    monkeypatch.setattr(settings, "delivery_max_attempts", 200)
    receiver.status = 503
    sub = await subscribe_to_triage(running, receiver.url)
    case_id = await open_case(running)
    await triage(running, case_id)

    async def waiting(status: str):
        rows = (await running.notification.get("/deliveries", headers=OPS,
                                               params={"subscription_id": sub["id"], "status": status})).json()
        return [r for r in rows if r["subject"] == case_id]

    await eventually(lambda: waiting("pending"))
    await link_person(running, case_id, do_not_contact=True)
    await eventually(lambda: waiting("cancelled"))

    receiver.status = 204
    control = await open_case(running)
    await triage(running, control)
    await eventually(lambda: received_all(receiver, control))
    assert case_id not in cases_received(receiver)
