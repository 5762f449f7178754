"""Equitable routine scheduling: every active establishment once, randomised, within capacity; equity reports."""

from collections import Counter
from datetime import date, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pathways_contracts.vocab import InspectionReason, InspectionResult, Program
from pathways_inspection.domain.registry import Establishment, InspectionRecord, LicenseStatus
from pathways_inspection.domain.scheduling import (
    Period,
    coverage_report,
    follow_up,
    plan_routine,
    red_flag_rate_by_reason,
    working_days,
)

pytestmark = pytest.mark.unit

START = date(2025, 1, 1)
MASSAGE = Program.MASSAGE


def establishment(n: int, *, status=LicenseStatus.ACTIVE, license_type=MASSAGE.value, area="ward-1", expiry=None):
    return Establishment(
        id=f"E{n:05d}", license_number=f"L{n}", name=f"Business {n}", license_type=license_type,
        license_status=status, jurisdiction="rochester", license_expiry=expiry, area=area,
    )


def registry(n: int) -> list[Establishment]:
    return [establishment(i) for i in range(n)]


def test_every_active_massage_establishment_is_visited_once_in_the_year():
    others = [
        establishment(900, status=LicenseStatus.REVOKED),
        establishment(901, expiry=START - timedelta(days=1)),
        establishment(902, license_type=Program.FOOD.value),
    ]
    plan = plan_routine(registry(300) + others, {}, MASSAGE, START, inspectors=2, capacity_per_inspector_per_day=1)
    visited = [v.establishment_id for v in plan.visits]
    assert sorted(visited) == [f"E{i:05d}" for i in range(300)]
    assert all(START <= v.due_on < START + timedelta(days=365) and v.due_on.weekday() < 5 for v in plan.visits)
    assert plan.unscheduled_for_capacity == ()


def test_order_is_random_but_reproducible_from_the_seed():
    first = plan_routine(registry(50), {}, MASSAGE, START, seed=7)
    again = plan_routine(registry(50), {}, MASSAGE, START, seed=7)
    other = plan_routine(registry(50), {}, MASSAGE, START, seed=8)
    ids = [v.establishment_id for v in first.visits]
    assert ids == [v.establishment_id for v in again.visits]
    assert ids != [v.establishment_id for v in other.visits]
    assert ids != sorted(ids)


def test_visits_are_spread_over_the_whole_period():
    plan = plan_routine(registry(100), {}, MASSAGE, START)
    months = Counter(v.due_on.month for v in plan.visits)
    assert set(months) == set(range(1, 13))


def test_overdue_are_those_not_inspected_in_the_previous_period_and_go_first():
    last = {"E00000": START - timedelta(days=100), "E00001": START - timedelta(days=400)}
    plan = plan_routine(registry(3), last, MASSAGE, START, period_days=365)
    assert plan.overdue == ("E00001", "E00002")
    assert {v.establishment_id for v in plan.visits[:2]} == {"E00001", "E00002"}


def test_shortfall_of_capacity_is_reported_not_hidden():
    period_days = 7  # five working days
    plan = plan_routine(registry(20), {}, MASSAGE, date(2025, 1, 6), period_days, inspectors=1,
                        capacity_per_inspector_per_day=3)
    assert len(plan.visits) == 15
    assert len(plan.unscheduled_for_capacity) == 5
    assert not {v.establishment_id for v in plan.visits} & set(plan.unscheduled_for_capacity)


def test_holidays_are_not_working_days():
    new_year = date(2025, 1, 1)
    assert new_year not in working_days(Period(START, 7), holidays={new_year})
    plan = plan_routine(registry(10), {}, MASSAGE, START, 7, holidays={new_year})
    assert all(v.due_on != new_year for v in plan.visits)


