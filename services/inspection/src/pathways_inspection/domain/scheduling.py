"""Equitable routine scheduling and the equity reports.

Every active licensed establishment of a program is visited once per period,
in an order drawn at random (reproducibly, from a seed) rather than chosen by
anyone, so routine inspection cannot be aimed at one community. The reports
let a city show that coverage and red-flag rates are uniform.
"""

import random
from collections import defaultdict
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from enum import StrEnum

from pathways_contracts.vocab import InspectionReason, Program
from pathways_inspection.domain.registry import Establishment, InspectionRecord

UNKNOWN_AREA = "unknown"


@dataclass(frozen=True, slots=True)
class Period:
    start: date
    days: int = 365

    @property
    def end(self) -> date:
        """First day after the period."""
        return self.start + timedelta(days=self.days)

    def __contains__(self, day: object) -> bool:
        return isinstance(day, date) and self.start <= day < self.end


@dataclass(frozen=True, slots=True)
class Visit:
    establishment_id: str
    due_on: date
    inspector_index: int


@dataclass(frozen=True, slots=True)
class Plan:
    program: Program
    period: Period
    visits: tuple[Visit, ...]
    overdue: tuple[str, ...]
    unscheduled_for_capacity: tuple[str, ...]


def working_days(period: Period, holidays: Collection[date] = ()) -> list[date]:
    days = (period.start + timedelta(days=n) for n in range(period.days))
    return [d for d in days if d.weekday() < 5 and d not in holidays]


def plan_routine(
    establishments: Iterable[Establishment],
    last_inspected: Mapping[str, date],
    program: Program,
    period_start: date,
    period_days: int = 365,
    inspectors: int = 1,
    capacity_per_inspector_per_day: int = 4,
    seed: int = 0,
    license_types: Mapping[Program, frozenset[str]] | None = None,
    holidays: Collection[date] = (),
) -> Plan:
    """One visit per active establishment of the program, spread evenly over the period's working days."""
    period = Period(period_start, period_days)
    active = sorted(
        e.id for e in establishments if e.is_of(program, license_types) and e.is_active_on(period_start)
    )
    overdue = [i for i in active if _overdue(last_inspected.get(i), period)]
    order = _random_order(overdue, seed) + _random_order(sorted(set(active) - set(overdue)), seed)
    days = working_days(period, holidays)
    slots = len(days) * max(inspectors, 0) * max(capacity_per_inspector_per_day, 0)
    scheduled, unscheduled = order[:slots], order[slots:]
    return Plan(
        program=program,
        period=period,
        visits=tuple(_spread(scheduled, days, inspectors)),
        overdue=tuple(overdue),
        unscheduled_for_capacity=tuple(sorted(unscheduled)),
    )


def _overdue(last: date | None, period: Period) -> bool:
    """Not inspected in the period before this one."""
    return last is None or last < period.start - timedelta(days=period.days)


def _random_order(ids: list[str], seed: int) -> list[str]:
    # Overdue establishments go first (they are late), each group in a seeded random order.
    shuffled = list(ids)
    random.Random(seed).shuffle(shuffled)
    return shuffled


def _spread(order: list[str], days: list[date], inspectors: int) -> Iterable[Visit]:
    """Visit i falls on day floor(i * D / n): at most ceil(n / D) a day, shared round-robin by inspectors."""
    per_day: dict[date, int] = defaultdict(int)
    for i, establishment_id in enumerate(order):
        day = days[i * len(days) // len(order)]
        yield Visit(establishment_id, day, per_day[day] % inspectors)
        per_day[day] += 1


class FollowUpReason(StrEnum):
    RED_FLAG = "red_flag"
    FAILED_SANITATION = "failed_sanitation"


# Days until a follow-up is due. A red flag is revisited sooner because people may be
# at risk; a sanitation failure gets the usual 30 days to correct.
FOLLOW_UP_DAYS: dict[FollowUpReason, int] = {
    FollowUpReason.RED_FLAG: 14,
    FollowUpReason.FAILED_SANITATION: 30,
}


def follow_up(reason: FollowUpReason | str, on: date) -> date:
    """Due date of the follow-up inspection, moved to the next working day if it falls on a weekend."""
    due = on + timedelta(days=FOLLOW_UP_DAYS[FollowUpReason(reason)])
    while due.weekday() >= 5:
        due += timedelta(days=1)
    return due


@dataclass(frozen=True, slots=True)
class CoverageRow:
    area: str
    program: Program
    active: int
    inspected: int
    share: float


def coverage_report(
    establishments: Iterable[Establishment],
    inspections: Iterable[InspectionRecord],
    period: Period,
    license_types: Mapping[Program, frozenset[str]] | None = None,
) -> list[CoverageRow]:
    """Share of active establishments inspected in the period, per (area, program), sorted."""
    inspected = {(i.establishment_id, i.program) for i in inspections if i.inspected_on in period}
    active: dict[tuple[str, Program], int] = defaultdict(int)
    covered: dict[tuple[str, Program], int] = defaultdict(int)
    for establishment in establishments:
        if not establishment.is_active_on(period.start):
            continue
        for program in Program:
            if establishment.is_of(program, license_types):
                key = (establishment.area or UNKNOWN_AREA, program)
                active[key] += 1
                covered[key] += (establishment.id, program) in inspected
    return [
        CoverageRow(area, program, active[area, program], covered[area, program],
                    round(covered[area, program] / active[area, program], 4))
        for area, program in sorted(active)
    ]


@dataclass(frozen=True, slots=True)
class RedFlagRateRow:
    reason: InspectionReason
    inspections: int
    red_flagged: int
    rate: float | None  # None when there were no inspections for that reason


def red_flag_rate_by_reason(
    inspections: Iterable[InspectionRecord], red_flag_inspection_ids: Collection[object]
) -> list[RedFlagRateRow]:
    """Share of inspections, per reason, that contributed to a red flag (routine vs complaint)."""
    flagged = {str(i) for i in red_flag_inspection_ids}
    totals: dict[InspectionReason, int] = defaultdict(int)
    hits: dict[InspectionReason, int] = defaultdict(int)
    for inspection in inspections:
        totals[inspection.reason] += 1
        hits[inspection.reason] += str(inspection.inspection_id) in flagged
    return [
        RedFlagRateRow(reason, totals[reason], hits[reason],
                       round(hits[reason] / totals[reason], 4) if totals[reason] else None)
        for reason in InspectionReason
    ]
