"""Closed-loop referrals over the real broker and PostgreSQL: agency actions, scoping, expiry and
hand-over by the background sweeper, the department status feed, closed-loop figures, diversion."""

from __future__ import annotations

import pytest

from pathways_runtime.auth import Role
from referral_scenarios import OPS, TRIAGE, case_of, events_of, publish, red_flag
from support import bearer, eventually

pytestmark = pytest.mark.integration
RIVERBEND = "riverbend-survivor-advocacy"
BLUFF = "bluff-country-community-advocates"
DEPARTMENT = bearer(Role.DEPARTMENT, "health-department")


def agency(org: str) -> dict:
    return bearer(Role.AGENCY, org)


async def victim_services_referral(running) -> tuple[dict, dict]:
    flag = red_flag(["labor"])
    await publish(running, flag)
    case = await case_of(running, flag.establishment_id, min_referrals=2)
    return case, next(r for r in case["referrals"] if r["agency_kind"] == "victim_services")


async def test_a_rejection_needs_a_reason_and_the_referral_moves_on(running, infrastructure):
    case, referral = await victim_services_referral(running)
    url = f"/referrals/{referral['id']}/reject"
    for body in (None, {}, {"reason": "  "}):
        response = await running.referral.post(url, headers=agency(RIVERBEND), json=body)
        assert response.status_code == 422, response.text
        assert ["body", "reason"] in [e["loc"] for e in response.json()["detail"]]
    response = await running.referral.post(url, headers=agency(RIVERBEND), json={"reason": "at capacity"})
    assert response.status_code == 200 and response.json()["status"] == "rejected"
    declined = await eventually(lambda: events_of(infrastructure.kafka, "referral.declined",
                                                  referral_id=referral["id"]))
    assert declined[0]["reason"] == "at capacity"
    case = await case_of(running, case["establishment_id"], min_referrals=3)
    assert BLUFF in {r["agency_id"] for r in case["referrals"] if r["status"] == "requested"}


async def test_an_agency_sees_and_acts_only_on_its_own_referrals(running):
    _, referral = await victim_services_referral(running)
    other = agency(BLUFF)
    assert (await running.referral.get(f"/referrals/{referral['id']}", headers=other)).status_code == 404
    assert (await running.referral.post(f"/referrals/{referral['id']}/accept", headers=other)).status_code == 404
    assert referral["id"] not in {r["id"] for r in (await running.referral.get("/referrals", headers=other)).json()}
    assert (await running.referral.post(f"/referrals/{referral['id']}/accept", headers=TRIAGE)).status_code == 403
    mine = (await running.referral.get("/referrals", headers=agency(RIVERBEND))).json()
    assert referral["id"] in {r["id"] for r in mine} and {r["agency_id"] for r in mine} == {RIVERBEND}
    assert (await running.referral.get(f"/referrals/{referral['id']}", headers=agency(RIVERBEND))).status_code == 200


async def test_accept_engage_complete_show_on_the_status_feed_and_in_the_figures(running, infrastructure):
    case, referral = await victim_services_referral(running)
    base, me = f"/referrals/{referral['id']}", agency(RIVERBEND)
    assert (await running.referral.post(f"{base}/engage", headers=me)).status_code == 409, "accept first"
    assert (await running.referral.post(f"{base}/accept", headers=me)).status_code == 200
    assert (await running.referral.post(f"{base}/engage", headers=me)).status_code == 200
    incomplete = await running.referral.post(f"{base}/complete", headers=me, json={})
    assert incomplete.status_code == 422 and incomplete.json()["detail"][0]["loc"] == ["body", "outcome"]
    done = await running.referral.post(f"{base}/complete", headers=me, json={"outcome": "housed, wage claim filed"})
    assert done.json()["status"] == "completed"
    for topic in ("referral.accepted", "victim_service.engaged", "referral.closed"):
        assert await eventually(lambda t=topic: events_of(infrastructure.kafka, t, referral_id=referral["id"]))

    feed = (await running.referral.get("/status/red-flags", headers=DEPARTMENT,
                                       params={"establishment_id": case["establishment_id"]})).json()
    assert [(f["referred"], f["accepted"], f["help_engaged"]) for f in feed] == [(True, True, True)]
    assert not {"agency_id", "outcome", "person", "notes"} & set(feed[0])
    assert (await running.referral.get("/status/red-flags", headers=bearer(Role.DEPARTMENT, "other-dept"),
                                       params={"establishment_id": case["establishment_id"]})).json() == []
    figures = (await running.referral.get("/reports/closed-loop", headers=OPS)).json()
    assert figures[RIVERBEND]["accepted"] >= 1 and figures[RIVERBEND]["median_time_to_engagement_seconds"] >= 0


