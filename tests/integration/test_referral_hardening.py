"""The referral service's holes found from outside (issue 14), over the real broker and PostgreSQL:
the release audit has a reader of its own, lists page with a next link, bad input is a 4xx naming the
field, the directory speaks HSDS 3.0, and the README's walk-through jurisdiction places a labor referral."""

from __future__ import annotations

import json
import shutil
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import asyncpg
import httpx
import pytest

from pathways_runtime import db
from pathways_runtime.auth import Role
from referral_scenarios import OPS, TRIAGE, case_of, events_of, publish, red_flag
from support import bearer, eventually

pytestmark = pytest.mark.integration
PRIVACY = bearer(Role.PRIVACY, "city-privacy-office")
RIVERBEND = bearer(Role.AGENCY, "riverbend-survivor-advocacy")
BLUFF = bearer(Role.AGENCY, "bluff-country-community-advocates")
MIGRATIONS = Path(__file__).parents[2] / "services/referral/src/pathways_referral/migrations"


def consent_for(agency_id: str) -> dict:
    now = datetime.now(UTC)
    return {"recipient_agency_id": agency_id, "purpose": "safety planning", "shareable_fields": ["name"],
            "expires_at": (now + timedelta(days=30)).isoformat(), "signed_by": "M",
            "signed_at": (now - timedelta(minutes=1)).isoformat(), "revocation_explained": True}


async def person_on_a_new_case(running) -> tuple[dict, str]:
    flag = red_flag(["labor"])
    await publish(running, flag)
    case = await case_of(running, flag.establishment_id)
    added = await running.referral.post(f"/cases/{case['id']}/people", headers=TRIAGE, json={"name": "M"})
    assert added.status_code == 201, added.text
    return case, added.json()["person_id"]


def next_url(response: httpx.Response) -> str | None:
    link = response.links.get("next")
    return link["url"] if link else None


async def test_a_privacy_officer_reads_the_release_audit_by_person_agency_and_period_and_each_read_is_audited(
        running, infrastructure):
    _, person_id = await person_on_a_new_case(running)
    assert (await running.referral.get(f"/people/{person_id}", headers=RIVERBEND)).status_code == 403
    assert (await running.referral.post(f"/people/{person_id}/consents", headers=TRIAGE,
                                        json=consent_for("riverbend-survivor-advocacy"))).status_code == 201
    assert (await running.referral.get(f"/people/{person_id}", headers=RIVERBEND)).status_code == 200
    assert (await running.referral.get(f"/people/{person_id}", headers=BLUFF)).status_code == 403

    for other in (TRIAGE, OPS, RIVERBEND, bearer(Role.DEPARTMENT, "police-department")):
        assert (await running.referral.get("/audit/releases", headers=other,
                                           params={"person_id": person_id})).status_code == 403

    everything = await running.referral.get("/audit/releases", headers=PRIVACY, params={"person_id": person_id})
    assert everything.status_code == 200, everything.text
    assert [(r["agency_id"], r["released"], r["fields"]) for r in everything.json()] == [
        ("riverbend-survivor-advocacy", False, []), ("riverbend-survivor-advocacy", True, ["name"]),
        ("bluff-country-community-advocates", False, [])]
    assert next_url(everything) is None
    bluff = await running.referral.get("/audit/releases", headers=PRIVACY,
                                       params={"person_id": person_id, "agency_id": "bluff-country-community-advocates"})
    assert [r["agency_id"] for r in bluff.json()] == ["bluff-country-community-advocates"]
    later = (datetime.now(UTC) + timedelta(hours=1)).isoformat()
    assert (await running.referral.get("/audit/releases", headers=PRIVACY,
                                       params={"person_id": person_id, "since": later})).json() == []

    first = await running.referral.get("/audit/releases", headers=PRIVACY, params={"person_id": person_id, "limit": 2})
    assert len(first.json()) == 2 and next_url(first)
    rest = await running.referral.get(next_url(first), headers=PRIVACY)
    assert [r["fields"] for r in rest.json()] == [[]] and next_url(rest) is None
    assert {r["id"] for r in first.json()}.isdisjoint(r["id"] for r in rest.json())

    conn = await asyncpg.connect(infrastructure.database_url)
    try:
        reads = await conn.fetch("select subject, org, filters, rows from referral_people.audit_reads"
                                 " where filters ->> 'person_id' = $1 order by id", person_id)
        assert [(r["subject"], r["org"], r["rows"]) for r in reads] == [
            ("test-city-privacy-office", "city-privacy-office", n) for n in (3, 1, 0, 2, 1)]
        assert json.loads(reads[1]["filters"])["agency_id"] == "bluff-country-community-advocates"
        with pytest.raises(asyncpg.RaiseError, match="append-only"):
            await conn.execute("delete from referral_people.audit_reads")
    finally:
        await conn.close()


