"""Policy simulation: a small seeded history replayed through a lower red-flag threshold, checked by hand.

Default rules: concern 3, red flag 6, urgent 12 (a license not posted weighs 0.5). The proposal lowers
the red-flag threshold to 5 and the urgent one to 10. Routing is the default policy, triage pending.

E1 (north, massage): 1 Feb SEX-LOCKED-DOORS 2 + SEX-CASH-ONLY-UNUSUAL-HOURS 2 + REG-LICENSE-NOT-POSTED 0.5
   = 4.5 (concern under both); 1 Mar (complaint) SEX-TIPS-ONLY-PAY 2 → 6.5: red flag under both; sex, and
   "both" through the license not posted → victim services and labor standards, 28 days after the first
   indicator. Unchanged.
E2 (south, food): 10 Apr LAB-WAGE-THEFT 3 + LAB-EXCESSIVE-HOURS 2 = 5: concern now, red flag proposed
   (labor → victim services and labor standards, the same day). Added.
E3 (south, lodging): 1 May (complaint) SEX-PARAPHERNALIA 3 + SEX-COMMERCIAL-SEX-ADS 3 + OPS-THREATS 4
   + REG-LICENSE-NOT-POSTED 0.5 = 10.5: red flag now, urgent proposed (sex and both → victim services
   and labor standards under each). Level changed.
E4 (north, food): 1 Jun routine, nothing observed.
"""

from __future__ import annotations

import uuid
from datetime import date

import pytest

from insights_fakes import FakeInsightsUnitOfWork
from pathways_contracts.catalog import load_catalog
from pathways_contracts.vocab import InspectionReason, Level, Program
from pathways_inspection.domain.screening import load_rules
from pathways_insights.domain.simulation import RecordedInspection, Side, simulate
from pathways_insights.service_layer.commands import RunSimulation
from pathways_insights.service_layer.handlers import handle_run_simulation
from pathways_referral.domain.policy import load_policy
from pathways_runtime.errors import InvalidCommand

pytestmark = pytest.mark.unit

YEAR = (date(2026, 1, 1), date(2026, 12, 31))


def _inspection(n: int, establishment: str, area: str, program: Program, reason: InspectionReason, day: date,
                *codes: str) -> RecordedInspection:
    return RecordedInspection(str(uuid.UUID(int=n)), establishment, "default", area, program.value, program,
                              reason, day, codes)


R, C = InspectionReason.ROUTINE, InspectionReason.COMPLAINT
HISTORY = [
    _inspection(1, "E1", "north", Program.MASSAGE, R, date(2026, 2, 1),
                "SEX-LOCKED-DOORS", "SEX-CASH-ONLY-UNUSUAL-HOURS", "REG-LICENSE-NOT-POSTED"),
    _inspection(2, "E1", "north", Program.MASSAGE, C, date(2026, 3, 1), "SEX-TIPS-ONLY-PAY"),
    _inspection(3, "E2", "south", Program.FOOD, R, date(2026, 4, 10), "LAB-WAGE-THEFT", "LAB-EXCESSIVE-HOURS"),
    _inspection(4, "E3", "south", Program.LODGING, C, date(2026, 5, 1),
                "SEX-PARAPHERNALIA", "SEX-COMMERCIAL-SEX-ADS", "OPS-THREATS", "REG-LICENSE-NOT-POSTED"),
    _inspection(5, "E4", "north", Program.FOOD, R, date(2026, 6, 1)),
]


def proposed_rules_file() -> dict:
    rules = load_rules().model_dump(mode="json")
    rules["version"] = "default.v2-proposed"
    rules["thresholds"] = {"concern": 3, "red_flag": 5, "urgent": 10}
    return rules


def sides(rules: dict | None = None):
    current = Side("current", lambda j: load_rules(j), load_policy)
    proposed_rules = load_rules().model_validate(rules or proposed_rules_file())
    return current, Side("proposed", lambda _: proposed_rules, load_policy)


def test_a_lower_threshold_changes_exactly_what_the_hand_computation_says():
    report = simulate(HISTORY, *sides(), load_catalog, *YEAR)

    assert (report.inspections, report.establishments) == (5, 4)
    assert [(c.establishment_id, c.change, c.current_level, c.proposed_level)
            for c in report.changed_establishments] == [
        ("E2", "added", None, Level.RED_FLAG),
        ("E3", "level_changed", Level.RED_FLAG, Level.URGENT),
    ]
    assert (report.changes.added, report.changes.removed, report.changes.level_changed) == (1, 0, 1)
    assert [(g.group, g.added, g.level_changed) for g in report.by_establishment_type] == [
        ("food_establishment", 1, 0), ("lodging", 0, 1)]
    assert [(g.group, g.added, g.level_changed) for g in report.by_area] == [("south", 1, 1)]
    assert [(g.group, g.added, g.level_changed) for g in report.by_program] == [
        ("food_establishment", 1, 0), ("lodging", 0, 1)]

    assert (report.current.red_flags, report.proposed.red_flags) == (2, 3)
    assert report.current.by_level == {"red_flag": 2}
    assert report.proposed.by_level == {"red_flag": 2, "urgent": 1}
    assert report.current.referrals == {"labor_standards": 2, "victim_services": 2}
    assert report.proposed.referrals == {"labor_standards": 3, "victim_services": 3}
    assert [(r.agency_kind, r.current, r.proposed, r.difference) for r in report.referrals] == [
        ("labor_standards", 2, 3, 1), ("victim_services", 2, 3, 1)]

    # Days from the first indicator to the first referral: now E1 28 and E3 0; proposed E1 28, E2 0, E3 0.
    assert report.current.time_to_first_referral.model_dump() == {"count": 2, "median_days": 14, "mean_days": 14}
    assert report.proposed.time_to_first_referral.model_dump() == {"count": 3, "median_days": 0,
                                                                   "mean_days": 9.33}

    # Equity: the share of inspections that contributed to a raised or escalated red flag.
    assert [(r.group, r.inspections, r.current_flagged, r.proposed_flagged) for r in report.equity_by_reason] == [
        ("complaint", 2, 2, 2), ("routine", 3, 1, 2)]
    assert [(r.group, r.inspections, r.current_flagged, r.proposed_flagged) for r in report.equity_by_area] == [
        ("north", 3, 2, 2), ("south", 2, 1, 2)]


