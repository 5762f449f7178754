"""Every use case of the inspection service on a fake unit of work: no broker, no database, milliseconds."""

from __future__ import annotations

import io
import uuid
import zipfile
from datetime import date

import pytest
from pydantic import ValidationError

from checklist_answers import FOOD_CLEAN, LODGING, MASSAGE_CLEAN
from inspection_fakes import FakeInspectionUnitOfWork
from pathways_contracts import CloudEvent
from pathways_contracts.events import (
    EstablishmentCertificationChanged,
    InspectionCompleted,
    InspectionScheduled,
    InspectionSubmitted,
    RedFlagEscalated,
    RedFlagRaised,
)
from pathways_contracts.vocab import Program
from pathways_inspection.domain.scheduling import Period
from pathways_inspection.domain.screening_view import ScreeningViewer
from pathways_inspection.entrypoints.http import viewer_for
from pathways_inspection.service_layer import reporting
from pathways_inspection.service_layer.commands import (
    ImportRegistry,
    RecordInspection,
    RequestFollowUp,
    UpsertEstablishment,
)
from pathways_inspection.service_layer.follow_ups import request_follow_up
from pathways_inspection.service_layer.recording import by_establishment, record_batch, record_inspection
from pathways_inspection.service_layer.registry import import_registry, upsert_establishment
from pathways_inspection.service_layer.submissions import on_submitted
from pathways_inspection.settings import InspectionSettings
from pathways_runtime.auth import Principal, Role
from pathways_runtime.errors import Conflict, Forbidden, InvalidCommand, NotFound, Unprocessable

pytestmark = pytest.mark.unit


async def establishment(uow, est_id="est-1", license_type="food_establishment", jurisdiction="metro-county",
                        status="active") -> str:
    await upsert_establishment(UpsertEstablishment(
        id=est_id, license_number=f"LIC-{est_id}", name=f"Establishment {est_id}", license_type=license_type,
        license_status=status, area="Ward 3", jurisdiction=jurisdiction), uow)
    return est_id


def inspection(est_id: str, program="food_establishment", codes=(), answers=None, on="2026-11-02",
               reason="routine", result="conditional", department="health-department", **more) -> RecordInspection:
    return RecordInspection(establishment_id=est_id, program=program, reason=reason, inspected_on=on, result=result,
                            indicator_codes=list(codes), answers=answers or {}, department=department,
                            recorded_by="inspector-7", **more)


def raised_only(uow) -> list[RedFlagRaised]:
    """RedFlagEscalated derives from RedFlagRaised: count the raised ones by their exact type."""
    return [e for e in uow.events(RedFlagRaised) if type(e) is RedFlagRaised]


@pytest.fixture
def uow() -> FakeInspectionUnitOfWork:
    return FakeInspectionUnitOfWork()


# --- recording ---------------------------------------------------------------------------------------

async def test_recording_stores_the_inspection_and_announces_it_in_one_committed_unit(uow):
    est = await establishment(uow)
    commits = uow.commits
    result = await record_inspection(inspection(est, answers=FOOD_CLEAN | {"obs_workers_living_on_site": True}), uow)
    assert result["created"] is True and result["red_flag"] is None
    assert result["indicator_codes"] == ["VUL-LIVING-ON-SITE"]  # implied by the checklist answer
    stored = uow.inspections.rows[result["inspection_id"]]
    assert (stored["department"], stored["recorded_by"]) == ("health-department", "inspector-7")
    [completed] = uow.events(InspectionCompleted)
    assert (completed.establishment_id, completed.jurisdiction, completed.area) == (est, "metro-county", "Ward 3")
    assert uow.commits == commits + 1
    assert uow.establishments.locked == [est]  # screening serialised per establishment


async def test_bad_codes_and_answers_name_each_field_and_nothing_is_stored(uow):
    est = await establishment(uow)
    with pytest.raises(InvalidCommand) as raised:
        await record_inspection(inspection(est, codes=["LAB-WAGE-THEFT", "NOT-A-CODE", "SEX-FORENSIC-LIGHT-POSITIVE"],
                                           answers=FOOD_CLEAN | {"san_pests": "maybe"}), uow)
    assert {p.loc for p in raised.value.problems} == {
        ("body", "indicator_codes", 1), ("body", "indicator_codes", 2), ("body", "answers", "san_pests")}
    assert uow.inspections.rows == {} and uow.events(InspectionCompleted) == []


