"""Issue 14, from outside, over the real database: bad input is a 4xx naming the field (never a 500), a
department reads only what its redaction role may see of screening, and the LIVES open data is public."""

from __future__ import annotations

import io
import json
import uuid
import zipfile

import httpx
import pytest

from inspection_settling import wait_until_settled
from pathways_inspection.app import create_app
from pathways_inspection.entrypoints.registry_reports import OpenDataLimit
from pathways_runtime.auth import Role
from support import bearer

pytestmark = pytest.mark.integration

INSPECTOR = bearer(Role.INSPECTOR, "health-department")
LABOR = bearer(Role.INSPECTOR, "labor-standards")
OPS = bearer(Role.OPS, "ops")
TRIAGE = bearer(Role.TRIAGE, "mdt")
POLICE = bearer(Role.DEPARTMENT, "police-department")
FOOD_CLEAN = {"san_food_temperatures": "pass", "san_handwashing": "pass", "san_cross_contamination": "pass",
              "san_pests": "pass", "san_certified_manager": "pass", "lic_establishment_license_posted": True,
              "lab_notices_posted": True, "lab_untreated_injury": False, "obs_workers_living_on_site": False,
              "obs_minor_working": False}


@pytest.fixture(scope="module", autouse=True)
async def downstream_settles_after_this_module(running):
    """This module's red flag reaches referral and notification before another module subscribes a webhook."""
    yield
    await wait_until_settled(running)


async def new_establishment(running) -> dict:
    suffix = uuid.uuid4().hex[:10]
    body = {"id": f"est-{suffix}", "license_number": f"LIC-{suffix}", "name": "Establishment " + suffix,
            "license_type": "food_establishment", "license_status": "active", "area": "Ward 1",
            "jurisdiction": "metro-county"}
    response = await running.inspection.post("/establishments", headers=OPS, json=body)
    assert response.status_code == 201, response.text
    return body


def located(response: httpx.Response) -> list[tuple]:
    return [tuple(d["loc"]) for d in response.json()["detail"]]


async def test_text_postgresql_cannot_store_is_a_422_naming_the_field(running):
    est = await new_establishment(running)
    nul_name = await running.inspection.post("/establishments", headers=OPS, json=est | {"name": "Spa\x00"})
    assert nul_name.status_code == 422 and located(nul_name) == [("body", "name")]
    # A lone surrogate is valid JSON (an escape) but not UTF-8: sent as the raw escape, as a fuzzer would.
    raw = json.dumps(est | {"name": "SURROGATE"}).replace("SURROGATE", "\\ud800").encode()
    surrogate = await running.inspection.post("/establishments", content=raw,
                                              headers=OPS | {"content-type": "application/json"})
    assert surrogate.status_code == 422 and located(surrogate) == [("body", "name")]

    inspection = {"establishment_id": est["id"], "program": "food_establishment", "reason": "routine",
                  "inspected_on": "2026-11-02", "result": "pass"}
    language = await running.inspection.post("/inspections", headers=INSPECTOR,
                                             json=inspection | {"interpreter_language": "es\x00"})
    assert language.status_code == 422 and located(language) == [("body", "interpreter_language")]
    answer = await running.inspection.post("/inspections", headers=INSPECTOR,
                                           json=inspection | {"answers": FOOD_CLEAN | {"san_pests": "\x00"}})
    assert answer.status_code == 422 and ("body", "answers", "san_pests") in located(answer)

    schedule = await running.inspection.get("/schedule/food_establishment", headers=INSPECTOR,
                                            params={"jurisdiction": "metro\x00"})
    assert schedule.status_code == 422 and located(schedule) == [("query", "jurisdiction")]
    path_nul = await running.inspection.get("/establishments/%00", headers=INSPECTOR)
    assert path_nul.status_code == 422 and located(path_nul) == [("path", "establishment_id")]
    screening_nul = await running.inspection.get("/establishments/a%00b/screening", headers=TRIAGE)
    assert screening_nul.status_code == 422 and located(screening_nul) == [("path", "establishment_id")]
    huge = await running.inspection.get("/establishments", headers=INSPECTOR, params={"offset": "1.7e22"})
    assert huge.status_code == 422 and located(huge) == [("query", "offset")]
    # Dates where a year's window back or a plan ahead would overflow.
    year_one = await running.inspection.post("/inspections", headers=INSPECTOR,
                                             json=inspection | {"inspected_on": "0001-01-01"})
    assert year_one.status_code == 422 and located(year_one) == [("body", "inspected_on")]
    as_of = await running.inspection.get(f"/establishments/{est['id']}/screening", headers=TRIAGE,
                                         params={"as_of": "0001-01-01"})
    assert as_of.status_code == 422 and located(as_of) == [("query", "as_of")]
    plan = await running.inspection.get("/schedule/food_establishment", headers=INSPECTOR,
                                        params={"period_start": "9999-12-31"})
    assert plan.status_code == 422 and located(plan) == [("query", "period_start")]
    # Nothing of it was stored.
    assert (await running.inspection.get(f"/establishments/{est['id']}", headers=INSPECTOR)).json()["name"] \
        == est["name"]


