"""POST /inspections/batch over the real database and broker: every good item recorded and announced, every
bad one named by its index with its fields, a resent item not recorded twice."""

from __future__ import annotations

import json
import uuid

import pytest

from inspection_settling import wait_until_settled
from pathways_runtime.auth import Role
from support import bearer, eventually, read_all

pytestmark = pytest.mark.integration
HEALTH = bearer(Role.INSPECTOR, "health-department")
OPS = bearer(Role.OPS, "ops")


@pytest.fixture(scope="module", autouse=True)
async def downstream_settles_after_this_module(running):
    yield
    await wait_until_settled(running)


async def test_a_batch_of_500_keeps_its_480_good_items_and_names_the_20_bad_ones(running, infrastructure):
    tag = uuid.uuid4().hex[:8]
    ids = [f"bulk-{tag}-{n}" for n in range(50)]
    for est in ids:
        response = await running.inspection.post("/establishments", headers=OPS, json={
            "id": est, "license_number": f"LIC-{est}", "name": "Bulk " + est, "license_type": "food_establishment",
            "license_status": "active", "jurisdiction": "metro-county"})
        assert response.status_code == 201, response.text

    items, bad = [], {}
    for n in range(500):
        item = {"establishment_id": ids[n % 50], "program": "food_establishment", "reason": "routine",
                "inspected_on": f"2026-10-{1 + n // 50:02d}", "result": "pass", "inspection_id": str(uuid.uuid4())}
        if n % 25 == 7:
            kind = ("code", "establishment", "nul", "department")[len(bad) % 4]
            bad[n] = kind
            item |= {"code": {"indicator_codes": ["NOT-A-CODE"]}, "establishment": {"establishment_id": "nowhere"},
                     "nul": {"interpreter_language": "es\x00"}, "department": {"department": "police"}}[kind]
        items.append(item)
    assert len(bad) == 20

    response = await running.inspection.post("/inspections/batch", headers=HEALTH, json={"inspections": items})
    assert response.status_code == 200, response.text
    report = response.json()
    assert (report["recorded"], report["rejected"]) == (480, 20)
    results = report["results"]
    assert [r["index"] for r in results] == list(range(500))
    rejected = {r["index"]: r for r in results if r["status"] == 422}
    assert set(rejected) == set(bad)
    field = {"code": "indicator_codes", "establishment": "establishment_id", "nul": "interpreter_language",
             "department": "department"}
    for index, kind in bad.items():
        locs = [d["loc"] for d in rejected[index]["detail"]]
        assert locs[0][:4] == ["body", "inspections", index, field[kind]], (index, locs)
    assert all(r["status"] == 201 for r in results if r["index"] not in bad)

    pool = running.services["inspection"].pool
    stored = await pool.fetch("select id, department from inspection.inspections where establishment_id = any($1)",
                              ids)
    assert len(stored) == 480 and {r["department"] for r in stored} == {"health-department"}

    async def announced():
        keys = {est.encode() for est in ids}
        found = [r for r in await read_all(infrastructure.kafka, "inspection.completed") if r.key in keys]
        return found if len(found) >= 480 else None

    completed = await eventually(announced, timeout=60)
    assert len({json.loads(r.value)["inspection_id"] for r in completed}) == 480

    again = await running.inspection.post("/inspections/batch", headers=HEALTH,
                                          json={"inspections": [items[0], items[1]]})
    assert [r["status"] for r in again.json()["results"]] == [200, 200]  # resent: already recorded
    assert await pool.fetchval("select count(*) from inspection.inspections where establishment_id = any($1)",
                               ids) == 480


async def test_a_batch_is_for_inspectors_and_has_a_size_limit(running):
    item = {"establishment_id": "x", "program": "food_establishment", "reason": "routine",
            "inspected_on": "2026-10-01", "result": "pass"}
    assert (await running.inspection.post("/inspections/batch", headers=OPS,
                                          json={"inspections": [item]})).status_code == 403
    too_many = await running.inspection.post("/inspections/batch", headers=HEALTH,
                                             json={"inspections": [item] * 1001})
    assert too_many.status_code == 422 and too_many.json()["detail"][0]["loc"] == ["body", "inspections"]
    empty = await running.inspection.post("/inspections/batch", headers=HEALTH, json={"inspections": []})
    assert empty.status_code == 422