async def test_cases_and_referrals_come_a_page_at_a_time_with_a_next_link(running):
    for _ in range(3):
        await publish(running, red_flag(["labor"]))
    await eventually(lambda: _at_least(running, "/cases", 3))
    seen: list[str] = []
    url: str | None = "/cases?limit=2"
    while url and len(seen) < 6:
        page = await running.referral.get(url, headers=TRIAGE)
        assert page.status_code == 200 and len(page.json()) <= 2
        seen += [c["id"] for c in page.json()]
        url = next_url(page)
    assert len(seen) == len(set(seen)) >= 3, "pages neither overlap nor stop after the first"
    opened = [c["opened_at"] for c in (await running.referral.get("/cases?limit=6", headers=TRIAGE)).json()]
    assert opened == sorted(opened, reverse=True), "newest first"

    first = await running.referral.get("/referrals", headers=OPS, params={"limit": 1})
    second = await running.referral.get(next_url(first), headers=OPS)
    assert len(first.json()) == len(second.json()) == 1 and first.json()[0]["id"] != second.json()[0]["id"]

    for path in ("/cases", "/referrals"):
        bad = await running.referral.get(path, headers=OPS, params={"cursor": "not-a-cursor"})
        assert bad.status_code == 422 and bad.json()["detail"][0]["loc"] == ["query", "cursor"]
        assert (await running.referral.get(path, headers=OPS, params={"limit": 100_000})).status_code == 422


async def _at_least(running, path: str, count: int):
    rows = (await running.referral.get(path, headers=TRIAGE, params={"limit": count})).json()
    return rows if len(rows) >= count else None


async def test_an_empty_person_is_refused_naming_the_fields(running):
    flag = red_flag(["labor"])
    await publish(running, flag)
    case = await case_of(running, flag.establishment_id)
    response = await running.referral.post(f"/cases/{case['id']}/people", headers=TRIAGE, json={})
    assert response.status_code == 422, response.text
    assert {("body", "name"), ("body", "phone")} <= {tuple(e["loc"]) for e in response.json()["detail"]}
    detail = (await running.referral.get(f"/cases/{case['id']}", headers=TRIAGE)).json()
    assert "person linked" not in [t["what"] for t in detail["timeline"]]


AGENCY = {"id": "nul-test-agency", "name": "Nul Test", "kind": "housing", "jurisdictions": ["olmsted"]}


@pytest.mark.parametrize("body", [
    AGENCY | {"languages": ["en\u0000"]},
    AGENCY | {"name": "Nul\u0000Test"},
    AGENCY | {"jurisdictions": ["olm\u0000sted"]},
    AGENCY | {"services": [{"id": "s", "name": "S", "description": "x\u0000"}]},
    AGENCY | {"response_commitment_hours": 10**12},
])
async def test_agency_input_the_database_cannot_store_is_a_422_not_a_500(running, body):
    response = await running.referral.post("/agencies", headers=OPS, json=body)
    assert response.status_code == 422, response.text
    assert (await running.referral.get("/agencies/nul-test-agency", headers=OPS)).status_code == 404


async def test_a_lone_surrogate_or_a_nul_in_a_query_is_a_422(running):
    raw = b'{"id": "surrogate-agency", "name": "\\ud800", "kind": "housing", "jurisdictions": ["olmsted"]}'
    response = await running.referral.post("/agencies", headers=OPS | {"content-type": "application/json"},
                                           content=raw)
    assert response.status_code == 422, response.text
    assert (await running.referral.get("/cases", headers=TRIAGE,
                                       params={"establishment_id": "est\u0000"})).status_code == 422