async def test_an_unknown_establishment_is_a_field_problem_not_a_missing_resource(uow):
    with pytest.raises(InvalidCommand) as raised:
        await record_inspection(inspection("est-nowhere"), uow)
    assert [(p.loc, p.type) for p in raised.value.problems] == [(("body", "establishment_id"), "unknown_establishment")]
    assert uow.published == []


async def test_two_departments_together_raise_a_red_flag_and_a_follow_up(uow):
    est = await establishment(uow)
    food = await record_inspection(inspection(est, answers=FOOD_CLEAN | {"obs_workers_living_on_site": True}), uow)
    labor = await record_inspection(inspection(est, "labor_standards_site_visit", codes=["LAB-WAGE-THEFT"],
                                               department="labor-standards"), uow)
    flag = labor["red_flag"]
    assert (flag["status"], flag["level"], flag["score"]) == ("raised", "red_flag", 7.0)
    [raised] = raised_only(uow)
    assert raised.departments == ["health-department", "labor-standards"]
    assert sorted(map(str, raised.contributing_inspection_ids)) == sorted(
        [str(food["inspection_id"]), str(labor["inspection_id"])])
    [scheduled] = uow.events(InspectionScheduled)
    assert (scheduled.reason, scheduled.program, scheduled.red_flag_id) == (
        "red_flag", "labor_standards_site_visit", flag["red_flag_id"])
    assert uow.red_flags.rows[flag["red_flag_id"]]["explanation"]["score"] == 7.0


async def test_an_open_red_flag_is_not_raised_twice_and_a_minor_escalates_it(uow):
    est = await establishment(uow, license_type="massage")
    first = await record_inspection(inspection(est, "massage_establishment", answers=MASSAGE_CLEAN | {
        "forensic_lighting": "positive", "obs_workers_living_on_site": True, "lic_holder_present": False}), uow)
    assert first["red_flag"]["status"] == "raised"
    again = await record_inspection(inspection(est, "massage_establishment", answers=MASSAGE_CLEAN,
                                               on="2026-11-05"), uow)
    assert again["red_flag"]["status"] == "already open"
    minor = await record_inspection(inspection(est, "massage_establishment", reason="follow_up", on="2026-11-09",
                                               answers=MASSAGE_CLEAN | {"obs_minor_working": True}), uow)
    flag = minor["red_flag"]
    assert (flag["status"], flag["level"], flag["previous_level"]) == ("escalated", "urgent", "red_flag")
    assert flag["red_flag_id"] == first["red_flag"]["red_flag_id"]
    [escalated] = uow.events(RedFlagEscalated)
    assert escalated.minor_indicated is True and escalated.rule_ids == ["HR-MINOR-SEX"]
    assert len(raised_only(uow)) == 1 and len(uow.red_flags.rows) == 1
    assert uow.red_flags.rows[flag["red_flag_id"]]["level"] == "urgent"


async def test_failed_sanitation_schedules_one_follow_up_and_a_follow_up_visit_completes_it(uow):
    est = await establishment(uow)
    await record_inspection(inspection(est, answers=FOOD_CLEAN | {"san_pests": "fail"}), uow)
    await record_inspection(inspection(est, answers=FOOD_CLEAN | {"san_handwashing": "fail"}, on="2026-11-03"), uow)
    [scheduled] = uow.events(InspectionScheduled)  # a second failure does not pile up a second visit
    assert (scheduled.reason, scheduled.due_on) == ("failed_sanitation", date(2026, 12, 2))
    await record_inspection(inspection(est, answers=FOOD_CLEAN, on="2026-11-20", reason="follow_up"), uow)
    assert [f["status"] for f in await uow.follow_ups.of_establishment(est)] == ["done"]


async def test_clean_hotels_certification_changes_are_stored_and_published_once_each(uow):
    hotel = await establishment(uow, "hotel-1", "lodging")
    signed = LODGING | {"prev_clean_hotels_signed": True, "prev_clean_hotels_verified_on": "2026-10-30"}
    await record_inspection(inspection(hotel, "lodging", answers=signed), uow)
    await record_inspection(inspection(hotel, "lodging", answers=signed, on="2026-11-03"), uow)  # no change
    assert uow.establishments.rows[hotel]["clean_hotels_verified_on"] == date(2026, 10, 30)
    await record_inspection(inspection(hotel, "lodging", answers=LODGING | {"prev_clean_hotels_signed": False},
                                       on="2026-11-10"), uow)
    changes = uow.events(EstablishmentCertificationChanged)
    assert [(c.certified, c.previously_certified) for c in changes] == [(True, None), (False, True)]
    assert uow.establishments.rows[hotel]["clean_hotels_signed"] is False


