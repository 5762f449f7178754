"""The insights use cases on a fake unit of work: projecting the bus, releasing statistics, and what it never holds."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from insights_fakes import FakeInsightsUnitOfWork
from pathways_contracts import CloudEvent
from pathways_contracts.events import (
    CaseClosed,
    CaseOpened,
    InspectionCompleted,
    RedFlagEscalated,
    RedFlagRaised,
    ReferralClosed,
    ReferralCreated,
    VictimServiceEngaged,
)
from pathways_contracts.privacy import person_like
from pathways_contracts.vocab import Level, ReferralStatus
from pathways_insights.domain.statistics import Dimension, Fact, Measure, category_of, quarter
from pathways_insights.entrypoints.consumers import CONSUMED, on_event
from pathways_insights.service_layer import commands
from pathways_insights.service_layer.commands import ReleaseStatistics, Requester
from pathways_insights.service_layer.handlers import handle_release_statistics
from pathways_runtime.errors import Forbidden, InvalidCommand

pytestmark = pytest.mark.unit
SOURCE = "/pathways/test"
AT = datetime(2026, 3, 4, 10, tzinfo=UTC)
PACKAGE = Path(__import__("pathways_insights").__file__).parent


def completed(**overrides) -> InspectionCompleted:
    fields = dict(inspection_id=uuid.uuid4(), establishment_id="EST-1", jurisdiction="default", area="north",
                  department="health", program="food_establishment", reason="routine",
                  inspected_on=date(2026, 3, 1), result="fail",
                  indicator_codes=["LAB-WAGE-THEFT", "SEX-PARAPHERNALIA"])
    return InspectionCompleted(**fields | overrides)


async def test_an_inspection_is_projected_once_with_its_category():
    uow = FakeInsightsUnitOfWork()
    event = CloudEvent(completed(), SOURCE)
    await on_event(event, uow)
    await on_event(CloudEvent(event.data, SOURCE), uow)  # the same inspection again, under a new event id
    [(inspection, result, category)] = uow.projection.inspections.values()
    assert (inspection.establishment_id, inspection.area, result, category) == ("EST-1", "north", "fail", "both")
    assert inspection.indicator_codes == ("LAB-WAGE-THEFT", "SEX-PARAPHERNALIA")
    assert uow.published == []  # insights emits nothing


async def test_red_flags_cases_and_referral_steps_are_projected():
    uow = FakeInsightsUnitOfWork()
    flag = dict(red_flag_id=uuid.uuid4(), establishment_id="EST-1", jurisdiction="default", score=7.0,
                categories=["labor"], indicator_codes=["LAB-WAGE-THEFT"], contributing_inspection_ids=[],
                departments=["labor"], rules_version="default.v1", raised_at=AT)
    await on_event(CloudEvent(RedFlagRaised(level=Level.RED_FLAG, **flag), SOURCE), uow)
    await on_event(CloudEvent(RedFlagEscalated(level=Level.URGENT, previous_level=Level.RED_FLAG,
                                               **flag | {"categories": ["labor", "sex"]}), SOURCE), uow)
    assert uow.projection.red_flags[flag["red_flag_id"]] == {
        "raised_on": date(2026, 3, 4), "establishment_id": "EST-1", "level": "urgent", "category": "both"}

    case_id, referral_id = uuid.uuid4(), uuid.uuid4()
    await on_event(CloudEvent(CaseOpened(case_id=case_id, establishment_id="EST-1", jurisdiction="default",
                                         red_flag_id=flag["red_flag_id"], level=Level.RED_FLAG,
                                         categories=["labor"], opened_at=AT), SOURCE), uow)
    await on_event(CloudEvent(VictimServiceEngaged(referral_id=referral_id, case_id=case_id, agency_id="A",
                                                   engaged_at=AT), SOURCE), uow)  # before its creation: any order
    await on_event(CloudEvent(ReferralCreated(
        referral_id=referral_id, case_id=case_id, agency_id="A", establishment_id="EST-1", jurisdiction="default",
        service="victim_services", level=Level.RED_FLAG, rule_id="R-DEFAULT-LABOR", policy_version="default.v1",
        due_by=AT, created_at=AT), SOURCE), uow)
    await on_event(CloudEvent(ReferralClosed(referral_id=referral_id, case_id=case_id, agency_id="A",
                                             status=ReferralStatus.COMPLETED, closed_at=AT), SOURCE), uow)
    await on_event(CloudEvent(CaseClosed(case_id=case_id, establishment_id="EST-1", outcome="services engaged",
                                         closed_at=AT), SOURCE), uow)
    assert uow.projection.cases[case_id] == {"establishment_id": "EST-1", "category": "labor",
                                             "opened_on": date(2026, 3, 4), "outcome": "services engaged",
                                             "closed_on": date(2026, 3, 4)}
    assert uow.projection.referrals[referral_id] == {
        "case_id": case_id, "engaged_on": date(2026, 3, 4), "agency_kind": "victim_services",
        "created_on": date(2026, 3, 4), "closed_on": date(2026, 3, 4), "closed_status": "completed"}


def test_categories_and_quarters():
    assert [category_of(c) for c in ([], ["sex"], ["labor"], ["sex", "labor"], ["both"], ["labor", "both"])] == [
        "none", "sex", "labor", "both", "both", "both"]
    assert [quarter(date(2026, m, 1)) for m in (1, 3, 4, 9, 10, 12)] == [
        "2026-Q1", "2026-Q1", "2026-Q2", "2026-Q3", "2026-Q4", "2026-Q4"]


RESEARCHER = Requester(subject="dev-task-force", role="researcher", org="state-task-force")
OPS = Requester(subject="dev-ops", role="ops", org="ops")


def _release(**overrides) -> ReleaseStatistics:
    fields = dict(measure=Measure.REFERRALS, rows=(Dimension.QUARTER, Dimension.AREA), column=Dimension.AGENCY_KIND,
                  period_start=date(2026, 1, 1), period_end=date(2026, 12, 31), requested_by=OPS)
    return ReleaseStatistics(**fields | overrides)


def _referrals(uow: FakeInsightsUnitOfWork, area: str, kind: str, n: int, on: date = date(2026, 2, 1)) -> None:
    uow.projection.facts_by_measure.setdefault(Measure.REFERRALS, []).extend(
        Fact(on, area, "food_establishment", "labor", kind) for _ in range(n))


async def test_a_release_hides_small_counts_and_records_who_asked_and_how():
    uow = FakeInsightsUnitOfWork()
    _referrals(uow, "north", "victim_services", 30)
    _referrals(uow, "north", "labor_standards", 3)  # a small count
    _referrals(uow, "south", "victim_services", 25)
    _referrals(uow, "south", "labor_standards", 40)
    release = await handle_release_statistics(_release(), uow, minimum_k=11)

    assert release.row_labels == ["2026-Q1 · north", "2026-Q1 · south"]
    assert release.column_labels == ["labor_standards", "victim_services"]
    assert release.values[0][0] is None  # the 3
    assert all(v is None or v == 0 or v >= 11 for row in release.values for v in row)
    assert release.cells_suppressed >= 4 and release.k == 11
    [audit] = uow.releases.rows
    assert audit["released_to"] == "dev-ops" and audit["role"] == "ops"
    assert audit["parameters"] == {"measure": "referrals", "rows": ["quarter", "area"], "column": "agency_kind",
                                   "period_start": "2026-01-01", "period_end": "2026-12-31"}
    assert (audit["k"], audit["cells_suppressed"]) == (11, release.cells_suppressed)
    assert uow.commits == 1 and uow.published == []


async def test_k_may_be_raised_per_release_but_never_under_the_configured_one():
    uow = FakeInsightsUnitOfWork()
    _referrals(uow, "north", "victim_services", 30)
    _referrals(uow, "south", "victim_services", 12)
    release = await handle_release_statistics(_release(k=20), uow, minimum_k=11)
    assert release.k == 20 and release.values[1][0] is None  # 12 is under 20
    with pytest.raises(InvalidCommand) as refused:
        await handle_release_statistics(_release(k=12), uow, minimum_k=15)
    assert refused.value.problems[0].loc == ("body", "k")
    with pytest.raises(ValueError):
        _release(k=5)  # the command itself never carries a k under 11
    with pytest.raises(ValueError):
        _release(k=2**31)  # nor one the audit's integer column cannot hold (fuzzing found the 500)
    assert len(uow.releases.rows) == 1  # refusals are not releases


@pytest.mark.parametrize(("overrides", "field"), [
    ({"measure": Measure.INSPECTIONS}, "column"),  # no agency on an inspection
    ({"column": Dimension.AREA}, "column"),  # also a row
    ({"rows": ()}, "rows"),
    ({"rows": (Dimension.AREA, Dimension.AREA)}, "rows"),
    ({"period_end": date(2025, 1, 1)}, "period_end"),
])
async def test_bad_release_parameters_are_refused_naming_the_field(overrides, field):
    with pytest.raises(InvalidCommand) as refused:
        await handle_release_statistics(_release(**overrides), FakeInsightsUnitOfWork(), minimum_k=11)
    assert refused.value.problems[0].loc == ("body", field)


def test_no_person_data_in_what_insights_reads_or_keeps():
    # What it reads: the events it consumes (the contracts already keep persons off the bus).
    read = {f for model in CONSUMED for f in model.model_fields}
    assert not person_like(read), person_like(read)
    # What it keeps: every column of its tables, and every field of its commands.
    sql = "\n".join(p.read_text() for p in sorted((PACKAGE / "migrations").glob("*.sql")))
    columns = re.findall(r"^\s+([a-z_]+)\s+(?:uuid|text|date|bigserial|integer|jsonb|timestamptz)", sql, re.M)
    assert len(columns) > 30
    assert not person_like(columns), person_like(columns)
    fields = {f for name in dir(commands) if isinstance(model := getattr(commands, name), type)
              and issubclass(model, commands.Command) for f in model.model_fields}
    assert not person_like(fields), person_like(fields)
    # The person-data word list does catch what it should (the check can fail).
    assert person_like(["full_name", "phone", "date_of_birth", "agency_kind"]) == [
        "full_name", "phone", "date_of_birth"]


def test_insights_uses_only_the_pure_domain_of_the_inspection_and_referral_services():
    imports = set()
    for path in PACKAGE.rglob("*.py"):
        imports |= set(re.findall(r"^\s*(?:from|import) (pathways_(?:inspection|referral)[\w.]*)", path.read_text(),
                                  re.M))
    assert imports and all(".domain." in name for name in imports), imports


async def test_a_median_duration_is_published_only_for_rows_of_k_or_more_published_records():
    uow = FakeInsightsUnitOfWork()
    engaged = uow.projection.facts_by_measure.setdefault(Measure.VICTIM_SERVICE_ENGAGED, [])
    engaged += [Fact(date(2026, 2, 1), "north", "lodging", "sex", "victim_services", d) for d in range(1, 31)]
    engaged += [Fact(date(2026, 2, 1), "east", "lodging", "sex", "victim_services", 9) for _ in range(13)]
    engaged += [Fact(date(2026, 2, 1), "south", "lodging", "sex", "victim_services", 30) for _ in range(4)]
    release = await handle_release_statistics(
        _release(measure=Measure.VICTIM_SERVICE_ENGAGED, rows=(Dimension.AREA,)), uow, minimum_k=11)
    # North: 30 engagements, 1..30 days after the referral. South's 4 are hidden, and east's 13 with them
    # (its total would give south's away): neither gets a median.
    assert [row[-1] for row in release.values] == [None, 30, None, 47]
    assert release.median_days == {"north": 15.5}


async def test_a_researcher_reads_the_published_shape_one_whole_quarter_at_a_time():
    uow = FakeInsightsUnitOfWork()
    _referrals(uow, "north", "victim_services", 30, on=date(2026, 2, 1))
    _referrals(uow, "north", "victim_services", 20, on=date(2026, 5, 1))
    researcher = ReleaseStatistics(measure=Measure.REFERRALS, requested_by=RESEARCHER)
    # No shape, no period: quarter × area × program × category against agency kind, the last full quarter.
    release = await handle_release_statistics(researcher, uow, minimum_k=11, today=date(2026, 4, 20))
    assert (release.period_start, release.period_end) == (date(2026, 1, 1), date(2026, 3, 31))
    assert release.rows == (Dimension.QUARTER, Dimension.AREA, Dimension.PROGRAM, Dimension.CATEGORY)
    assert release.row_labels == ["2026-Q1 · north · food_establishment · labor"]
    assert release.values == [[30, 30], [30, 30]]
    q2 = researcher.model_copy(update={"period_start": date(2026, 4, 1), "period_end": date(2026, 6, 30)})
    assert (await handle_release_statistics(q2, uow, minimum_k=11)).values == [[20, 20], [20, 20]]

    # Another grouping, or a period that is not one quarter, could be differenced against the published one.
    for refused in ({"rows": (Dimension.QUARTER, Dimension.AREA)}, {"column": Dimension.PROGRAM},
                    {"period_start": date(2026, 1, 1), "period_end": date(2026, 3, 30)},
                    {"period_start": date(2026, 1, 1), "period_end": date(2026, 6, 30)}):
        with pytest.raises(Forbidden):
            await handle_release_statistics(researcher.model_copy(update=refused), uow, minimum_k=11)
    assert [r["role"] for r in uow.releases.rows] == ["researcher", "researcher"]  # refusals are not releases
