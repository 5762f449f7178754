"""A chunk of POST /inspections/batch reads what its items need at once (establishments, resends, the screening
window, open red flags) and then works from memory. Over the real database: the same inspections recorded one
by one (a request each: a chunk of one, nothing carried from one item to the next) on a mirror set of
establishments come to the same results and the same stored state, item for item — several inspections of one establishment in one chunk, a resend inside the chunk, a
red flag raised and escalated inside it, one open before it, certification changes and follow-ups."""

from __future__ import annotations

import uuid

import pytest

from checklist_answers import FOOD_CLEAN, LODGING, MASSAGE_CLEAN
from inspection_settling import wait_until_settled
from pathways_runtime.auth import Role
from support import bearer

pytestmark = pytest.mark.integration
HEALTH = bearer(Role.INSPECTOR, "health-department")
OPS = bearer(Role.OPS, "ops")
RAISES = MASSAGE_CLEAN | {"forensic_lighting": "positive", "obs_workers_living_on_site": True,
                          "lic_holder_present": False}
KINDS = {"massage": "massage", "massage-open": "massage", "hotel": "lodging", "food": "food_establishment"}


@pytest.fixture(scope="module", autouse=True)
async def downstream_settles_after_this_module(running):
    yield
    await wait_until_settled(running)


def scenario(est: dict[str, str]) -> list[dict]:
    """The items, in order, on the establishments ``est`` names (its keys: KINDS)."""
    def item(kind: str, program: str, answers: dict, on: str, reason: str = "routine") -> dict:
        return {"establishment_id": est[kind], "program": program, "reason": reason, "inspected_on": on,
                "result": "conditional", "answers": answers, "inspection_id": str(uuid.uuid4())}

    clean_visit = item("massage", "massage_establishment", MASSAGE_CLEAN, "2026-11-05")
    return [
        item("massage", "massage_establishment", RAISES, "2026-11-02"),  # raised in the chunk
        clean_visit,  # already open: raised by the item before, in memory
        dict(clean_visit),  # a resend inside the chunk: not recorded twice
        item("massage", "massage_establishment", MASSAGE_CLEAN | {"obs_minor_working": True}, "2026-11-09",
             "follow_up"),  # escalates the flag raised in the chunk
        item("massage", "massage_establishment", MASSAGE_CLEAN, "2026-11-12"),  # already open, at its new level
        item("massage-open", "massage_establishment", MASSAGE_CLEAN, "2026-11-06"),  # open before the chunk
        item("massage-open", "massage_establishment", MASSAGE_CLEAN | {"obs_minor_working": True}, "2026-11-07"),
        item("hotel", "lodging", LODGING | {"prev_clean_hotels_signed": True,
                                            "prev_clean_hotels_verified_on": "2026-10-30"}, "2026-11-02"),
        item("hotel", "lodging", LODGING | {"prev_clean_hotels_signed": True,
                                            "prev_clean_hotels_verified_on": "2026-10-30"}, "2026-11-03"),
        item("hotel", "lodging", LODGING | {"prev_clean_hotels_signed": False}, "2026-11-10"),
        item("food", "food_establishment", FOOD_CLEAN | {"san_pests": "fail"}, "2026-11-02"),
        item("food", "food_establishment", FOOD_CLEAN | {"san_handwashing": "fail"}, "2026-11-03"),
        item("food", "food_establishment", FOOD_CLEAN, "2026-11-20", "follow_up"),
        {**item("food", "food_establishment", FOOD_CLEAN, "2026-11-21"), "establishment_id": f"nowhere-{est['food']}"},
    ]


async def establishments(running, tag: str) -> dict[str, str]:
    est = {kind: f"ahead-{tag}-{kind}" for kind in KINDS}
    for kind, est_id in est.items():
        response = await running.inspection.post("/establishments", headers=OPS, json={
            "id": est_id, "license_number": f"LIC-{est_id}", "name": f"Read ahead {est_id}",
            "license_type": KINDS[kind], "license_status": "active", "jurisdiction": "metro-county"})
        assert response.status_code == 201, response.text
    # A red flag open before the batch: the chunk must read it (and the inspection behind it) from the database.
    before = {"establishment_id": est["massage-open"], "program": "massage_establishment", "reason": "routine",
              "inspected_on": "2026-11-01", "result": "conditional", "answers": RAISES}
    response = await running.inspection.post("/inspections", headers=HEALTH, json=before)
    assert response.json()["red_flag"]["status"] == "raised", response.text
    return est


def outcome(result: dict) -> tuple:
    """What an item's result says, without its ids (the two sets have their own)."""
    flag = result.get("red_flag") or {}
    return (result.get("created"), flag.get("status"), flag.get("level"), flag.get("score"),
            flag.get("previous_level"), "detail" in result)


async def stored(pool, est: dict[str, str]) -> dict:
    """The stored state of the set, by establishment kind."""
    state = {}
    for kind, est_id in est.items():
        state[kind] = {
            "inspections": await pool.fetchval("select count(*) from inspection.inspections"
                                               " where establishment_id = $1", est_id),
            "flags": [tuple(r) for r in await pool.fetch(
                "select level, status, score from inspection.red_flags where establishment_id = $1 order by raised_at",
                est_id)],
            "follow_ups": sorted(tuple(r) for r in await pool.fetch(
                "select reason, program, status from inspection.scheduled_inspections where establishment_id = $1",
                est_id)),
            "certification": tuple(await pool.fetchrow(
                "select clean_hotels_signed, clean_hotels_verified_on from inspection.establishments where id = $1",
                est_id)),
        }
    return state


async def test_a_chunk_read_at_once_records_what_one_by_one_records(running):
    tag = uuid.uuid4().hex[:6]
    batch_set, single_set = await establishments(running, f"b{tag}"), await establishments(running, f"s{tag}")

    items = scenario(batch_set)
    response = await running.inspection.post("/inspections/batch", headers=HEALTH, json={"inspections": items})
    assert response.status_code == 200, response.text
    in_batch = response.json()["results"]

    one_by_one = []
    for item in scenario(single_set):
        single = await running.inspection.post("/inspections/batch", headers=HEALTH, json={"inspections": [item]})
        assert single.status_code == 200, single.text
        one_by_one += single.json()["results"]
    assert [outcome(r) for r in in_batch] == [outcome(r) for r in one_by_one]
    assert [r["status"] for r in in_batch] == [r["status"] for r in one_by_one] == [201, 201, 200, 201, 201, 201, 201, 201, 201, 201, 201, 201, 201, 422]
    statuses = [outcome(r)[1] for r in in_batch]
    assert statuses[:7] == ["raised", "already open", None, "escalated", "already open", "already open",
                            "escalated"]
    assert outcome(in_batch[4])[2] == "urgent"

    pool = running.services["inspection"].pool
    state = await stored(pool, batch_set)
    assert state == await stored(pool, single_set)
    assert state["massage"]["inspections"] == 4 and state["massage"]["flags"][0][:2] == ("urgent", "open")
    assert state["hotel"]["certification"] == (False, None)
    assert ("failed_sanitation", "food_establishment", "done") in state["food"]["follow_ups"]