async def test_a_resent_inspection_id_is_recorded_once(uow):
    est = await establishment(uow)
    cmd = inspection(est, codes=["LAB-WAGE-THEFT"], inspection_id=uuid.uuid4())
    assert (await record_inspection(cmd, uow))["created"] is True
    assert (await record_inspection(cmd, uow))["created"] is False
    assert len(uow.inspections.rows) == 1 and len(uow.events(InspectionCompleted)) == 1


# --- inspection.submitted ----------------------------------------------------------------------------

def submitted(est_id: str, codes: list[str], **more) -> CloudEvent[InspectionSubmitted]:
    data = InspectionSubmitted(inspection_id=uuid.uuid4(), establishment_id=est_id, department="labor-standards",
                               source_system="labor-case-system", program="labor_standards_site_visit",
                               reason="complaint", inspected_on="2026-11-02", result="conditional",
                               indicator_codes=codes, **more)
    return CloudEvent(data=data, source="/departments/labor-standards/case-system")


async def test_a_submitted_event_goes_through_the_same_use_case_as_http(uow):
    est = await establishment(uow)
    event = submitted(est, ["LAB-WAGE-THEFT"])
    await on_submitted(event, uow)
    await on_submitted(event, uow)  # redelivered or resent: recorded once
    stored = uow.inspections.rows[event.data.inspection_id]
    assert (stored["department"], stored["recorded_by"]) == ("labor-standards", "labor-case-system")
    assert [e.inspection_id for e in uow.events(InspectionCompleted)] == [event.data.inspection_id]


async def test_a_bad_submission_is_unprocessable_with_each_field_named(uow):
    est = await establishment(uow)
    with pytest.raises(Unprocessable, match=r"indicator_codes\.1: 'NOT-A-CODE'"):
        await on_submitted(submitted(est, ["LAB-WAGE-THEFT", "NOT-A-CODE"]), uow)
    with pytest.raises(Unprocessable, match="interpreter_language"):
        await on_submitted(submitted(est, [], interpreter_language="es\x00"), uow)  # NUL: PostgreSQL refuses it
    with pytest.raises(Unprocessable, match="establishment_id"):
        await on_submitted(submitted("est-nowhere", []), uow)
    assert uow.inspections.rows == {}


# --- bulk intake -------------------------------------------------------------------------------------

async def test_a_batch_records_the_good_items_and_names_each_bad_one_by_index(uow):
    a, b = await establishment(uow, "est-a"), await establishment(uow, "est-b")
    resent = str(uuid.uuid4())
    items = [
        {"establishment_id": b, "program": "food_establishment", "reason": "routine", "inspected_on": "2026-11-02",
         "result": "pass", "inspection_id": resent},
        {"establishment_id": a, "program": "food_establishment", "reason": "routine", "inspected_on": "2026-11-02",
         "result": "pass", "indicator_codes": ["NOT-A-CODE"]},
        {"establishment_id": a, "program": "casino", "reason": "routine", "inspected_on": "2026-11-02", "result": "pass"},
        {"establishment_id": "est-nowhere", "program": "food_establishment", "reason": "routine",
         "inspected_on": "2026-11-02", "result": "pass"},
        {"establishment_id": a, "program": "food_establishment", "reason": "routine", "inspected_on": "2026-11-02",
         "result": "pass", "department": "police-department"},
        "not an object",
        {"establishment_id": a, "program": "food_establishment", "reason": "routine", "inspected_on": "2026-11-03",
         "result": "pass", "name": "x\x00"},
        {"establishment_id": a, "program": "food_establishment", "reason": "routine", "inspected_on": "2026-11-04",
         "result": "pass"},
        {"establishment_id": b, "program": "food_establishment", "reason": "routine", "inspected_on": "2026-11-02",
         "result": "pass", "inspection_id": resent},
    ]
    results = await record_batch(items, {"department": "health-department", "recorded_by": "sync"}, uow, chunk=3)
    assert [r["index"] for r in results] == list(range(len(items)))
    assert [r["status"] for r in results] == [201, 422, 422, 422, 422, 422, 422, 201, 200]
    locs = {r["index"]: [tuple(d["loc"]) for d in r.get("detail", [])] for r in results}
    assert locs[1] == [("body", "inspections", 1, "indicator_codes", 0)]
    assert locs[2] == [("body", "inspections", 2, "program")]
    assert locs[3] == [("body", "inspections", 3, "establishment_id")]
    assert locs[4] == [("body", "inspections", 4, "department")]  # who recorded it comes from the token
    assert locs[5] == [("body", "inspections", 5)]
    assert locs[6] == [("body", "inspections", 6, "name")]
    assert len(uow.inspections.rows) == 2 and {r["department"] for r in uow.inspections.rows.values()} == {
        "health-department"}
    assert len(uow.events(InspectionCompleted)) == 2  # the good items' events were committed with their chunk