async def test_an_unaccepted_referral_expires_and_moves_to_the_next_agency(running, infrastructure, monkeypatch):
    settings = running.services["referral"].settings  # the running service's own settings, for this scenario
    monkeypatch.setattr(settings, "accept_window_seconds", 2.0)
    monkeypatch.setattr(settings, "sweep_seconds", 0.3)
    case, first = await victim_services_referral(running)
    assert first["agency_id"] == RIVERBEND
    expired = await eventually(lambda: events_of(infrastructure.kafka, "referral.expired", referral_id=first["id"]))
    assert expired[0]["agency_id"] == RIVERBEND
    case = await case_of(running, case["establishment_id"], min_referrals=3)
    handed = [r for r in case["referrals"] if r["agency_id"] == BLUFF]
    assert handed and handed[0]["rule_id"] == "R-DEFAULT-LABOR"
    gone = next(r for r in case["referrals"] if r["id"] == first["id"])
    assert (gone["status"], gone["status_reason"]) == ("cancelled", "expired")
    late = await running.referral.post(f"/referrals/{first['id']}/accept", headers=agency(RIVERBEND))
    assert late.status_code == 409

    async def coordinator_alerted():
        current = (await running.referral.get(f"/cases/{case['id']}", headers=TRIAGE)).json()
        return [t for t in current["timeline"] if t["what"].startswith("coordinator alert")]

    # Every agency in turn lets it expire: in the end the coordinator is told, on the timeline and the bus.
    assert await eventually(coordinator_alerted, timeout=60)
    assert await eventually(lambda: events_of(infrastructure.kafka, "referral.unplaced", case_id=case["id"]))


async def test_police_divert_a_person_and_see_only_accepted_and_engaged(running, infrastructure):
    police = bearer(Role.DEPARTMENT, "city-police-trafficking-unit")
    request = {"jurisdiction": "olmsted", "encountered_on": "2026-11-20", "language": "es",
               "person": {"alias": "Luz", "phone": "+1 507 555 0199"}}
    assert (await running.referral.post("/diversions", headers=DEPARTMENT, json=request)).status_code == 403
    created = await running.referral.post("/diversions", headers=police, json=request)
    assert created.status_code == 201, created.text
    referral_id = created.json()["referral_id"]
    programme = agency("community-pre-court-diversion")
    seen = (await running.referral.get(f"/referrals/{referral_id}", headers=programme)).json()
    assert seen["intake"] == {"jurisdiction": "olmsted", "encountered_on": "2026-11-20", "language": "es",
                              "area": None}
    assert "referred_by_org" not in seen and "Luz" not in str(seen)
    for step in ("accept", "engage"):
        assert (await running.referral.post(f"/referrals/{referral_id}/{step}", headers=programme)).status_code == 200
    await running.referral.post(f"/referrals/{referral_id}/complete", headers=programme,
                                json={"outcome": "completed the programme; private notes"})
    view = (await running.referral.get(f"/diversions/{referral_id}", headers=police)).json()
    assert view == {"referral_id": referral_id, "referred_at": view["referred_at"], "accepted": True,
                    "engaged": True}
    assert referral_id in {d["referral_id"] for d in (await running.referral.get("/diversions", headers=police)).json()}
    assert (await running.referral.get(f"/diversions/{referral_id}", headers=DEPARTMENT)).status_code == 404
