"""In-memory repositories of the insights service, with the methods of the real ones (unit tests only)."""

from __future__ import annotations

import uuid
from datetime import date

from pathways_insights.domain.simulation import RecordedInspection
from pathways_insights.domain.statistics import Fact, Measure
from pathways_runtime.testing import FakeUnitOfWork


class FakeProjection:
    def __init__(self) -> None:
        self.inspections: dict[str, tuple[RecordedInspection, str, str]] = {}
        self.red_flags: dict[uuid.UUID, dict] = {}
        self.cases: dict[uuid.UUID, dict] = {}
        self.referrals: dict[uuid.UUID, dict] = {}
        self.facts_by_measure: dict[Measure, list[Fact]] = {}

    async def add_inspection(self, i: RecordedInspection, result: str, category: str) -> bool:
        if i.inspection_id in self.inspections:
            return False
        self.inspections[i.inspection_id] = (i, result, category)
        return True

    async def add_red_flag(self, red_flag_id, establishment_id, jurisdiction, level, category, raised_on) -> None:
        known = self.red_flags.get(red_flag_id, {"raised_on": raised_on})
        self.red_flags[red_flag_id] = known | {"establishment_id": establishment_id, "level": level,
                                               "category": category}

    async def open_case(self, case_id, establishment_id, jurisdiction, category, opened_on) -> None:
        self.cases.setdefault(case_id, {}).update(establishment_id=establishment_id, category=category,
                                                  opened_on=opened_on)

    async def close_case(self, case_id, outcome, closed_on) -> None:
        self.cases.setdefault(case_id, {}).update(outcome=outcome, closed_on=closed_on)

    async def referral_created(self, referral_id, case_id, establishment_id, agency_kind, created_on) -> None:
        self.referrals.setdefault(referral_id, {}).update(case_id=case_id, agency_kind=agency_kind,
                                                          created_on=created_on)

    async def referral_step(self, referral_id, case_id, step, on, status=None) -> None:
        row = self.referrals.setdefault(referral_id, {"case_id": case_id})
        row[f"{step}_on"] = on
        if status is not None:
            row["closed_status"] = status

    async def inspections_between(self, start: date, end: date, jurisdiction: str | None = None
                                  ) -> list[RecordedInspection]:
        found = [i for i, _, _ in self.inspections.values()
                 if start <= i.inspected_on <= end and jurisdiction in (None, i.jurisdiction)]
        return sorted(found, key=lambda i: i.inspected_on)  # stable: arrival order within a day

    async def facts(self, measure: Measure, start: date, end: date) -> list[Fact]:
        return [f for f in self.facts_by_measure.get(measure, []) if start <= f.on <= end]


class FakeReleases:
    def __init__(self) -> None:
        self.rows: list[dict] = []

    async def record(self, release_id, **audit) -> None:
        self.rows.append({"release_id": release_id, **audit})

    async def recent(self, limit: int = 50) -> list[dict]:
        return self.rows[-limit:][::-1]


class FakeInsightsUnitOfWork(FakeUnitOfWork):
    def __init__(self) -> None:
        super().__init__("/pathways/insights")
        self.projection = FakeProjection()
        self.releases = FakeReleases()
