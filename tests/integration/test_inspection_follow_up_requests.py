"""POST /follow-ups over the real database and broker, with exactly the request the health example sends:
scheduled once (201), idempotent on its Idempotency-Key (200), bad fields named (422)."""

from __future__ import annotations

import sys
import uuid
from pathlib import Path

import pytest

from inspection_settling import wait_until_settled
from pathways_contracts import decode
from pathways_runtime.auth import Role
from support import bearer, eventually, read_all

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "examples"))
from health_consumer.consumer import follow_up_request  # noqa: E402

pytestmark = pytest.mark.integration
LABOR = bearer(Role.INSPECTOR, "labor-standards")
HEALTH_DEPARTMENT = bearer(Role.DEPARTMENT, "health")
AGENCY = bearer(Role.AGENCY, "victim-services")


@pytest.fixture(scope="module", autouse=True)
async def downstream_settles_after_this_module(running):
    """This module's red flag reaches referral and notification before another module subscribes a webhook."""
    yield
    await wait_until_settled(running)


async def new_food_establishment(running) -> str:
    suffix = uuid.uuid4().hex[:10]
    response = await running.inspection.post("/establishments", headers=LABOR, json={
        "id": f"est-{suffix}", "license_number": f"LIC-{suffix}", "name": "Establishment " + suffix,
        "license_type": "food_establishment", "license_status": "active", "jurisdiction": "metro-county"})
    assert response.status_code == 201, response.text
    return f"est-{suffix}"


async def raised_red_flag(running, kafka: str, establishment_id: str):
    """A real red flag (a labor visit finds debt bondage and workers living on site), as the bus carries it."""
    response = await running.inspection.post("/inspections", headers=LABOR, json={
        "establishment_id": establishment_id, "program": "labor_standards_site_visit", "reason": "complaint",
        "inspected_on": "2026-11-02", "result": "fail", "indicator_codes": ["OPS-DEBT-BONDAGE", "VUL-LIVING-ON-SITE"]})
    assert response.json()["red_flag"]["status"] == "raised", response.text

    async def on_the_bus():
        events = [decode(r.headers, r.value) for r in await read_all(kafka, "redflag.raised")]
        return [e for e in events if e.data.establishment_id == establishment_id]

    return (await eventually(on_the_bus))[0]


async def ask(running, body: dict, key: str | None = None, headers: dict = HEALTH_DEPARTMENT):
    return await running.inspection.post("/follow-ups", json=body,
                                         headers=headers | ({"Idempotency-Key": key} if key else {}))


async def test_the_health_examples_request_schedules_one_follow_up_idempotently(running, infrastructure):
    est = await new_food_establishment(running)
    flag = await raised_red_flag(running, infrastructure.kafka, est)
    body = follow_up_request(flag.data)

    first = await ask(running, body, key=flag.id)
    assert first.status_code == 201, first.text
    scheduled = first.json()
    assert scheduled["program"] == "food_establishment", "the program of the establishment's license type"
    assert (scheduled["reason"], scheduled["due_on"], scheduled["created"]) == ("requested", body["due_on"], True)

    again = await ask(running, body, key=flag.id)
    assert again.status_code == 200 and again.json() | {"created": True} == scheduled, "same key, same follow-up"
    other_key = await ask(running, body, key=str(uuid.uuid4()))
    assert other_key.status_code == 200 and other_key.json()["scheduled_inspection_id"] == \
        scheduled["scheduled_inspection_id"], "one pending visit per establishment and program"

    follow_ups = (await running.inspection.get(f"/establishments/{est}", headers=LABOR)).json()["follow_ups"]
    assert sorted((f["program"], f["reason"]) for f in follow_ups) == [
        ("food_establishment", "requested"), ("labor_standards_site_visit", "red_flag")]

    async def announced():
        events = [decode(r.headers, r.value).data for r in await read_all(infrastructure.kafka, "inspection.scheduled")]
        return [e for e in events if e.establishment_id == est and e.reason == "requested"]

    [event] = await eventually(announced)
    assert str(event.scheduled_inspection_id) == scheduled["scheduled_inspection_id"]
    assert str(event.red_flag_id) == body["red_flag_id"]


async def test_bad_requests_name_their_fields_and_callers_are_checked(running):
    est = await new_food_establishment(running)
    good = {"establishment_id": est, "reason": "follow_up", "due_on": "2026-11-20", "requested_by": "health"}

    unknown = await ask(running, good | {"establishment_id": "est-nowhere"})
    assert unknown.status_code == 422 and unknown.json()["detail"][0]["loc"] == ["body", "establishment_id"]
    no_flag = await ask(running, good | {"red_flag_id": str(uuid.uuid4())})
    assert no_flag.status_code == 422 and no_flag.json()["detail"][0]["loc"] == ["body", "red_flag_id"]
    bad = await ask(running, {"establishment_id": est, "reason": "lunch", "due_on": "soon"})
    assert bad.status_code == 422
    assert {e["loc"][-1] for e in bad.json()["detail"]} == {"reason", "due_on", "requested_by"}

    assert (await running.inspection.post("/follow-ups", json=good)).status_code == 401
    assert (await ask(running, good, headers=AGENCY)).status_code == 403
    assert (await ask(running, good, headers=LABOR)).status_code == 201, "inspectors may ask too"