def test_the_same_rules_change_nothing():
    current, _ = sides()
    report = simulate(HISTORY, current, current, load_catalog, *YEAR)
    assert report.changed_establishments == []
    assert report.current == report.proposed


def test_a_flag_raised_in_the_look_back_is_open_when_the_period_starts():
    # E5: 1 Nov 2025 wage theft 3 + unpaid overtime 2 = 5 (a red flag under the proposal, before the period);
    # 15 Feb 2026 no pay records 1 → 6: the current rules raise it then; under the proposal it is already
    # open at red flag, so nothing is raised in the period: the proposal "removes" a red flag of the period.
    history = [
        _inspection(11, "E5", "east", Program.LABOR, R, date(2025, 11, 1), "LAB-WAGE-THEFT", "LAB-UNPAID-OVERTIME"),
        _inspection(12, "E5", "east", Program.LABOR, R, date(2026, 2, 15), "LAB-NO-PAY-RECORDS"),
    ]
    report = simulate(history, *sides(), load_catalog, *YEAR)
    assert [(c.establishment_id, c.change) for c in report.changed_establishments] == [("E5", "removed")]
    assert report.inspections == 1  # the look-back is replayed, not counted
    assert report.current.referrals == {"labor_standards": 1, "victim_services": 1}
    assert report.proposed.referrals == {}


def test_a_proposed_routing_policy_sends_labor_cases_elsewhere():
    routing = load_policy("default").model_dump(mode="json")
    routing["version"] = "default.v2-proposed"
    for rule in routing["rules"]:
        if rule["id"] == "R-DEFAULT-LABOR":
            rule["targets"] = [t for t in rule["targets"] if t["agency_kind"] != "labor_standards"]
    proposed_policy = load_policy("default").model_validate(routing)
    current = Side("current", lambda j: load_rules(j), load_policy)
    report = simulate(HISTORY, current, Side("proposed", lambda j: load_rules(j), lambda _: proposed_policy),
                      load_catalog, *YEAR)
    assert report.changed_establishments == []
    assert [(r.agency_kind, r.current, r.proposed) for r in report.referrals] == [
        ("labor_standards", 2, 0), ("victim_services", 2, 2)]
    assert report.proposed.routing_versions == ["default.v2-proposed"]


async def _seeded() -> FakeInsightsUnitOfWork:
    uow = FakeInsightsUnitOfWork()
    for inspection in HISTORY:
        await uow.projection.add_inspection(inspection, "pass", "none")
    return uow


async def test_the_use_case_reads_the_projection_and_emits_and_commits_nothing():
    uow = await _seeded()
    before = dict(uow.projection.inspections)
    report = await handle_run_simulation(
        RunSimulation(period_start=YEAR[0], period_end=YEAR[1], proposed_rules=proposed_rules_file()), uow,
        max_days=1100)
    assert (report.changes.added, report.changes.level_changed) == (1, 1)
    assert uow.published == [] and uow.emitted == [] and uow.commits == 0
    assert uow.projection.inspections == before and uow.releases.rows == []


async def test_a_bad_rules_file_is_refused_naming_the_field():
    uow = await _seeded()
    rules = proposed_rules_file()
    rules["thresholds"] = {"concern": 3, "red_flag": 2, "urgent": 10}
    with pytest.raises(InvalidCommand) as bad:
        await handle_run_simulation(RunSimulation(period_start=YEAR[0], period_end=YEAR[1], proposed_rules=rules),
                                    uow, max_days=1100)
    assert bad.value.problems[0].loc[:3] == ("body", "proposed_rules", "thresholds")

    rules = proposed_rules_file()
    rules["weight_overrides"] = {"NOT-A-CODE": 1}
    with pytest.raises(InvalidCommand) as unknown:
        await handle_run_simulation(RunSimulation(period_start=YEAR[0], period_end=YEAR[1], proposed_rules=rules),
                                    uow, max_days=1100)
    assert "NOT-A-CODE" in str(unknown.value)


async def test_a_bad_routing_file_and_a_bad_period_are_refused():
    uow = await _seeded()
    with pytest.raises(InvalidCommand) as routing:
        await handle_run_simulation(RunSimulation(period_start=YEAR[0], period_end=YEAR[1],
                                                  proposed_routing={"jurisdiction": "default"}), uow, max_days=1100)
    assert routing.value.problems[0].loc[:2] == ("body", "proposed_routing")
    with pytest.raises(InvalidCommand, match="period_end"):
        await handle_run_simulation(RunSimulation(period_start=YEAR[1], period_end=YEAR[0]), uow, max_days=1100)
    with pytest.raises(InvalidCommand, match="at most 30 days"):
        await handle_run_simulation(RunSimulation(period_start=YEAR[0], period_end=YEAR[1]), uow, max_days=30)
