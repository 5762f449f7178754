"""Screening over the real broker and database: validation, fusion across departments, escalation, follow-ups."""

from __future__ import annotations

import asyncio
import json
import uuid

import pytest

from pathways_runtime.auth import Role
from checklist_answers import FOOD_CLEAN, LABOR_CLEAN, MASSAGE_CLEAN, NOTHING_SEEN
from inspection_settling import wait_until_settled
from support import bearer, eventually, read_all

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module", autouse=True)
async def downstream_settles_after_this_module(running):
    """This module's red flags reach referral and notification before another module subscribes a webhook."""
    yield
    await wait_until_settled(running)

HEALTH = bearer(Role.INSPECTOR, "health-department")
LABOR = bearer(Role.INSPECTOR, "labor-standards")
TRIAGE = bearer(Role.TRIAGE, "mdt")
AGENCY = bearer(Role.AGENCY, "victim-services")



async def new_establishment(running, license_type: str = "massage", jurisdiction: str = "metro-county") -> str:
    suffix = uuid.uuid4().hex[:10]
    response = await running.inspection.post("/establishments", headers=HEALTH, json={
        "id": f"est-{suffix}", "license_number": f"LIC-{suffix}", "name": "Establishment " + suffix,
        "license_type": license_type, "license_status": "active", "address": "1 Main St", "area": "Ward 3",
        "jurisdiction": jurisdiction})
    assert response.status_code == 201, response.text
    return f"est-{suffix}"


async def inspect(running, headers: dict, establishment_id: str, program: str, answers: dict | None = None,
                  codes: list[str] | None = None, result: str = "conditional", on: str = "2026-11-02",
                  reason: str = "routine"):
    return await running.inspection.post("/inspections", headers=headers, json={
        "establishment_id": establishment_id, "program": program, "reason": reason, "inspected_on": on,
        "result": result, "indicator_codes": codes or [], "answers": answers or {}})


async def events_about(kafka: str, topic: str, establishment_id: str) -> list[dict]:
    records = await read_all(kafka, topic)
    return [json.loads(r.value) for r in records if r.key == establishment_id.encode()]


async def test_food_and_labor_inspections_raise_a_labor_red_flag_that_neither_raises_alone(running, infrastructure):
    est = await new_establishment(running, "food_establishment")
    food = await inspect(running, HEALTH, est, "food_establishment",
                         FOOD_CLEAN | {"obs_workers_living_on_site": True})
    assert food.status_code == 201, food.text
    assert food.json()["indicator_codes"] == ["VUL-LIVING-ON-SITE"]  # implied by the checklist answer
    assert food.json()["red_flag"] is None

    labor = await inspect(running, LABOR, est, "labor_standards_site_visit",
                          LABOR_CLEAN | {"lab_minimum_wage_paid": False})
    assert labor.status_code == 201, labor.text
    flag = labor.json()["red_flag"]
    assert (flag["status"], flag["level"], flag["score"]) == ("raised", "red_flag", 7.0)

    raised = (await eventually(lambda: events_about(infrastructure.kafka, "redflag.raised", est)))[0]
    assert raised["indicator_codes"] == ["LAB-WAGE-THEFT", "VUL-LIVING-ON-SITE"]
    assert raised["departments"] == ["health-department", "labor-standards"]
    assert sorted(raised["contributing_inspection_ids"]) == sorted(
        [food.json()["inspection_id"], labor.json()["inspection_id"]])
    assert set(raised["categories"]) == {"labor", "both"}
    assert raised["rules_version"] == "default.v1" and raised["minor_indicated"] is False

    screening = (await running.inspection.get(f"/establishments/{est}/screening", headers=TRIAGE)).json()
    breakdown = {c["code"]: c for c in screening["assessment"]["breakdown"]}
    assert {code: c["weight"] for code, c in breakdown.items()} == {"LAB-WAGE-THEFT": 3.0, "VUL-LIVING-ON-SITE": 4.0}
    assert breakdown["LAB-WAGE-THEFT"]["departments"] == ["labor-standards"]
    assert screening["assessment"]["level"] == "red_flag"
    assert screening["red_flag"]["explanation"]["score"] == 7.0


