"""Insights over the real broker and PostgreSQL: it projects the services' real events, simulates without
writing or emitting anything, and releases k-anonymous statistics that only ops and researchers read.

The inspections are recorded through the real inspection service (its events reach the referral
service, which opens cases and refers them), in a jurisdiction and years of their own, so the
assertions see only this module's data however many events earlier tests left on the topics.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator

import asyncpg
import httpx
import pytest

from pathways_contracts.privacy import person_like
from pathways_inspection.domain.screening import load_rules
from pathways_runtime.auth import Role
from support import bearer, eventually

pytestmark = pytest.mark.integration

HEALTH = bearer(Role.INSPECTOR, "health-department")
TRIAGE = bearer(Role.TRIAGE, "mdt")
OPS = bearer(Role.OPS, "ops")
RESEARCHER = bearer(Role.RESEARCHER, "state-task-force")
RUN = uuid.uuid4().hex[:8]
JURISDICTION = f"insights-{RUN}"


@pytest.fixture(scope="module")
async def insights(running) -> AsyncIterator[httpx.AsyncClient]:
    """The insights service in this process, beside the three others, on the session's broker and database."""
    from pathways_insights.app import create_app

    app = create_app()
    async with contextlib.AsyncExitStack() as stack:
        await stack.enter_async_context(app.state.service.running())
        yield await stack.enter_async_context(
            httpx.AsyncClient(transport=httpx.ASGITransport(app), base_url="http://insights"))


@pytest.fixture
async def db(infrastructure) -> AsyncIterator[asyncpg.Connection]:
    conn = await asyncpg.connect(infrastructure.database_url)
    yield conn
    await conn.close()


async def establishment(running, area: str) -> str:
    suffix = uuid.uuid4().hex[:10]
    response = await running.inspection.post("/establishments", headers=HEALTH, json={
        "id": f"est-{suffix}", "license_number": f"LIC-{suffix}", "name": "Establishment " + suffix,
        "license_type": "food_establishment", "license_status": "active", "area": area,
        "jurisdiction": JURISDICTION})
    assert response.status_code == 201, response.text
    return f"est-{suffix}"


async def inspect(running, est: str, program: str, on: str, *codes: str, reason: str = "routine") -> str:
    response = await running.inspection.post("/inspections", headers=HEALTH, json={
        "establishment_id": est, "program": program, "reason": reason, "inspected_on": on, "result": "conditional",
        "indicator_codes": list(codes), "answers": {}})
    assert response.status_code == 201, response.text
    return response.json()["inspection_id"]


async def snapshot(db: asyncpg.Connection) -> dict[str, object]:
    """Rows of every table of every schema, and a digest of the insights tables' contents."""
    tables = await db.fetch("select table_schema, table_name from information_schema.tables"
                            " where table_type = 'BASE TABLE' and table_schema not in ('pg_catalog',"
                            " 'information_schema')")
    found: dict[str, object] = {}
    for t in tables:
        name = f'"{t["table_schema"]}"."{t["table_name"]}"'
        found[name] = await db.fetchval(f"select count(*) from {name}")
        if t["table_schema"] == "insights":
            found[name + " digest"] = await db.fetchval(
                f"select md5(coalesce(string_agg(x::text, ',' order by x::text), '')) from {name} x")
    return found


async def settled(db: asyncpg.Connection) -> dict[str, object]:
    """A snapshot taken once the system is quiet (two reads a second apart agree)."""
    previous: list[dict] = [await snapshot(db)]

    async def quiet() -> dict | None:
        await asyncio.sleep(1)
        now = await snapshot(db)
        same = now == previous[0]
        previous[0] = now
        return now if same else None

    return await eventually(quiet, timeout=60)


