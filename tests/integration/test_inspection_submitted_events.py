"""Inspections sent as `inspection.submitted` events: recorded like HTTP ones; bad ones parked with the reason."""

from __future__ import annotations

import json
import uuid

import pytest
from aiokafka import AIOKafkaProducer

from inspection_settling import wait_until_settled
from pathways_contracts import CloudEvent, encode
from pathways_contracts.events import InspectionSubmitted
from pathways_runtime.auth import Role
from support import bearer, eventually, read_all

pytestmark = pytest.mark.integration
HEALTH = bearer(Role.INSPECTOR, "health-department")


@pytest.fixture(scope="module", autouse=True)
async def downstream_settles_after_this_module(running):
    yield
    await wait_until_settled(running)


async def submit(kafka: str, submission: InspectionSubmitted) -> None:
    key, value, headers = encode(CloudEvent(data=submission, source="/departments/labor-standards/case-system"))
    producer = AIOKafkaProducer(bootstrap_servers=kafka)
    await producer.start()
    try:
        await producer.send_and_wait(submission.event_type, value, key=key,
                                     headers=[(k, v.encode()) for k, v in headers.items()])
    finally:
        await producer.stop()


def submission(establishment_id: str, codes: list[str]) -> InspectionSubmitted:
    return InspectionSubmitted(inspection_id=uuid.uuid4(), establishment_id=establishment_id,
                               department="labor-standards", source_system="labor-case-system",
                               program="labor_standards_site_visit", reason="complaint", inspected_on="2026-11-02",
                               result="conditional", indicator_codes=codes)


async def test_a_submitted_inspection_is_recorded_and_a_bad_one_is_parked_with_the_reason(running, infrastructure):
    suffix = uuid.uuid4().hex[:10]
    establishment = {"id": f"est-{suffix}", "license_number": f"LIC-{suffix}", "name": "Noodle House",
                     "license_type": "food_establishment", "license_status": "active", "area": "Ward 2",
                     "jurisdiction": "metro-county"}
    assert (await running.inspection.post("/establishments", headers=HEALTH, json=establishment)).status_code == 201

    good = submission(establishment["id"], ["LAB-WAGE-THEFT"])
    bad = submission(establishment["id"], ["LAB-WAGE-THEFT", "NOT-A-CODE"])
    await submit(infrastructure.kafka, good)
    await submit(infrastructure.kafka, bad)
    await submit(infrastructure.kafka, good)  # resent under a new event id: recorded once

    async def completed():
        records = await read_all(infrastructure.kafka, "inspection.completed")
        return [json.loads(r.value) for r in records if r.key == establishment["id"].encode()]

    recorded = await eventually(completed)
    assert [e["inspection_id"] for e in recorded] == [str(good.inspection_id)]
    assert recorded[0]["department"] == "labor-standards"

    async def parked():
        records = await read_all(infrastructure.kafka, "inspection.submitted.dlq")
        return [r for r in records if json.loads(r.value)["inspection_id"] == str(bad.inspection_id)]

    dead = (await eventually(parked))[0]
    assert "indicator_codes.1" in dead.headers["dlq_reason"] and "NOT-A-CODE" in dead.headers["dlq_reason"]
    assert dead.headers["dlq_reason"].startswith("unprocessable:")
    assert dead.headers["dlq_attempts"] == "1"  # parked at once: retrying cannot fix a bad submission
    await eventually(lambda: _settled_resubmission(running, establishment["id"]))


async def _settled_resubmission(running, establishment_id: str) -> bool:
    pool = running.services["inspection"].pool
    count = await pool.fetchval("select count(*) from inspection.inspections where establishment_id = $1",
                                establishment_id)
    handled = await pool.fetchval("select count(*) from inspection.inbox where event_type = 'inspection.submitted'")
    return count == 1 and handled >= 2