async def test_massage_scenario_raises_then_a_minor_escalates_to_urgent(running, infrastructure):
    est = await new_establishment(running)
    first = await inspect(running, HEALTH, est, "massage_establishment", MASSAGE_CLEAN | {
        "forensic_lighting": "positive", "obs_workers_living_on_site": True, "lic_holder_present": False})
    assert first.status_code == 201, first.text
    assert first.json()["indicator_codes"] == ["REG-LICENSE-HELD-BY-ABSENT", "SEX-FORENSIC-LIGHT-POSITIVE",
                                               "VUL-LIVING-ON-SITE"]
    assert first.json()["red_flag"]["status"] == "raised"

    again = await inspect(running, HEALTH, est, "massage_establishment", MASSAGE_CLEAN, on="2026-11-05")
    assert again.json()["red_flag"]["status"] == "already open"  # no second red flag while one is open

    minor = await inspect(running, HEALTH, est, "massage_establishment", MASSAGE_CLEAN | {"obs_minor_working": True},
                          reason="follow_up", on="2026-11-09")
    flag = minor.json()["red_flag"]
    assert (flag["status"], flag["level"], flag["previous_level"]) == ("escalated", "urgent", "red_flag")
    assert flag["red_flag_id"] == first.json()["red_flag"]["red_flag_id"]

    escalated = (await eventually(lambda: events_about(infrastructure.kafka, "redflag.escalated", est)))[0]
    assert escalated["previous_level"] == "red_flag" and escalated["level"] == "urgent"
    assert escalated["minor_indicated"] is True and escalated["rule_ids"] == ["HR-MINOR-SEX"]
    assert len(await events_about(infrastructure.kafka, "redflag.raised", est)) == 1


async def test_entry_refused_is_an_indicator_and_with_a_criminal_operation_sign_a_red_flag(running):
    est = await new_establishment(running, "rental_housing")
    response = await inspect(running, HEALTH, est, "rental_housing", codes=["OPS-WINDOWS-COVERED"],
                             result="entry_refused")
    assert response.status_code == 201, response.text
    assert response.json()["indicator_codes"] == ["OPS-ENTRY-REFUSED", "OPS-WINDOWS-COVERED"]
    assert response.json()["red_flag"]["rule_ids"] == ["HR-ENTRY-REFUSED-CRIMINAL-OP"]


async def test_bad_codes_and_answers_get_a_422_naming_each_field(running):
    est = await new_establishment(running, "food_establishment")
    response = await inspect(running, HEALTH, est, "food_establishment",
                             FOOD_CLEAN | {"san_pests": "maybe", "no_such_item": True},
                             codes=["LAB-WAGE-THEFT", "NOT-A-CODE", "SEX-FORENSIC-LIGHT-POSITIVE"])
    assert response.status_code == 422
    located = {tuple(d["loc"]): d["msg"] for d in response.json()["detail"]}
    assert set(located) == {("body", "indicator_codes", 1), ("body", "indicator_codes", 2),
                            ("body", "answers", "san_pests"), ("body", "answers", "no_such_item")}
    assert "food_establishment" in located["body", "indicator_codes", 2]

    missing = await inspect(running, HEALTH, est, "food_establishment", {"san_pests": "pass"})
    assert ("body", "answers", "san_handwashing") in {tuple(d["loc"]) for d in missing.json()["detail"]}


async def test_failed_sanitation_and_a_red_flag_schedule_follow_ups(running, infrastructure):
    est = await new_establishment(running, "food_establishment")
    failed = await inspect(running, HEALTH, est, "food_establishment", FOOD_CLEAN | {"san_pests": "fail"},
                           on="2026-11-02")
    assert failed.status_code == 201, failed.text
    await inspect(running, HEALTH, est, "food_establishment", FOOD_CLEAN | {"san_handwashing": "fail"},
                  on="2026-11-03")  # a second failure does not pile up a second pending visit
    flagged = await inspect(running, LABOR, est, "labor_standards_site_visit", LABOR_CLEAN, on="2026-11-04",
                            codes=["OPS-DEBT-BONDAGE", "VUL-LIVING-ON-SITE"])
    assert flagged.json()["red_flag"]["status"] == "raised"

    follow_ups = (await running.inspection.get(f"/establishments/{est}", headers=TRIAGE)).json()["follow_ups"]
    assert [(f["program"], f["reason"], f["due_on"]) for f in follow_ups] == [
        ("labor_standards_site_visit", "red_flag", "2026-11-18"),
        ("food_establishment", "failed_sanitation", "2026-12-02")]
    scheduled = await eventually(lambda: _at_least(2, events_about(infrastructure.kafka, "inspection.scheduled", est)))
    assert {e["reason"] for e in scheduled} == {"red_flag", "failed_sanitation"}

    revisit = await inspect(running, HEALTH, est, "food_establishment", FOOD_CLEAN, on="2026-11-20", reason="follow_up")
    assert revisit.status_code == 201
    follow_ups = (await running.inspection.get(f"/establishments/{est}", headers=TRIAGE)).json()["follow_ups"]
    assert {(f["program"], f["status"]) for f in follow_ups} == {("labor_standards_site_visit", "scheduled"),
                                                                  ("food_establishment", "done")}