async def test_it_projects_real_events_and_a_simulation_writes_and_emits_nothing(running, insights, db):
    # The hand-computed history of tests/unit/test_insights_simulation.py, recorded for real in 2021.
    e1, e2, e3 = (await establishment(running, "north"), await establishment(running, "south"),
                  await establishment(running, "south"))
    await inspect(running, e1, "massage_establishment", "2021-02-01",
                  "SEX-LOCKED-DOORS", "SEX-CASH-ONLY-UNUSUAL-HOURS", "REG-LICENSE-NOT-POSTED")
    await inspect(running, e1, "massage_establishment", "2021-03-01", "SEX-TIPS-ONLY-PAY", reason="complaint")
    await inspect(running, e2, "food_establishment", "2021-04-10", "LAB-WAGE-THEFT", "LAB-EXCESSIVE-HOURS")
    await inspect(running, e3, "lodging", "2021-05-01", "SEX-PARAPHERNALIA", "SEX-COMMERCIAL-SEX-ADS",
                  "OPS-THREATS", "REG-LICENSE-NOT-POSTED", reason="complaint")

    # Consumed from the broker: the inspections, e1's real red flag (6.5 and e3's 10.5), the case the
    # referral service opened for e1, and its referrals with their agency kinds.
    assert await eventually(lambda: db.fetchval(
        "select count(*) = 4 from insights.inspections where jurisdiction = $1", JURISDICTION), timeout=90)
    assert await eventually(lambda: db.fetchval(
        "select count(*) = 2 from insights.red_flags where jurisdiction = $1", JURISDICTION), timeout=60)
    assert await eventually(lambda: db.fetchval(
        "select count(*) = 1 from insights.cases where establishment_id = $1", e1), timeout=60)
    assert await eventually(lambda: db.fetchval(
        "select bool_or(agency_kind = 'victim_services') from insights.referrals where establishment_id = $1", e1),
        timeout=60)
    assert await db.fetchval("select establishment_type from insights.establishments where establishment_id = $1",
                             e3) == "lodging"

    before = await settled(db)
    rules = load_rules().model_dump(mode="json") | {"version": "proposed",
                                                    "thresholds": {"concern": 3, "red_flag": 5, "urgent": 10}}
    body = {"period_start": "2021-01-01", "period_end": "2021-12-31", "jurisdiction": JURISDICTION,
            "proposed_rules": rules}
    response = await insights.post("/simulations", headers=TRIAGE, json=body)
    assert response.status_code == 200, response.text
    report = response.json()
    assert [(c["establishment_id"], c["change"], c["current_level"], c["proposed_level"])
            for c in report["changed_establishments"]] == [
        *sorted([(e2, "added", None, "red_flag"), (e3, "level_changed", "red_flag", "urgent")])]
    assert report["current"]["referrals"] == {"labor_standards": 2, "victim_services": 2}
    assert report["proposed"]["referrals"] == {"labor_standards": 3, "victim_services": 3}
    text = await insights.post("/simulations", params={"format": "text"}, headers=OPS, json=body)
    assert text.status_code == 200 and "referrals to" in text.text
    svg = await insights.post("/simulations", params={"format": "svg"}, headers=OPS, json=body)
    assert svg.headers["content-type"].startswith("image/svg+xml") and svg.text.startswith("<svg")

    assert await snapshot(db) == before  # no table anywhere changed, insights' own included
    assert await db.fetchval("select count(*) from insights.outbox") == 0  # it has never emitted anything


async def test_its_tables_hold_no_person_data(insights, db):
    columns = [r["column_name"] for r in await db.fetch(
        "select column_name from information_schema.columns where table_schema = 'insights'")]
    assert "agency_kind" in columns
    assert not person_like(columns), person_like(columns)


async def test_bad_simulation_input_is_a_422_naming_the_field(insights):
    response = await insights.post("/simulations", headers=TRIAGE, json={
        "period_start": "2021-01-01", "period_end": "2021-12-31",
        "proposed_rules": load_rules().model_dump(mode="json") | {"thresholds": {"concern": 3}}})
    assert response.status_code == 422, response.text
    assert response.json()["detail"][0]["loc"][:3] == ["body", "proposed_rules", "thresholds"]