async def test_a_batch_in_lanes_keeps_each_establishments_inspections_in_one_lane_in_their_order(uow):
    ests = [await establishment(uow, f"est-{n}") for n in range(5)]
    items = [{"establishment_id": ests[i % 5], "program": "food_establishment", "reason": "routine",
              "inspected_on": f"2026-11-{1 + i // 5:02d}", "result": "pass"} for i in range(23)]
    results = await record_batch(items, {"department": "health-department", "recorded_by": "sync"}, uow, chunk=4,
                                 lanes=3)
    assert [r["index"] for r in results] == list(range(23)) and {r["status"] for r in results} == {201}
    completed = uow.events(InspectionCompleted)
    assert len(completed) == 23
    for est in ests:  # each establishment's inspections were recorded (and announced) in the batch's order
        days = [e.inspected_on for e in completed if e.establishment_id == est]
        assert days == sorted(days) and len(days) == len({*days})


async def test_a_failing_lane_fails_the_batch_with_its_own_error_not_a_group(uow):
    ests = [await establishment(uow, f"est-{n}") for n in range(3)]

    async def database_gone(inspection):
        raise ConnectionError("the database went away")

    uow.inspections.add = database_gone
    items = [{"establishment_id": est, "program": "food_establishment", "reason": "routine",
              "inspected_on": "2026-11-02", "result": "pass"} for est in ests]
    with pytest.raises(ConnectionError, match="went away"):  # the edge maps it to a 503, as with one lane
        await record_batch(items, {"department": "health-department", "recorded_by": "sync"}, uow, lanes=3)


def test_lanes_share_the_establishments_without_splitting_one():
    commands = [(i, RecordInspection(establishment_id=est, program="food_establishment", reason="routine",
                                     inspected_on="2026-11-02", result="pass", department="d", recorded_by="r"))
                for i, est in enumerate("aaaaabbbcdde")]
    shares = by_establishment(commands, 3)
    assert sorted(i for share in shares for i, _ in share) == list(range(12))
    owners = {cmd.establishment_id: n for n, share in enumerate(shares) for _, cmd in share}
    assert all(owners[cmd.establishment_id] == n for n, share in enumerate(shares) for _, cmd in share)
    assert sorted(len(share) for share in shares) == [3, 4, 5]  # a (5) alone; b (3), d (2), c and e (1) in two
    assert all([i for i, _ in share] == sorted(i for i, _ in share) for share in shares)
    assert len(by_establishment(commands[:2], 3)) == 1  # no more lanes than establishments


# --- follow-ups a department asks for -----------------------------------------------------------------

async def test_a_requested_follow_up_is_scheduled_once_and_announced(uow):
    est = await establishment(uow)
    cmd = RequestFollowUp(establishment_id=est, due_on="2026-11-20", requested_by="health", idempotency_key="k1")
    scheduled, created = await request_follow_up(cmd, uow)
    assert created and (scheduled["program"], scheduled["reason"]) == ("food_establishment", "requested")
    [event] = uow.events(InspectionScheduled)
    assert (event.scheduled_inspection_id, event.reason) == (scheduled["id"], "requested")
    assert await request_follow_up(cmd, uow) == (scheduled, False)  # same key
    other = await request_follow_up(cmd.model_copy(update={"idempotency_key": "k2"}), uow)
    assert (other[0]["id"], other[1]) == (scheduled["id"], False)  # one pending visit per program
    assert len(uow.events(InspectionScheduled)) == 1


async def test_follow_up_requests_name_the_field_they_cannot_honour(uow):
    est = await establishment(uow, license_type="nightclub")
    with pytest.raises(InvalidCommand) as unknown:
        await request_follow_up(RequestFollowUp(establishment_id="nope", due_on="2026-11-20", requested_by="h"), uow)
    assert unknown.value.problems[0].loc == ("body", "establishment_id")
    with pytest.raises(InvalidCommand) as no_program:
        await request_follow_up(RequestFollowUp(establishment_id=est, due_on="2026-11-20", requested_by="h"), uow)
    assert no_program.value.problems[0].loc == ("body", "program")
    with pytest.raises(InvalidCommand) as no_flag:
        await request_follow_up(RequestFollowUp(establishment_id=est, due_on="2026-11-20", requested_by="h",
                                                program="food_establishment", red_flag_id=uuid.uuid4()), uow)
    assert no_flag.value.problems[0].loc == ("body", "red_flag_id")
    assert uow.events(InspectionScheduled) == [] and uow.follow_ups.rows == {}


