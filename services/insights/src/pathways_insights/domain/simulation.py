"""Policy simulation: what a proposed screening rule or routing policy would have done to a past period.

Pure and in memory. The recorded inspections are replayed, in the order they happened, through two
sides at once (the current rules and the proposed ones), each with its own state per establishment:
the observations in the fusion window, the open red flag's level, and the agency kinds already
referred. Screening and routing are the inspection and referral services' own domain functions
(``screen``/``decide`` and ``route``), so the replay makes the decisions those services would make.

What the replay models, as the services do it today:

- an establishment has at most one open red flag; ``decide`` raises it or escalates it;
- a raised or escalated flag opens (or joins) the establishment's case, whose facts are merged over
  every flag of the period (categories, dimensions, minor indicated, imminent-danger rules), and the
  case is referred to each initial target kind of ``route`` not referred before (triage pending:
  the simulation cannot know what a triage team would decide);
- inspections before the period (the look-back) are replayed so that the state at the start of the
  period is right, but only what happens inside the period is counted;
- time to first referral is counted from the establishment's first inspection with an indicator
  (look-back included) to its first referral in the period.

An inspection without indicator codes is never screened: its assessment could only be a subset of
the previous one (same or fewer codes in the window, the same weights), so it can raise nothing.
"""

from __future__ import annotations

import statistics
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date

from pydantic import BaseModel, ConfigDict

from pathways_contracts.catalog import Catalog
from pathways_contracts.vocab import Category, Dimension, InspectionReason, Level, Program
from pathways_inspection.domain.screening import Decision, Observation, Rules, decide, screen
from pathways_referral.domain.policy import CaseFacts, RoutingPolicy
from pathways_referral.domain.routing import route

UNKNOWN_AREA = "(unknown)"
MAX_LISTED_CHANGES = 200  # the JSON lists this many changed establishments; the counts cover all


@dataclass(frozen=True, slots=True)
class RecordedInspection:
    """An inspection as the insights projection holds it (from inspection.completed: no person data)."""

    inspection_id: str
    establishment_id: str
    jurisdiction: str
    area: str | None
    department: str
    program: Program
    reason: InspectionReason
    inspected_on: date
    indicator_codes: tuple[str, ...] = ()


@dataclass(frozen=True)
class Side:
    """One set of rules to replay through: the screening rules and routing policy per jurisdiction."""

    name: str
    rules_for: Callable[[str], Rules]
    routing_for: Callable[[str], RoutingPolicy]


@dataclass
class _Establishment:
    """Replay state of one establishment under one side."""

    window: list[Observation] = field(default_factory=list)
    open_level: Level | None = None
    categories: set[Category] = field(default_factory=set)
    dimensions: set[Dimension] = field(default_factory=set)
    minor_indicated: bool = False
    imminent_danger: bool = False
    referred: set[str] = field(default_factory=set)


@dataclass
class FlagOutcome:
    """What one side did to one establishment inside the period."""

    level: Level
    program: Program  # of the inspection whose screening raised (or first escalated) the flag in the period
    referrals: dict[str, date] = field(default_factory=dict)  # agency kind -> the day it was referred


@dataclass
class SideResult:
    name: str
    rules_versions: set[str] = field(default_factory=set)
    routing_versions: set[str] = field(default_factory=set)
    flags: dict[str, FlagOutcome] = field(default_factory=dict)  # establishment id -> outcome
    flagged_inspections: set[str] = field(default_factory=set)  # contributed to a raise or escalation


