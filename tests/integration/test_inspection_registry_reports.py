"""Registry import, routine schedule, equity reports and the LIVES export, over the real database."""

from __future__ import annotations

import csv
import io
import random
import time
import uuid
import zipfile
from pathlib import Path

import pytest

from pathways_cli.establishments import import_file
from pathways_runtime.auth import Role
from inspection_settling import wait_until_settled
from support import bearer

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module", autouse=True)
async def downstream_settles_after_this_module(running):
    """This module's red flags reach referral and notification before another module subscribes a webhook."""
    yield
    await wait_until_settled(running)

OPS = bearer(Role.OPS, "ops")
INSPECTOR = bearer(Role.INSPECTOR, "health-department")
DEPARTMENT = bearer(Role.DEPARTMENT, "health-department")
AGENCY = bearer(Role.AGENCY, "victim-services")
HEADER = "license_number,name,license_type,license_status,license_expiry,address,area,jurisdiction\n"
BAD_KINDS = ("missing_name", "bad_status", "bad_date", "short_row", "duplicate")


def registry_file(rows: int, bad_every: int, jurisdiction: str, license_type: str = "massage") -> tuple[str, dict]:
    """A registry CSV with a bad row every ``bad_every`` rows; returns the text and {line: kind} of the bad ones."""
    tag = uuid.uuid4().hex[:6]
    lines, bad = [HEADER], {}
    for n in range(rows):
        line = n + 2
        fields = [f"{tag}-{n:06d}", f"Spa {n}", license_type, "active", "2030-12-31", f"{n} Main St",
                  f"Ward {n % 7}", jurisdiction]
        if n % bad_every == bad_every - 1:
            kind = BAD_KINDS[(n // bad_every) % len(BAD_KINDS)]
            bad[line] = kind
            fields = _spoil(fields, kind, tag)
        lines.append(",".join(fields) + "\n")
    return "".join(lines), bad


def _spoil(fields: list[str], kind: str, tag: str) -> list[str]:
    match kind:
        case "missing_name":
            fields[1] = ""
        case "bad_status":
            fields[3] = "open-ish"
        case "bad_date":
            fields[4] = "31/31/2030"
        case "short_row":
            fields = fields[:5]
        case "duplicate":
            fields[0] = f"{tag}-000000"
    return fields


async def test_importing_10000_rows_with_50_bad_keeps_the_9950_good_ones(running, tmp_path: Path):
    jurisdiction = f"import-{uuid.uuid4().hex[:6]}"
    text, bad = registry_file(10_000, 200, jurisdiction)
    assert len(bad) == 50
    started = time.perf_counter()
    response = await running.inspection.post("/establishments/import", headers=OPS | {"content-type": "text/csv"},
                                             content=text.encode())
    took = time.perf_counter() - started
    assert response.status_code == 200, response.text
    report = response.json()
    assert (report["accepted"], report["created"], report["rejected"]) == (9950, 9950, 50)
    assert {r["line"] for r in report["rejects"]} == set(bad)
    reasons = {bad[r["line"]]: r["reason"] for r in report["rejects"]}
    assert "name: missing" in reasons["missing_name"] and "duplicate of line 2" in reasons["duplicate"]
    print(f"\nimported 10,000 rows over HTTP in {took:.2f}s")

    path = tmp_path / "registry.csv"
    path.write_text(text)
    advanced: list[int] = []
    again = await import_file(running.inspection, path, [], advanced.append, headers=OPS)  # the CLI's path, in chunks
    assert (again.accepted, again.created, again.updated) == (9950, 0, 9950)  # idempotent on license number
    assert {r["line"] for r in again.rejects} == set(bad)  # duplicates are found across chunks too
    assert sum(advanced) == 10_000


async def test_a_mapped_header_and_multiline_records_keep_their_file_line_numbers(running, tmp_path: Path):
    jurisdiction = f"map-{uuid.uuid4().hex[:6]}"
    tag = uuid.uuid4().hex[:6]
    text = ("Lic No,Business,Type,Status,Expires,Street,Ward,County\n"
            f'{tag}-1,"Spa\nwith a newline",massage,active,12/31/2030,1 Main,W1,{jurisdiction}\n'
            f"{tag}-2,,massage,active,,2 Main,W1,{jurisdiction}\n")
    path = tmp_path / "theirs.csv"
    path.write_text(text)
    mapping = ["Lic No=license_number", "Business=name", "Type=license_type", "Status=license_status",
               "Expires=license_expiry", "Street=address", "Ward=area", "County=jurisdiction"]
    report = await import_file(running.inspection, path, mapping, headers=OPS)
    assert report.accepted == 1
    assert [(r["line"], r["fields"]) for r in report.rejects] == [(4, ["name"])]

    clash = {"id": f"{tag}-3", "license_number": f"OTHER-{tag}", "name": "Added by hand", "license_type": "massage",
             "license_status": "active", "jurisdiction": jurisdiction}
    assert (await running.inspection.post("/establishments", headers=OPS, json=clash)).status_code == 201
    clashing = await running.inspection.post("/establishments/import", headers=OPS, content=(
        f"{HEADER}{tag}-3,Spa,massage,active,,,W1,{jurisdiction}\n{tag}-4,Spa,massage,active,,,W1,{jurisdiction}\n"
    ).encode())
    assert clashing.status_code == 200, clashing.text
    assert (clashing.json()["accepted"], [r["line"] for r in clashing.json()["rejects"]]) == (1, [2])

    refused = await running.inspection.post("/establishments/import", headers=OPS, content=b"a,b\n1,2\n",
                                            params={"map": "nonsense"})
    assert refused.status_code == 422 and refused.json()["detail"][0]["loc"] == ["query", "map"]
    no_header = await running.inspection.post("/establishments/import", headers=OPS, content=b"a,b\n1,2\n")
    assert no_header.status_code == 422 and "license_number" in no_header.json()["detail"][0]["msg"]
    assert (await running.inspection.post("/establishments/import", headers=AGENCY, content=b"")).status_code == 403


async def test_the_schedule_covers_every_active_establishment_within_capacity(running):
    jurisdiction = f"sched-{uuid.uuid4().hex[:6]}"
    text, _ = registry_file(300, 10_000, jurisdiction)
    text += f"{uuid.uuid4().hex[:6]}-x,Closed Spa,massage,revoked,,9 Main,Ward 1,{jurisdiction}\n"
    assert (await running.inspection.post("/establishments/import", headers=OPS, content=text.encode())
            ).status_code == 200
    response = await running.inspection.get("/schedule/massage_establishment", headers=INSPECTOR, params={
        "period_start": "2027-01-01", "inspectors": 1, "capacity": 2, "jurisdiction": jurisdiction})
    assert response.status_code == 200, response.text
    plan = response.json()
    scheduled = [v["establishment_id"] for v in plan["visits"]]
    assert plan["active_establishments"] == 300 and len(set(scheduled)) == len(scheduled) == 300
    assert plan["unscheduled_for_capacity"] == []
    per_day: dict[str, int] = {}
    for visit in plan["visits"]:
        per_day[visit["due_on"]] = per_day.get(visit["due_on"], 0) + 1
    assert max(per_day.values()) <= 2 and min(per_day) >= "2027-01-01" and max(per_day) < "2028-01-01"
    assert len(plan["overdue"]) == 300  # never inspected: all overdue, and first in the random order

    # 2027 has 261 working days: one visit a day cannot cover 300, and the plan says which are left out.
    short = (await running.inspection.get("/schedule/massage_establishment", headers=INSPECTOR, params={
        "period_start": "2027-01-01", "capacity": 1, "jurisdiction": jurisdiction})).json()
    assert (len(short["visits"]), len(short["unscheduled_for_capacity"])) == (261, 39)


async def test_coverage_and_red_flag_rate_reports_and_their_roles(running):
    jurisdiction = f"cov-{uuid.uuid4().hex[:6]}"
    text, _ = registry_file(20, 10_000, jurisdiction, "food_establishment")
    await running.inspection.post("/establishments/import", headers=OPS, content=text.encode())
    ids = sorted(row.split(",")[0] for row in text.splitlines()[1:])
    for establishment_id in random.Random(1).sample(ids, 5):
        response = await running.inspection.post("/inspections", headers=INSPECTOR, json={
            "establishment_id": establishment_id, "program": "food_establishment", "reason": "complaint",
            "inspected_on": "2026-03-01", "result": "pass", "indicator_codes": []})
        assert response.status_code == 201, response.text

    coverage = await running.inspection.get("/reports/coverage", headers=DEPARTMENT, params={
        "period_start": "2026-01-01", "jurisdiction": jurisdiction})
    assert coverage.status_code == 200
    rows = coverage.json()["rows"]
    assert sum(r["active"] for r in rows) == 20 and sum(r["inspected"] for r in rows) == 5
    assert {r["program"] for r in rows} == {"food_establishment"}

    rate = await running.inspection.get("/reports/red-flag-rate", headers=OPS, params={"period_start": "2026-01-01"})
    by_reason = {r["reason"]: r for r in rate.json()["rows"]}
    assert set(by_reason) == {"routine", "complaint", "follow_up"}
    assert by_reason["complaint"]["inspections"] >= 5
    assert (await running.inspection.get("/reports/coverage", headers=INSPECTOR)).status_code == 403
    assert (await running.inspection.get("/reports/red-flag-rate", headers=AGENCY)).status_code == 403


async def test_the_lives_export_has_three_files_and_no_indicator_codes_or_people(running):
    jurisdiction = f"lives-{uuid.uuid4().hex[:6]}"
    text, _ = registry_file(3, 10_000, jurisdiction)
    await running.inspection.post("/establishments/import", headers=OPS, content=text.encode())
    establishment_id = text.splitlines()[1].split(",")[0]
    answers = {"san_tables_and_linens": "fail", "san_handwashing": "pass", "san_restroom": "pass",
               "san_pests": "pass", "san_oils_and_supplies": "pass", "lic_establishment_license_posted": False,
               "lic_practitioners_present": 1, "lic_each_practitioner_licensed": True, "lic_holder_present": True,
               "forensic_lighting": "positive", "test_kit": "negative", "prem_front_door_locked": False,
               "prem_windows_covered": False, "prem_paraphernalia": False, "obs_workers_living_on_site": False,
               "obs_minor_working": False}
    recorded = await running.inspection.post("/inspections", headers=INSPECTOR, json={
        "establishment_id": establishment_id, "program": "massage_establishment", "reason": "routine",
        "inspected_on": "2026-04-01", "result": "fail", "answers": answers})
    assert recorded.status_code == 201, recorded.text

    response = await running.inspection.get("/open-data/lives.zip", headers=AGENCY,
                                            params={"jurisdiction": jurisdiction})
    assert response.status_code == 200 and response.headers["content-type"] == "application/zip"
    files = zipfile.ZipFile(io.BytesIO(response.content))
    assert sorted(files.namelist()) == ["businesses.csv", "inspections.csv", "violations.csv"]
    violations = list(csv.DictReader(io.StringIO(files.read("violations.csv").decode())))
    assert {v["code"] for v in violations} == {"san_tables_and_linens", "lic_establishment_license_posted"}
    everything = b"".join(files.read(name) for name in files.namelist()).decode()
    assert "SEX-" not in everything and "forensic" not in everything.lower()
    assert len(list(csv.DictReader(io.StringIO(files.read("businesses.csv").decode())))) == 3