async def test_the_directory_speaks_hsds_3_and_still_accepts_the_old_url(running):
    riverbend = (await running.referral.get("/agencies/riverbend-survivor-advocacy", headers=OPS)).json()
    assert "url" not in riverbend and riverbend["website"].startswith("https://")
    assert {s["organization_id"] for s in riverbend["services"]} == {"riverbend-survivor-advocacy"}
    agency_id = f"hsds-{uuid.uuid4().hex[:8]}"
    created = await running.referral.post("/agencies", headers=OPS, json={
        "id": agency_id, "name": "Old Client", "kind": "housing", "jurisdictions": ["olmsted"],
        "url": "https://old-client.example.org", "services": [{"id": "beds", "name": "Beds"}]})
    assert created.status_code == 201, created.text
    stored = (await running.referral.get(f"/agencies/{agency_id}", headers=OPS)).json()
    assert stored["website"] == "https://old-client.example.org" and "url" not in stored
    assert stored["services"][0]["organization_id"] == agency_id


async def test_stored_agencies_are_migrated_to_hsds_3_names(infrastructure, tmp_path):
    """Migration 003 over a directory written by the code before it (an `url`, services without organization)."""
    before = tmp_path / "before"
    before.mkdir()
    for migration in sorted(MIGRATIONS.glob("*.sql"))[:2]:
        shutil.copy(migration, before)
    schema = f"referral_hsds_{uuid.uuid4().hex[:8]}"
    pool = await db.create_pool(infrastructure.database_url, 2)
    try:
        await db.migrate(pool, schema, before)
        old = {"id": "old", "name": "Old", "kind": "housing", "jurisdictions": ["olmsted"],
               "url": "https://old.example.org", "services": [{"id": "s", "name": "S"}]}
        await pool.execute(f"insert into {schema}.agencies (id, kind, document) values ('old', 'housing', $1)",
                           json.dumps(old))
        await db.migrate(pool, schema, MIGRATIONS)
        migrated = json.loads(await pool.fetchval(f"select document from {schema}.agencies where id = 'old'"))
        assert "url" not in migrated and migrated["website"] == "https://old.example.org"
        assert migrated["services"] == [{"id": "s", "name": "S", "organization_id": "old"}]
    finally:
        await pool.execute(f"drop schema {schema} cascade; drop schema {schema}_people cascade")
        await pool.close()


async def test_the_readme_walk_through_wage_theft_case_reaches_a_labor_referral(running, infrastructure):
    flag = red_flag(["labor"], jurisdiction="metro-county")  # the README's est-42 is in metro-county
    await publish(running, flag)
    case = await case_of(running, flag.establishment_id, min_referrals=2)
    by_kind = {r["agency_kind"]: r["agency_id"] for r in case["referrals"]}
    assert by_kind == {"victim_services": "metro-survivor-advocacy", "labor_standards": "metro-labor-standards"}
    assert not [t for t in case["timeline"] if t["what"].startswith("coordinator alert")]
    assert not await events_of(infrastructure.kafka, "referral.unplaced", case_id=case["id"])


async def test_a_departments_status_feed_comes_a_page_at_a_time_with_a_next_link(running):
    department = f"dept-{uuid.uuid4().hex[:8]}"
    flags = [red_flag(["labor"]).model_copy(update={"departments": [department]}) for _ in range(3)]
    for flag in flags:
        await publish(running, flag)
    mine = bearer(Role.DEPARTMENT, department)

    async def all_three():
        rows = (await running.referral.get("/status/red-flags", headers=mine, params={"limit": 3})).json()
        return rows if len(rows) == 3 else None

    await eventually(all_three)
    first = await running.referral.get("/status/red-flags", headers=mine, params={"limit": 2})
    rest = await running.referral.get(next_url(first), headers=mine)
    assert len(first.json()) == 2 and len(rest.json()) == 1 and next_url(rest) is None
    assert {r["red_flag_id"] for r in first.json() + rest.json()} == {str(f.red_flag_id) for f in flags}