def replay(inspections: Sequence[RecordedInspection], side: Side, catalog_for: Callable[[str], Catalog],
           period_start: date, imminent_danger_rules: frozenset[str] = frozenset()) -> SideResult:
    """Replay ``inspections`` (already in the order they happened) through one side."""
    result = SideResult(side.name)
    states: dict[str, _Establishment] = defaultdict(_Establishment)
    rules_of: dict[str, Rules] = {}  # looked up once per jurisdiction per replay: a policy file read is slow
    routing_of: dict[str, RoutingPolicy] = {}
    for insp in inspections:
        if not insp.indicator_codes:
            continue
        state = states[insp.establishment_id]
        if state.open_level is Level.URGENT:
            continue  # nothing is above urgent: decide() could neither raise nor escalate
        rules = rules_of.get(insp.jurisdiction) or rules_of.setdefault(insp.jurisdiction,
                                                                          side.rules_for(insp.jurisdiction))
        result.rules_versions.add(rules.version)
        since = date.fromordinal(insp.inspected_on.toordinal() - rules.fusion_window_days)
        state.window = [o for o in state.window if o.inspected_on >= since]
        state.window.append(Observation(insp.inspection_id, insp.department, insp.program, insp.inspected_on,
                                        insp.indicator_codes))
        assessment = screen(state.window, rules, catalog_for(rules.catalog_version), insp.inspected_on)
        if decide(state.open_level, assessment) is Decision.NOTHING:
            continue
        state.open_level = assessment.level
        state.categories.update(assessment.categories)
        state.dimensions.update(assessment.dimensions)
        state.minor_indicated |= assessment.minor_indicated
        state.imminent_danger |= bool(set(assessment.rule_ids) & imminent_danger_rules)
        policy = routing_of.get(insp.jurisdiction) or routing_of.setdefault(insp.jurisdiction,
                                                                              side.routing_for(insp.jurisdiction))
        result.routing_versions.add(policy.version)
        facts = CaseFacts(categories=frozenset(state.categories), dimensions=frozenset(state.dimensions),
                          level=assessment.level, minor_indicated=state.minor_indicated,
                          imminent_danger=state.imminent_danger)
        new_kinds = [t.agency_kind.value for t in route(facts, policy)
                     if not t.fallback and t.agency_kind.value not in state.referred]
        state.referred.update(new_kinds)
        if insp.inspected_on < period_start:
            continue  # the look-back only sets the state the period starts from
        result.flagged_inspections.update(str(i) for i in assessment.contributing_inspection_ids)
        outcome = result.flags.get(insp.establishment_id)
        if outcome is None:
            outcome = result.flags[insp.establishment_id] = FlagOutcome(assessment.level, insp.program)
        outcome.level = max(outcome.level, assessment.level, key=lambda lv: lv.rank)
        for kind in new_kinds:
            outcome.referrals.setdefault(kind, insp.inspected_on)
    return result


# ---------------------------------------------------------------------------------------------- the report


class _Report(BaseModel):
    model_config = ConfigDict(frozen=True)


class Spread(_Report):
    count: int
    median_days: float | None
    mean_days: float | None


class SideSummary(_Report):
    rules_versions: list[str]
    routing_versions: list[str]
    red_flags: int
    by_level: dict[str, int]
    referrals: dict[str, int]
    time_to_first_referral: Spread


class ChangeCounts(_Report):
    added: int = 0
    removed: int = 0
    level_changed: int = 0


class GroupChanges(ChangeCounts):
    group: str


class EstablishmentChange(_Report):
    establishment_id: str
    change: str  # added, removed or level_changed
    current_level: Level | None
    proposed_level: Level | None


class ReferralDifference(_Report):
    agency_kind: str
    current: int
    proposed: int
    difference: int


class Rate(_Report):
    group: str
    inspections: int
    current_flagged: int
    proposed_flagged: int
    current_rate: float | None
    proposed_rate: float | None


class SimulationReport(_Report):
    period_start: date
    period_end: date
    inspections: int
    establishments: int
    current: SideSummary
    proposed: SideSummary
    changes: ChangeCounts
    by_establishment_type: list[GroupChanges]
    by_area: list[GroupChanges]
    by_program: list[GroupChanges]
    referrals: list[ReferralDifference]
    equity_by_area: list[Rate]
    equity_by_reason: list[Rate]
    changed_establishments: list[EstablishmentChange]
    changed_establishments_listed: int


@dataclass(frozen=True)
class _Profile:
    """Where an establishment sits, from its inspections (the registry's license type is not on the bus)."""

    type: str  # the program of its earliest recorded inspection: by default a license type is its program
    area: str


def simulate(inspections: Iterable[RecordedInspection], current: Side, proposed: Side,
             catalog_for: Callable[[str], Catalog], period_start: date, period_end: date,
             imminent_danger_rules: frozenset[str] = frozenset()) -> SimulationReport:
    """Replay the inspections (look-back included) through both sides and compare what they did in the period."""
    ordered = list(inspections)
    now = replay(ordered, current, catalog_for, period_start, imminent_danger_rules)
    then = replay(ordered, proposed, catalog_for, period_start, imminent_danger_rules)
    in_period = [i for i in ordered if period_start <= i.inspected_on <= period_end]
    profiles = _profiles(ordered)
    changes = _changes(now, then)
    return SimulationReport(
        period_start=period_start, period_end=period_end, inspections=len(in_period),
        establishments=len({i.establishment_id for i in in_period}),
        current=_summary(now, ordered), proposed=_summary(then, ordered),
        changes=ChangeCounts(**Counter(c.change for c in changes)),
        by_establishment_type=_grouped(changes, lambda c: profiles[c.establishment_id].type),
        by_area=_grouped(changes, lambda c: profiles[c.establishment_id].area),
        by_program=_grouped(changes, lambda c: _flag_program(c.establishment_id, now, then)),
        referrals=_referral_differences(now, then),
        equity_by_area=_rates(in_period, now, then, lambda i: i.area or UNKNOWN_AREA),
        equity_by_reason=_rates(in_period, now, then, lambda i: i.reason.value),
        changed_establishments=changes[:MAX_LISTED_CHANGES], changed_establishments_listed=min(
            len(changes), MAX_LISTED_CHANGES),
    )