def test_license_types_can_be_mapped_to_programs():
    spa = establishment(1, license_type="Massage Therapy Establishment")
    mapping = {MASSAGE: frozenset({"Massage Therapy Establishment"})}
    assert plan_routine([spa], {}, MASSAGE, START).visits == ()
    assert len(plan_routine([spa], {}, MASSAGE, START, license_types=mapping).visits) == 1


@pytest.mark.parametrize(
    ("reason", "on", "due"),
    [
        ("red_flag", date(2025, 3, 3), date(2025, 3, 17)),
        ("failed_sanitation", date(2025, 3, 3), date(2025, 4, 2)),
        ("red_flag", date(2025, 3, 1), date(2025, 3, 17)),  # 14 days later is a Saturday
    ],
)
def test_follow_up_due_dates(reason, on, due):
    assert follow_up(reason, on) == due


def record(n: int, establishment_id: str, reason=InspectionReason.ROUTINE, on=START, program=MASSAGE):
    return InspectionRecord(f"I{n}", establishment_id, program, reason, on, InspectionResult.PASS)


def test_coverage_report_per_area_and_program():
    places = [establishment(1, area="ward-1"), establishment(2, area="ward-1"), establishment(3, area="ward-2"),
              establishment(4, area=None, license_type=Program.FOOD.value),
              establishment(5, area="ward-2", status=LicenseStatus.SUSPENDED)]
    inspections = [
        record(1, "E00001"),
        record(2, "E00001"),
        record(3, "E00003", on=START - timedelta(days=1)),  # before the period
        record(4, "E00004", program=Program.FOOD),
    ]
    rows = coverage_report(places, inspections, Period(START))
    assert [(r.area, r.program, r.active, r.inspected, r.share) for r in rows] == [
        ("unknown", Program.FOOD, 1, 1, 1.0),
        ("ward-1", MASSAGE, 2, 1, 0.5),
        ("ward-2", MASSAGE, 1, 0, 0.0),
    ]


def test_red_flag_rate_by_reason():
    inspections = [record(1, "E1"), record(2, "E2"), record(3, "E3", InspectionReason.COMPLAINT)]
    rows = {r.reason: r for r in red_flag_rate_by_reason(inspections, {"I2", "I3"})}
    assert (rows["routine"].inspections, rows["routine"].red_flagged, rows["routine"].rate) == (2, 1, 0.5)
    assert rows["complaint"].rate == 1.0
    assert rows["follow_up"].rate is None


# --- properties -------------------------------------------------------------

statuses = st.sampled_from(list(LicenseStatus))
registries = st.lists(st.tuples(statuses, st.sampled_from([MASSAGE.value, Program.FOOD.value])), max_size=120)


def build(rows) -> list[Establishment]:
    return [establishment(i, status=s, license_type=t) for i, (s, t) in enumerate(rows)]


@settings(max_examples=150, deadline=None)
@given(
    registries,
    st.integers(1, 60),
    st.integers(0, 4),
    st.integers(0, 5),
    st.integers(0, 2**32),
    st.dates(date(2024, 1, 1), date(2026, 12, 31)),
)
def test_plan_properties(rows, period_days, inspectors, capacity, seed, start):
    places = build(rows)
    plan = plan_routine(places, {}, MASSAGE, start, period_days, inspectors, capacity, seed)
    active = sorted(e.id for e in places if e.license_type == MASSAGE.value and e.is_active_on(start))

    scheduled = [v.establishment_id for v in plan.visits]
    assert sorted(scheduled + list(plan.unscheduled_for_capacity)) == active  # each exactly once

    per_inspector_day = Counter((v.due_on, v.inspector_index) for v in plan.visits)
    assert all(n <= capacity for n in per_inspector_day.values())
    assert all(0 <= v.inspector_index < inspectors for v in plan.visits)
    assert all(v.due_on in plan.period and v.due_on.weekday() < 5 for v in plan.visits)

    if len(active) <= len(working_days(plan.period)) * inspectors * capacity:
        assert plan.unscheduled_for_capacity == ()
