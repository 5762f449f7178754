"""Statistics: what is counted, along which dimensions, and the release table built from it.

A fact is one counted thing (an inspection, a red flag, a case opened or closed, a referral or a step
of one) with the values of its dimensions; a release cross-tabulates the facts of one measure, rows
by some dimensions against one column dimension, and protects the table (see ``disclosure``).
"""

from __future__ import annotations

import calendar
import statistics
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from enum import StrEnum

from pathways_contracts.catalog import Catalog
from pathways_contracts.vocab import Category
from pathways_insights.domain import disclosure
from pathways_insights.domain.disclosure import Protected

NOT_APPLICABLE = "n/a"
UNKNOWN = "(unknown)"


class Measure(StrEnum):
    INSPECTIONS = "inspections"
    RED_FLAGS = "red_flags"
    CASES_OPENED = "cases_opened"
    CASES_CLOSED = "cases_closed"
    REFERRALS = "referrals"
    REFERRALS_ACCEPTED = "referrals_accepted"
    REFERRALS_DECLINED = "referrals_declined"
    REFERRALS_EXPIRED = "referrals_expired"
    VICTIM_SERVICE_ENGAGED = "victim_service_engaged"
    REFERRALS_COMPLETED = "referrals_completed"

    @property
    def per_agency(self) -> bool:
        return self.value.startswith("referrals") or self is Measure.VICTIM_SERVICE_ENGAGED


class Dimension(StrEnum):
    QUARTER = "quarter"
    AREA = "area"
    PROGRAM = "program"
    CATEGORY = "category"  # what the indicators point to: sex, labor, both (or none for an inspection)
    AGENCY_KIND = "agency_kind"


@dataclass(frozen=True, slots=True)
class Fact:
    on: date
    area: str | None
    program: str | None
    category: str | None
    agency_kind: str | None = None
    days: int | None = None  # a duration where the measure has one: opened→closed, referred→engaged

    def dimensions(self) -> dict[str, str]:
        return {Dimension.QUARTER: quarter(self.on), Dimension.AREA: self.area or UNKNOWN,
                Dimension.PROGRAM: self.program or UNKNOWN, Dimension.CATEGORY: self.category or UNKNOWN,
                Dimension.AGENCY_KIND: self.agency_kind or NOT_APPLICABLE}


def quarter(day: date) -> str:
    return f"{day.year}-Q{(day.month - 1) // 3 + 1}"


def quarter_bounds(day: date) -> tuple[date, date]:
    """The first and last day of the quarter ``day`` falls in."""
    first_month = (day.month - 1) // 3 * 3 + 1
    last_month = first_month + 2
    return date(day.year, first_month, 1), date(day.year, last_month, calendar.monthrange(day.year, last_month)[1])


def last_full_quarter(today: date) -> tuple[date, date]:
    start, _ = quarter_bounds(today)
    return quarter_bounds(date.fromordinal(start.toordinal() - 1))


def published_shape(measure: Measure) -> tuple[tuple[Dimension, ...], Dimension]:
    """The one table shape of a measure that researchers read: quarter × area × program × category (× agency kind).

    One shape, one quarter at a time: two releases of the same data then never overlap in a way that
    lets one be subtracted from the other (a different grouping, or a period one day shorter, would let
    an attacker difference out a count that each release alone hides).
    """
    column = Dimension.AGENCY_KIND if measure.per_agency else Dimension.CATEGORY
    rows = tuple(d for d in (Dimension.QUARTER, Dimension.AREA, Dimension.PROGRAM, Dimension.CATEGORY) if d != column)
    return rows, column


def category_of(categories: Iterable[str]) -> str:
    """One label for a set of trafficking categories: sex, labor, both, or none."""
    found = set(categories)
    if Category.BOTH in found or {Category.SEX, Category.LABOR} <= found:
        return Category.BOTH.value
    return next(iter(found)) if found else "none"


def indicator_category(codes: Iterable[str], catalog: Catalog) -> str:
    """What an inspection's indicator codes point to (unknown codes are ignored, as screening does)."""
    return category_of(catalog.get(code).category.value for code in codes if code in catalog)


def release(facts: Sequence[Fact], rows: Sequence[Dimension], column: Dimension, k: int) -> Protected:
    records = [f.dimensions() for f in facts]
    row_labels, column_labels, counts = disclosure.cross_tabulate(records, rows, column)
    table = disclosure.protect(row_labels, column_labels, counts, k)
    disclosure.check_published(table)
    return table


def median_days(facts: Sequence[Fact], rows: Sequence[Dimension], table: Protected) -> dict[str, float]:
    """The median duration per row, only for rows whose total is published and whose durations number k or more.

    A median is one record's value (or the mean of two): among k or more it singles nobody out, and a
    row whose count is hidden gets no median, so the median cannot hint at the hidden count.
    """
    durations: dict[str, list[int]] = {}
    for fact in facts:
        if fact.days is not None:
            dims = fact.dimensions()
            durations.setdefault(" · ".join(dims[d] for d in rows), []).append(fact.days)
    published = {label for label, row in zip(table.row_labels, table.values) if row[-1] is not None}
    return {label: float(statistics.median(days)) for label, days in sorted(durations.items())
            if label in published and len(days) >= table.k}