async def test_simultaneous_inspections_raise_one_red_flag(running):
    est = await new_establishment(running, "food_establishment")
    # Each alone reaches the red-flag level (6); together 8, still below urgent (12).
    both = [inspect(running, HEALTH, est, "food_establishment", codes=["LAB-EXCESSIVE-HOURS", "VUL-LIVING-ON-SITE"]),
            inspect(running, LABOR, est, "labor_standards_site_visit", codes=["LAB-NO-DAYS-OFF", "VUL-LIVING-ON-SITE"])]
    responses = await asyncio.gather(*both)
    assert [r.status_code for r in responses] == [201, 201]
    assert sorted(r.json()["red_flag"]["status"] for r in responses) == ["already open", "raised"]


async def _at_least(n: int, pending):
    found = await pending
    return found if len(found) >= n else None


async def test_catalog_programs_and_checklists_are_served_to_any_role(running):
    catalog = await running.inspection.get("/catalog/indicators", headers=AGENCY)
    assert catalog.status_code == 200
    assert len(catalog.json()["indicators"]) >= 30
    assert {"code", "category", "dimension", "programs", "weight", "source"} <= set(catalog.json()["indicators"][0])
    programs = (await running.inspection.get("/programs", headers=AGENCY)).json()
    assert {p["program"] for p in programs} == {"massage_establishment", "food_establishment", "lodging",
                                                "labor_standards_site_visit", "rental_housing"}
    checklist = (await running.inspection.get("/programs/massage_establishment/checklist", headers=AGENCY)).json()
    assert "forensic_lighting" in {i["id"] for i in checklist["items"]}
    assert (await running.inspection.get("/programs/casino/checklist", headers=AGENCY)).status_code == 422
    assert (await running.inspection.get("/catalog/indicators")).status_code == 401


async def test_clean_hotels_certification_change_is_published_and_queryable(running, infrastructure):
    jurisdiction = f"county-{uuid.uuid4().hex[:6]}"
    hotel = await new_establishment(running, "lodging", jurisdiction)
    other = await new_establishment(running, "lodging", jurisdiction)
    lodging = {"san_guest_rooms": "pass", "san_laundry": "pass", "san_water_and_pool": "pass",
               "safety_smoke_alarms": "pass", "lic_establishment_license_posted": True,
               "obs_room_traffic": False} | NOTHING_SEEN
    signed = lodging | {"prev_clean_hotels_signed": True, "prev_clean_hotels_verified_on": "2026-10-30"}
    assert (await inspect(running, HEALTH, hotel, "lodging", signed)).status_code == 201
    assert (await inspect(running, HEALTH, hotel, "lodging", signed, on="2026-11-03")).status_code == 201  # no change
    assert (await inspect(running, HEALTH, other, "lodging", lodging | {"prev_clean_hotels_signed": False})
            ).status_code == 201

    certified = await running.inspection.get("/establishments", headers=TRIAGE,
                                             params={"jurisdiction": jurisdiction, "certified": "true"})
    assert [e["id"] for e in certified.json()] == [hotel]
    assert certified.json()[0]["clean_hotels_verified_on"] == "2026-10-30"
    changes = await eventually(lambda: events_about(infrastructure.kafka, "establishment.certification_changed", hotel))
    assert [(c["certified"], c["previously_certified"], c["verified_on"]) for c in changes] == [
        (True, None, "2026-10-30")]

    withdrawn = await inspect(running, HEALTH, hotel, "lodging", lodging | {"prev_clean_hotels_signed": False},
                              on="2026-11-10")
    assert withdrawn.status_code == 201
    changes = await eventually(lambda: _at_least(2, events_about(
        infrastructure.kafka, "establishment.certification_changed", hotel)))
    assert changes[-1]["certified"] is False and changes[-1]["previously_certified"] is True
    still = await running.inspection.get("/establishments", headers=TRIAGE,
                                         params={"jurisdiction": jurisdiction, "certified": "true"})
    assert still.json() == []