# --- the registry -------------------------------------------------------------------------------------

async def test_an_establishment_is_upserted_by_license_number_and_ids_cannot_be_taken(uow):
    body = dict(id="est-1", license_number="L1", name="Spa", license_type="massage", license_status="active",
                jurisdiction="metro")
    assert await upsert_establishment(UpsertEstablishment(**body), uow) == {"id": "est-1", "created": True}
    assert await upsert_establishment(UpsertEstablishment(**body | {"name": "Spa 2"}), uow) == {
        "id": "est-1", "created": False}
    assert uow.establishments.rows["est-1"]["name"] == "Spa 2"
    with pytest.raises(Conflict, match="^id: .*license_number 'L1'"):
        await upsert_establishment(UpsertEstablishment(**body | {"license_number": "L2"}), uow)
    with pytest.raises(Conflict, match="^license_number: 'L1' belongs to establishment 'est-1'"):
        await upsert_establishment(UpsertEstablishment(**body | {"id": "est-2"}), uow)
    assert list(uow.establishments.rows) == ["est-1"]


@pytest.mark.parametrize("field,value", [("name", "Spa\x00"), ("name", "Spa\ud800"), ("jurisdiction", "\x00"),
                                         ("id", "a\x00b"), ("license_type", "x" * 101)])
def test_establishment_text_postgresql_cannot_store_is_refused_by_the_command(field, value):
    body = dict(id="est-1", license_number="L1", name="Spa", license_type="massage", license_status="active",
                jurisdiction="metro")
    with pytest.raises(ValidationError) as raised:
        UpsertEstablishment(**body | {field: value})
    assert [e["loc"] for e in raised.value.errors()] == [(field,)]


HEADER = "license_number,name,license_type,license_status,license_expiry,address,area,jurisdiction\n"


async def test_a_registry_import_keeps_good_rows_and_reports_bad_ones_across_chunks(uow):
    await upsert_establishment(UpsertEstablishment(id="T-3", license_number="OTHER", name="By hand",
                                                   license_type="massage", license_status="active",
                                                   jurisdiction="j"), uow)
    text = (HEADER + "T-1,Spa,massage,active,2030-12-31,,W1,j\nT-2,,massage,active,,,W1,j\n"
            "T-3,Spa,massage,active,,,W1,j\nT-4,Spa\x00,massage,active,,,W1,j\n")
    import_id = uuid.uuid4()
    report = await import_registry(ImportRegistry(text=text, import_id=import_id), uow)
    assert (report["accepted"], report["created"], report["rejected"]) == (1, 1, 3)
    assert [(r["line"], list(r["fields"])) for r in report["rejects"]] == [
        (3, ["name"]), (4, ["license_number"]), (5, ["name"])]
    later_chunk = await import_registry(ImportRegistry(text=HEADER + "T-1,Spa,massage,active,,,W1,j\n",
                                                       line_offset=10, import_id=import_id), uow)
    assert later_chunk["rejects"] == [{"line": 12, "fields": ["license_number"],
                                       "reason": "license_number: duplicate of line 2"}]
    again = await import_registry(ImportRegistry(text=HEADER + "T-1,Spa Renamed,massage,active,,,W1,j\n"), uow)
    assert (again["created"], again["updated"]) == (0, 1)
    assert uow.establishments.rows["T-1"]["name"] == "Spa Renamed"


# --- reads ---------------------------------------------------------------------------------------------

async def test_registry_reads_and_a_missing_establishment(uow):
    est = await establishment(uow, jurisdiction="j1")
    await establishment(uow, "est-2", jurisdiction="j2")
    assert [e["id"] for e in await reporting.list_establishments(uow, "j1", None, 10, 0)] == [est]
    assert [e["id"] for e in await reporting.list_establishments(uow, None, None, 10, 1)] == ["est-2"]
    await record_inspection(inspection(est, answers=FOOD_CLEAN | {"san_pests": "fail"}), uow)
    found = await reporting.establishment_with_follow_ups(uow, est)
    assert [f["reason"] for f in found["follow_ups"]] == ["failed_sanitation"]
    with pytest.raises(NotFound):
        await reporting.establishment_with_follow_ups(uow, "nope")