async def test_an_id_reused_with_another_licence_number_is_a_409_naming_the_field(running):
    est = await new_establishment(running)
    clash = await running.inspection.post("/establishments", headers=OPS,
                                          json=est | {"license_number": f"OTHER-{uuid.uuid4().hex[:8]}"})
    assert clash.status_code == 409 and clash.json()["detail"].startswith("id:")
    taken = await running.inspection.post("/establishments", headers=OPS,
                                          json=est | {"id": f"est-{uuid.uuid4().hex[:10]}"})
    assert taken.status_code == 409 and taken.json()["detail"].startswith("license_number:")
    same = await running.inspection.post("/establishments", headers=OPS, json=est | {"name": "Renamed"})
    assert same.status_code == 201 and same.json() == {"id": est["id"], "created": False}


async def test_a_police_token_reads_the_screening_redacted_as_police_notifications_are(running):
    est = (await new_establishment(running))["id"]
    food = await running.inspection.post("/inspections", headers=INSPECTOR, json={
        "establishment_id": est, "program": "food_establishment", "reason": "routine", "inspected_on": "2026-11-02",
        "result": "conditional", "answers": FOOD_CLEAN | {"obs_workers_living_on_site": True}})
    assert food.status_code == 201, food.text
    labor = await running.inspection.post("/inspections", headers=LABOR, json={
        "establishment_id": est, "program": "labor_standards_site_visit", "reason": "complaint",
        "inspected_on": "2026-11-03", "result": "conditional", "indicator_codes": ["LAB-WAGE-THEFT"]})
    assert labor.json()["red_flag"]["status"] == "raised", labor.text

    full = (await running.inspection.get(f"/establishments/{est}/screening", headers=TRIAGE)).json()
    assert "VUL-LIVING-ON-SITE" in full["assessment"]["indicator_codes"] and full["assessment"]["score"] == 7.0

    police = await running.inspection.get(f"/establishments/{est}/screening", headers=POLICE)
    assert police.status_code == 200
    seen = police.json()
    text = police.text
    assert "VUL-" not in text and "victim_vulnerability" not in text
    assert "minor_indicated" not in text and "score" not in text and "weight" not in text
    assert seen["assessment"]["indicator_codes"] == ["LAB-WAGE-THEFT"]
    assert seen["assessment"]["departments"] == ["labor-standards"]  # not who saw the withheld code
    assert seen["assessment"]["contributing_inspection_ids"] == [labor.json()["inspection_id"]]
    assert seen["red_flag"]["level"] == "red_flag"

    unknown_org = await running.inspection.get(f"/establishments/{est}/screening",
                                               headers=bearer(Role.DEPARTMENT, "some-new-department"))
    assert unknown_org.status_code == 200 and "LAB-WAGE-THEFT" not in unknown_org.text  # unknown is not trusted


async def test_the_lives_open_data_is_served_without_a_token_and_rate_limited(running):
    est = (await new_establishment(running))["id"]
    jurisdiction = "metro-county"
    response = await running.inspection.get("/open-data/lives.zip", params={"jurisdiction": jurisdiction})
    assert response.status_code == 200 and response.headers["content-type"] == "application/zip"
    files = zipfile.ZipFile(io.BytesIO(response.content))
    businesses = files.read("businesses.csv").decode()
    assert est in businesses
    everything = b"".join(files.read(n) for n in files.namelist()).decode()
    assert "VUL-" not in everything and "LAB-WAGE-THEFT" not in everything  # no screening signals
    assert (await running.inspection.get("/reports/coverage")).status_code == 401  # only this path is public

    # The limit, on its own app over the same running service (so this test spends no other test's budget).
    app = create_app(running.services["inspection"])
    app.state.open_data_limit = OpenDataLimit("2/minute")
    transport = httpx.ASGITransport(app, client=("203.0.113.7", 40000))
    async with httpx.AsyncClient(transport=transport, base_url="http://inspection") as client:
        statuses = [(await client.get("/open-data/lives.zip", params={"jurisdiction": "none-such"})).status_code
                    for _ in range(3)]
        limited = await client.get("/open-data/lives.zip")
    assert statuses == [200, 200, 429]
    assert limited.status_code == 429 and int(limited.headers["retry-after"]) >= 1
