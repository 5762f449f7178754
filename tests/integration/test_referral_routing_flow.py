"""Referral service over the real broker and PostgreSQL: cases, victim-centred routing, triage.

Red flags are published onto the broker as the inspection service would; everything after that
(consumer, inbox, routing, outbox relay) is the service running for real.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

import pytest

from pathways_runtime.auth import Role
from referral_scenarios import OPS, TRIAGE, case_of, events_of, publish, publish_again, red_flag
from support import bearer, eventually

pytestmark = pytest.mark.integration


async def test_a_red_flag_delivered_three_times_opens_one_case(running, infrastructure):
    flag = red_flag(["labor"])
    event = await publish(running, flag)
    await publish_again(running, event)
    await publish_again(running, event)
    case = await case_of(running, flag.establishment_id, min_referrals=2)
    await publish(running, flag)  # the same red flag under a new event id joins, adds nothing
    second = red_flag(["labor"], establishment_id=flag.establishment_id)
    await publish(running, second)
    case = await eventually(lambda: _case_with_flags(running, case["id"], 2))
    cases = (await running.referral.get("/cases", params={"establishment_id": flag.establishment_id},
                                        headers=TRIAGE)).json()
    assert len(cases) == 1
    assert len(case["referrals"]) == 2, "a joining red flag with the same facts refers nobody new"
    opened = await eventually(lambda: events_of(infrastructure.kafka, "case.opened",
                                                establishment_id=flag.establishment_id))
    assert len(opened) == 1


async def _case_with_flags(running, case_id: str, count: int):
    case = (await running.referral.get(f"/cases/{case_id}", headers=TRIAGE)).json()
    return case if len(case["red_flags"]) >= count else None


async def test_a_labor_red_flag_goes_to_labor_standards_and_victim_services_never_police(running, infrastructure):
    flag = red_flag(["labor"])
    await publish(running, flag)
    case = await case_of(running, flag.establishment_id, min_referrals=2)
    by_kind = {r["agency_kind"]: r for r in case["referrals"]}
    assert set(by_kind) == {"victim_services", "labor_standards"}
    assert "police" not in by_kind
    assert by_kind["victim_services"]["agency_id"] == "riverbend-survivor-advocacy"  # fastest commitment
    assert by_kind["labor_standards"]["agency_id"] == "city-labor-standards"
    assert {r["rule_id"] for r in case["referrals"]} == {"R-DEFAULT-LABOR"}
    assert {r["policy_version"] for r in case["referrals"]} == {"default.v1"}
    created = await eventually(lambda: events_of(infrastructure.kafka, "referral.created", case_id=case["id"]))
    assert {e["agency_id"] for e in created} == {"riverbend-survivor-advocacy", "city-labor-standards"}
    assert all(e["rule_id"] == "R-DEFAULT-LABOR" for e in created)


async def test_an_urgent_red_flag_with_a_minor_goes_to_child_protection_and_safe_harbor(running):
    flag = red_flag(["sex"], level="urgent", minor=True)
    await publish(running, flag)
    case = await case_of(running, flag.establishment_id, min_referrals=3)
    by_kind = {r["agency_kind"]: r for r in case["referrals"]}
    assert {"child_protection", "safe_harbor_navigator"} <= set(by_kind)
    report = by_kind["child_protection"]
    assert report["mandated"] and report["rule_id"] == "R-MINOR"
    assert by_kind["safe_harbor_navigator"]["agency_id"] == "southeast-safe-harbor-navigator"
    due_in = datetime.fromisoformat(report["due_by"]) - datetime.fromisoformat(report["created_at"])
    assert due_in <= timedelta(hours=4), "urgent: the acceptance window is capped"
    assert by_kind["police"]["rule_id"] == "R-MINOR", "police only by the hard rule for a minor"


async def test_an_escalation_raises_priority_and_adds_the_hard_rule_referrals(running):
    flag = red_flag(["sex"])
    await publish(running, flag)
    case = await case_of(running, flag.establishment_id)
    assert case["level"] == "red_flag" and "police" not in {r["agency_kind"] for r in case["referrals"]}
    escalated = red_flag(["sex"], level="urgent", minor=True, establishment_id=flag.establishment_id,
                         previous_level="red_flag")
    await publish(running, escalated.model_copy(update={"red_flag_id": flag.red_flag_id}))
    case = await case_of(running, flag.establishment_id, min_referrals=3)
    assert case["level"] == "urgent"
    assert any(t["what"] == "priority raised" for t in case["timeline"])
    assert {"child_protection", "safe_harbor_navigator"} <= {r["agency_kind"] for r in case["referrals"]}


async def test_triage_for_a_criminal_investigation_adds_police_then_close(running, infrastructure):
    flag = red_flag(["labor"])
    await publish(running, flag)
    case = await case_of(running, flag.establishment_id, min_referrals=2)
    bad = await running.referral.post(f"/cases/{case['id']}/triage", headers=TRIAGE, json={"approaches": []})
    assert bad.status_code == 422
    decision = {"approaches": ["criminal_investigation", "labor_standards_enforcement"],
                "roles_present": ["law_enforcement", "advocate", "labor"], "rationale": "Operators control housing.",
                "follow_up_on": "2026-12-01"}
    assert (await running.referral.post(f"/cases/{case['id']}/triage", headers=bearer(Role.AGENCY, "x"),
                                        json=decision)).status_code == 403
    response = await running.referral.post(f"/cases/{case['id']}/triage", headers=TRIAGE, json=decision)
    assert response.status_code == 200, response.text
    assert response.json()["new_referrals"] == 1, "only the new target (police) is referred"
    case = (await running.referral.get(f"/cases/{case['id']}", headers=TRIAGE)).json()
    police = [r for r in case["referrals"] if r["agency_kind"] == "police"]
    assert [p["rule_id"] for p in police] == ["R-CRIMINAL-INVESTIGATION"]
    assert case["triage"][0]["roles_present"] == ["law_enforcement", "advocate", "labor"]
    triaged = await eventually(lambda: events_of(infrastructure.kafka, "case.triaged", case_id=case["id"]))
    assert "rationale" not in triaged[0]

    closed = await running.referral.post(f"/cases/{case['id']}/close", headers=TRIAGE,
                                         json={"outcome": "services engaged; referred for investigation"})
    assert closed.status_code == 200, closed.text
    assert (await running.referral.post(f"/cases/{case['id']}/close", headers=TRIAGE,
                                        json={"outcome": "again"})).status_code == 409
    case = (await running.referral.get(f"/cases/{case['id']}", headers=TRIAGE)).json()
    assert case["status"] == "closed"
    assert all(r["status"] == "cancelled" for r in case["referrals"]), "open offers are withdrawn"
    await eventually(lambda: events_of(infrastructure.kafka, "case.closed", case_id=case["id"]))


async def test_the_directory_is_served_and_maintained_over_the_api(running):
    agencies = (await running.referral.get("/agencies", headers=OPS)).json()
    assert {"riverbend-survivor-advocacy", "statewide-trafficking-helpline"} <= {a["id"] for a in agencies}
    assert (await running.referral.get("/agencies", headers=bearer(Role.AGENCY, "x"))).status_code == 403
    new = {"id": f"agency-{uuid.uuid4().hex[:6]}", "name": "Test Housing", "kind": "housing",
           "jurisdictions": ["olmsted"], "response_commitment_hours": 12}
    assert (await running.referral.post("/agencies", headers=OPS, json=new)).status_code == 201
    assert (await running.referral.post("/agencies", headers=OPS, json=new)).status_code == 409
    changed = new | {"capacity": 0}
    assert (await running.referral.put(f"/agencies/{new['id']}", headers=OPS, json=changed)).status_code == 200
    assert (await running.referral.get(f"/agencies/{new['id']}", headers=OPS)).json()["capacity"] == 0
