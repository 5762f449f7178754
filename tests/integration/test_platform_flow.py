"""The whole path over the real wire: inspection → red flag → case → referral → webhook delivery."""

from __future__ import annotations

import uuid

import pytest

from pathways_runtime.auth import Role
from support import WebhookReceiver, bearer, eventually

pytestmark = pytest.mark.integration
INSPECTOR = bearer(Role.INSPECTOR, "health-department")
LABOR_INSPECTOR = bearer(Role.INSPECTOR, "labor-standards")
TRIAGE = bearer(Role.TRIAGE, "mdt")
DEPARTMENT = bearer(Role.DEPARTMENT, "labor-standards")


def establishment(suffix: str) -> dict:
    return {"id": f"est-{suffix}", "license_number": f"LIC-{suffix}", "name": "Golden Spa",
            "license_type": "massage", "license_status": "active", "address": "1 Main St", "area": "Ward 3",
            "jurisdiction": "metro-county"}


def inspection(establishment_id: str, codes: list[str], program: str = "massage_establishment") -> dict:
    return {"establishment_id": establishment_id, "program": program, "reason": "routine",
            "inspected_on": "2026-11-02", "result": "conditional", "indicator_codes": codes}


async def test_inspections_from_two_departments_reach_a_department_webhook(running, infrastructure):
    receiver = WebhookReceiver()
    try:
        sub = await running.notification.post("/subscriptions", headers=DEPARTMENT, json={
            "department": "labor-standards", "role": "labor", "event_types": ["case.opened"],
            "url": receiver.url + "/hooks/pathways"})
        assert sub.status_code == 201, sub.text
        est = establishment(uuid.uuid4().hex[:8])
        assert (await running.inspection.post("/establishments", headers=INSPECTOR, json=est)).status_code == 201

        first = await running.inspection.post("/inspections", headers=INSPECTOR,
                                              json=inspection(est["id"], ["VUL-LIVING-ON-SITE"], "food_establishment"))
        assert first.status_code == 201, first.text
        assert first.json()["red_flag"] is None  # one department's single indicator is not enough
        second = await running.inspection.post("/inspections", headers=LABOR_INSPECTOR,
                                               json=inspection(est["id"], ["LAB-WAGE-THEFT"],
                                                               "labor_standards_site_visit"))
        red_flag = second.json()["red_flag"]
        assert red_flag["status"] == "raised"

        async def case_with_referral():
            cases = (await running.referral.get("/cases", params={"establishment_id": est["id"]},
                                                headers=TRIAGE)).json()
            if not cases:
                return None
            case = (await running.referral.get(f"/cases/{cases[0]['id']}", headers=TRIAGE)).json()
            return case if case["referrals"] else None

        case = await eventually(case_with_referral)
        assert [str(rf["red_flag_id"]) for rf in case["red_flags"]] == [red_flag["red_flag_id"]]
        # Other tests' red flags open cases too: look for the delivery about this establishment.
        [delivered] = await eventually(lambda: _received_about(receiver, est["id"]))
        assert delivered.json()["type"] == "case.opened"
        assert delivered.headers["webhook-signature"].startswith("v1,")
    finally:
        receiver.close()


async def _received_about(receiver: WebhookReceiver, establishment_id: str):
    return [d for d in receiver.received if d.json()["data"].get("establishment_id") == establishment_id]


async def test_a_bad_payload_gets_422_naming_each_bad_field(running):
    response = await running.inspection.post("/inspections", headers=INSPECTOR, json={
        "establishment_id": "x", "program": "casino", "reason": "routine", "inspected_on": "yesterday",
        "result": "pass"})
    assert response.status_code == 422
    fields = {tuple(e["loc"]) for e in response.json()["detail"]}
    assert {("body", "program"), ("body", "inspected_on")} <= fields


async def test_an_unknown_establishment_is_named_in_the_422(running):
    response = await running.inspection.post("/inspections", headers=INSPECTOR, json=inspection("nowhere", []))
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["body", "establishment_id"]


async def test_no_token_is_401_before_the_body_is_read(running):
    response = await running.inspection.post("/inspections", content=b"not json")
    assert response.status_code == 401