async def test_statistics_are_k_anonymous_audited_and_all_a_researcher_can_read(running, insights, db):
    busy, quiet = f"Ward busy-{RUN}", f"Ward quiet-{RUN}"
    a, b = await establishment(running, busy), await establishment(running, quiet)
    for day in range(1, 13):
        await inspect(running, a, "food_establishment", f"2019-02-{day:02d}")
    for day in range(1, 4):
        await inspect(running, b, "food_establishment", f"2019-03-{day:02d}")
    assert await eventually(lambda: db.fetchval(
        "select count(*) = 15 from insights.inspections where inspected_on between '2019-01-01' and '2019-03-31'"),
        timeout=90)

    # A researcher reads the published shape (quarter × area × program against category), one quarter.
    quarter = {"measure": "inspections", "period_start": "2019-01-01", "period_end": "2019-03-31"}
    response = await insights.get("/statistics", params=quarter, headers=RESEARCHER)
    assert response.status_code == 200, response.text
    release = response.json()
    assert release["row_labels"] == [f"2019-Q1 · {busy} · food_establishment",
                                     f"2019-Q1 · {quiet} · food_establishment"]
    assert release["column_labels"] == ["none"]
    # The 3 is hidden; so is the 12 beside it, or the 15 total would give the 3 away.
    assert release["values"] == [[None, None], [None, None], [15, 15]]
    assert release["k"] == 11 and release["cells_suppressed"] == 4
    # Another grouping, or part of a quarter, could be differenced against it: not for a researcher.
    regrouped = await insights.get("/statistics", params=quarter | {"rows": "area"}, headers=RESEARCHER)
    assert regrouped.status_code == 403, regrouped.text
    shorter = await insights.get("/statistics", params=quarter | {"period_end": "2019-03-30"}, headers=RESEARCHER)
    assert shorter.status_code == 403, shorter.text

    # Ops may group as it needs; every release obeys k all the same.
    params = [*quarter.items(), ("rows", "quarter"), ("rows", "area"), ("column", "category")]
    grouped = (await insights.get("/statistics", params=params, headers=OPS)).json()
    assert grouped["values"] == [[None, None], [None, None], [15, 15]]
    csv = await insights.get("/statistics", params=[*params, ("format", "csv")], headers=OPS)
    assert csv.status_code == 200 and f"2019-Q1 · {quiet},none,suppressed" in csv.text
    chart = await insights.get("/statistics", params=[*params, ("format", "svg")], headers=OPS)
    assert chart.text.startswith("<svg")

    for measure in ("red_flags", "cases_opened", "cases_closed", "referrals", "referrals_accepted",
                    "referrals_declined", "referrals_expired", "victim_service_engaged", "referrals_completed"):
        every = await insights.get("/statistics", params={"measure": measure}, headers=OPS)
        assert every.status_code == 200, (measure, every.text)
        assert all(v is None or v == 0 or v >= 11 for row in every.json()["values"] for v in row)

    too_small = await insights.get("/statistics", params=[*params, ("k", "5")], headers=OPS)
    assert too_small.status_code == 422 and too_small.json()["detail"][0]["loc"] == ["query", "k"]

    # A researcher reads the statistics and nothing else, here or in any other service.
    assert (await insights.post("/simulations", headers=RESEARCHER, json={})).status_code == 403
    assert (await insights.get("/statistics/releases", headers=RESEARCHER)).status_code == 403
    assert (await running.referral.get("/cases", headers=RESEARCHER)).status_code == 403
    assert (await running.inspection.get("/reports/red-flag-rate", headers=RESEARCHER)).status_code == 403
    assert (await running.notification.get("/deliveries", headers=RESEARCHER)).status_code == 403

    audit = (await insights.get("/statistics/releases", headers=OPS)).json()
    mine = [r for r in audit if r["release_id"] == release["release_id"]]
    assert len(mine) == 1
    assert (mine[0]["released_to"], mine[0]["role"], mine[0]["org"]) == (
        "test-state-task-force", "researcher", "state-task-force")
    assert mine[0]["parameters"]["measure"] == "inspections" and mine[0]["k"] == 11