async def flagged(uow) -> str:
    est = await establishment(uow)
    await record_inspection(inspection(est, answers=FOOD_CLEAN | {"obs_workers_living_on_site": True}), uow)
    await record_inspection(inspection(est, "labor_standards_site_visit", codes=["LAB-WAGE-THEFT"],
                                       department="labor-standards"), uow)
    return est


async def test_the_triage_team_reads_the_whole_screening(uow):
    est = await flagged(uow)
    seen = await reporting.screening_of(uow, est, date(2026, 11, 10), ScreeningViewer(None))
    breakdown = {c["code"]: c for c in seen["assessment"]["breakdown"]}
    assert {code: c["weight"] for code, c in breakdown.items()} == {"LAB-WAGE-THEFT": 3.0, "VUL-LIVING-ON-SITE": 4.0}
    assert seen["assessment"]["minor_indicated"] is False and seen["red_flag"]["explanation"]["score"] == 7.0
    with pytest.raises(NotFound):
        await reporting.screening_of(uow, "nope", date(2026, 11, 10), ScreeningViewer(None))


async def test_the_police_read_the_screening_as_their_redaction_policy_says(uow):
    est = await flagged(uow)
    seen = await reporting.screening_of(uow, est, date(2026, 11, 10), ScreeningViewer("police"))
    text = repr(seen)
    assert "VUL-" not in text and "victim_vulnerability" not in text
    for withheld in ("score", "minor_indicated", "weight"):
        assert withheld not in text
    assert seen["assessment"]["indicator_codes"] == ["LAB-WAGE-THEFT"]
    # Only the labor inspection saw a code the police may see: the health one must not show as contributing.
    assert seen["assessment"]["departments"] == ["labor-standards"]
    assert len(seen["assessment"]["contributing_inspection_ids"]) == 1
    assert seen["red_flag"]["level"] == "red_flag" and seen["red_flag"]["status"] == "open"


async def test_plan_coverage_red_flag_rate_and_open_data_read_the_store(uow):
    est = await flagged(uow)
    await establishment(uow, "est-closed", status="revoked")
    plan = await reporting.plan(uow, Program.FOOD, date(2027, 1, 1), 365, 1, 4, 0, "metro-county")
    assert plan["active_establishments"] == 1 and [v["establishment_id"] for v in plan["visits"]] == [est]
    assert [f["reason"] for f in plan["follow_ups"]] == []  # the red flag's visit is the labor program's
    period = Period(date(2026, 1, 1), 365)
    coverage = await reporting.coverage(uow, period, "metro-county")
    assert [(r["program"], r["active"], r["inspected"]) for r in coverage if r["program"] == "food_establishment"] \
        == [("food_establishment", 1, 1)]
    rate = {r["reason"]: r for r in await reporting.red_flag_rate(uow, period)}
    assert (rate["routine"]["inspections"], rate["routine"]["red_flagged"]) == (2, 2)
    files = zipfile.ZipFile(io.BytesIO(await reporting.lives_zip(uow, "metro-county")))
    everything = b"".join(files.read(n) for n in files.namelist()).decode()
    assert sorted(files.namelist()) == ["businesses.csv", "inspections.csv", "violations.csv"]
    assert "VUL-" not in everything and "LAB-WAGE-THEFT" not in everything


async def test_ops_see_no_indicator_at_all_and_an_unknown_role_reads_nothing(uow):
    est = await flagged(uow)
    ops = await reporting.screening_of(uow, est, date(2026, 11, 10), ScreeningViewer("ops"))
    assert ops["assessment"]["breakdown"] == [] and "indicator_codes" not in ops["assessment"]
    assert ops["assessment"]["level"] == "red_flag"
    with pytest.raises(Forbidden):
        await reporting.screening_of(uow, est, date(2026, 11, 10), ScreeningViewer("nobody"))


@pytest.mark.parametrize("role,org,view", [
    (Role.TRIAGE, "mdt", None), (Role.OPS, "ops", "ops"), (Role.DEPARTMENT, "police-department", "police"),
    (Role.INSPECTOR, "labor-standards", "labor"), (Role.DEPARTMENT, "unheard-of", "ops")])
def test_the_screening_view_comes_from_the_token_and_an_unknown_organisation_gets_the_narrowest(role, org, view):
    who = Principal(subject="s", role=role, org=org)
    assert viewer_for(who, InspectionSettings().department_roles).role == view