def _profiles(inspections: Sequence[RecordedInspection]) -> dict[str, _Profile]:
    first_program: dict[str, str] = {}
    area: dict[str, str] = {}
    for insp in inspections:
        first_program.setdefault(insp.establishment_id, insp.program.value)
        if insp.area:
            area[insp.establishment_id] = insp.area  # the latest one known
    return {e: _Profile(p, area.get(e, UNKNOWN_AREA)) for e, p in first_program.items()}


def _changes(now: SideResult, then: SideResult) -> list[EstablishmentChange]:
    changes = []
    for establishment_id in sorted(now.flags.keys() | then.flags.keys()):
        before, after = now.flags.get(establishment_id), then.flags.get(establishment_id)
        if before is None:
            change = "added"
        elif after is None:
            change = "removed"
        elif before.level != after.level:
            change = "level_changed"
        else:
            continue
        changes.append(EstablishmentChange(establishment_id=establishment_id, change=change,
                                           current_level=before.level if before else None,
                                           proposed_level=after.level if after else None))
    return changes


def _flag_program(establishment_id: str, now: SideResult, then: SideResult) -> str:
    outcome = then.flags.get(establishment_id) or now.flags[establishment_id]
    return outcome.program.value


def _grouped(changes: list[EstablishmentChange], group_of: Callable[[EstablishmentChange], str]
             ) -> list[GroupChanges]:
    counts: dict[str, Counter] = defaultdict(Counter)
    for change in changes:
        counts[group_of(change)][change.change] += 1
    return [GroupChanges(group=group, **counts[group]) for group in sorted(counts)]


def _summary(side: SideResult, inspections: Sequence[RecordedInspection]) -> SideSummary:
    first_indicator: dict[str, date] = {}
    for insp in inspections:
        if insp.indicator_codes:
            first_indicator.setdefault(insp.establishment_id, insp.inspected_on)
    waits = [(min(o.referrals.values()) - first_indicator[e]).days for e, o in side.flags.items() if o.referrals]
    referrals = Counter(kind for o in side.flags.values() for kind in o.referrals)
    return SideSummary(
        rules_versions=sorted(side.rules_versions), routing_versions=sorted(side.routing_versions),
        red_flags=len(side.flags), by_level=dict(sorted(Counter(o.level.value for o in side.flags.values()).items())),
        referrals=dict(sorted(referrals.items())),
        time_to_first_referral=Spread(count=len(waits), median_days=statistics.median(waits) if waits else None,
                                      mean_days=round(statistics.fmean(waits), 2) if waits else None),
    )


def _referral_differences(now: SideResult, then: SideResult) -> list[ReferralDifference]:
    before = Counter(kind for o in now.flags.values() for kind in o.referrals)
    after = Counter(kind for o in then.flags.values() for kind in o.referrals)
    return [ReferralDifference(agency_kind=kind, current=before[kind], proposed=after[kind],
                               difference=after[kind] - before[kind]) for kind in sorted(before.keys() | after.keys())]


def _rates(inspections: Sequence[RecordedInspection], now: SideResult, then: SideResult,
           group_of: Callable[[RecordedInspection], str]) -> list[Rate]:
    totals: Counter = Counter()
    flagged_now: Counter = Counter()
    flagged_then: Counter = Counter()
    for insp in inspections:
        group = group_of(insp)
        totals[group] += 1
        flagged_now[group] += insp.inspection_id in now.flagged_inspections
        flagged_then[group] += insp.inspection_id in then.flagged_inspections
    return [Rate(group=g, inspections=n, current_flagged=flagged_now[g], proposed_flagged=flagged_then[g],
                 current_rate=round(flagged_now[g] / n, 4), proposed_rate=round(flagged_then[g] / n, 4))
            for g, n in sorted(totals.items())]
