"""The default routing policy, read from its file, proven against EVERY combination of case facts.

Not sampled: itertools.product over all category subsets, dimension subsets, levels,
minor, danger and triage (none yet, or every subset of approaches).
"""

from collections.abc import Iterable, Iterator
from itertools import chain, combinations, product

import pytest

from pathways_contracts.vocab import Category, Dimension, Level
from pathways_referral.domain.policy import CaseFacts, RoutingPolicy, load_policy
from pathways_referral.domain.routing import Target, route
from pathways_referral.domain.vocab import AgencyKind as K
from pathways_referral.domain.vocab import Approach as A

pytestmark = pytest.mark.unit

POLICY = load_policy("default")
HARD_RULES = {rule.id for rule in POLICY.rules if rule.hard}
ALL_RULES = {rule.id for rule in POLICY.rules}


def subsets(items: Iterable) -> Iterator[frozenset]:
    items = list(items)
    return (frozenset(c) for c in chain.from_iterable(combinations(items, n) for n in range(len(items) + 1)))


def every_case() -> Iterator[CaseFacts]:
    triage_options = [None, *subsets(A)]
    for cats, dims, level, minor, danger, triage in product(
            subsets(Category), subsets(Dimension), Level, (False, True), (False, True), triage_options):
        yield CaseFacts(cats, dims, level, minor, danger, triage)


def by_kind(targets: list[Target]) -> dict[K, Target]:
    return {t.agency_kind: t for t in targets}


def offered_before(targets: list[Target], first: K, then: K) -> bool:
    kinds = by_kind(targets)
    return kinds[first].priority < kinds[then].priority


def _triaged(facts: CaseFacts, approach: A) -> bool:
    return facts.triage_approaches is not None and approach in facts.triage_approaches


# Each property: (name, check(facts, targets) -> bool). A failing case names the property and the facts.
def labor_defaults(f: CaseFacts, ts: list[Target]) -> bool:
    labor_seen = bool(f.categories & {Category.LABOR, Category.BOTH})
    if f.triage_approaches is not None or not labor_seen:
        return True
    kinds = by_kind(ts)
    return K.LABOR_STANDARDS in kinds and K.VICTIM_SERVICES in kinds


def victim_services_before_labor_standards(f: CaseFacts, ts: list[Target]) -> bool:
    kinds = by_kind(ts)
    if K.LABOR_STANDARDS not in kinds:
        return True
    return K.VICTIM_SERVICES in kinds and offered_before(ts, K.VICTIM_SERVICES, K.LABOR_STANDARDS)


def minor_gets_child_protection_and_safe_harbor(f: CaseFacts, ts: list[Target]) -> bool:
    if not f.minor_indicated:
        return True
    kinds = by_kind(ts)
    cp, nav = kinds.get(K.CHILD_PROTECTION), kinds.get(K.SAFE_HARBOR_NAVIGATOR)
    return (cp is not None and cp.mandated and cp.due_hours <= 24 and not cp.fallback
            and nav is not None and not nav.fallback)


def police_only_by_triage_or_hard_rule(f: CaseFacts, ts: list[Target]) -> bool:
    allowed = _triaged(f, A.CRIMINAL_INVESTIGATION) or f.minor_indicated or f.imminent_danger
    police = by_kind(ts).get(K.POLICE)
    return (police is not None and not police.fallback) == allowed


def licensing_only_by_license_action(f: CaseFacts, ts: list[Target]) -> bool:
    return (K.LICENSING in by_kind(ts)) == _triaged(f, A.LICENSE_ACTION)


def no_further_action_leaves_only_hard_rules(f: CaseFacts, ts: list[Target]) -> bool:
    if f.triage_approaches != frozenset({A.NO_FURTHER_ACTION}):
        return True
    if not (f.minor_indicated or f.imminent_danger):
        return ts == []
    return all(t.rule_id in HARD_RULES for t in ts)


def services_first_until_triage(f: CaseFacts, ts: list[Target]) -> bool:
    return f.triage_approaches is not None or K.VICTIM_SERVICES in by_kind(ts)


def well_formed(f: CaseFacts, ts: list[Target]) -> bool:
    kinds = [t.agency_kind for t in ts]
    fallbacks = [t.fallback for t in ts]
    return (len(kinds) == len(set(kinds))
            and [t.priority for t in ts] == list(range(1, len(ts) + 1))
            and fallbacks == sorted(fallbacks)  # every initial target before any fallback
            and all(t.rule_id in ALL_RULES for t in ts)
            and not any(t.fallback and t.mandated for t in ts))


PROPERTIES = [labor_defaults, victim_services_before_labor_standards, minor_gets_child_protection_and_safe_harbor,
              police_only_by_triage_or_hard_rule, licensing_only_by_license_action,
              no_further_action_leaves_only_hard_rules, services_first_until_triage, well_formed]


def test_every_combination_of_facts_satisfies_every_property() -> None:
    checked, failures = 0, []
    for facts in every_case():
        targets = route(facts, POLICY)
        failures += [(p.__name__, facts, targets) for p in PROPERTIES if not p(facts, targets)]
        checked += 1
    assert checked == 2**3 * 2**3 * 4 * 2 * 2 * (1 + 2**6)  # the whole space, nothing sampled
    assert not failures, f"{len(failures)} violations, first: {failures[0]}"


def test_routing_is_deterministic() -> None:
    facts = CaseFacts(frozenset(Category), frozenset(Dimension), Level.URGENT, True, True, frozenset(A))
    assert route(facts, POLICY) == route(facts, POLICY)


def _mutant(edit) -> RoutingPolicy:
    raw = POLICY.model_dump(mode="json")
    edit(raw["rules"])
    return RoutingPolicy.model_validate(raw)


def _police_by_default(rules) -> None:
    rules[-1]["targets"].append({"agency_kind": "police", "due_hours": 72, "reason": "mutant"})


def _drop_minor_rule(rules) -> None:
    rules[:] = [r for r in rules if r["id"] != "R-MINOR"]


def _labor_standards_first(rules) -> None:
    labor = next(r for r in rules if r["id"] == "R-DEFAULT-LABOR")
    labor["targets"].reverse()


def _licensing_by_default(rules) -> None:
    rules[-1]["targets"].insert(0, {"agency_kind": "licensing", "due_hours": 72, "reason": "mutant"})


@pytest.mark.parametrize("edit", [_police_by_default, _drop_minor_rule, _labor_standards_first, _licensing_by_default],
                         ids=lambda e: e.__name__)
def test_the_properties_catch_a_policy_that_breaks_the_brief(edit) -> None:
    """Guards against vacuous properties: each broken policy violates at least one of them."""
    mutant = _mutant(edit)
    assert any(not p(f, route(f, mutant)) for f in every_case() for p in PROPERTIES)


def test_labor_red_flag_before_triage_goes_to_services_then_labor_standards() -> None:
    facts = CaseFacts(frozenset({Category.LABOR}), frozenset({Dimension.VICTIM_VULNERABILITY}), Level.RED_FLAG)
    initial = [(t.agency_kind, t.rule_id) for t in route(facts, POLICY) if not t.fallback]
    assert initial == [(K.VICTIM_SERVICES, "R-DEFAULT-LABOR"), (K.LABOR_STANDARDS, "R-DEFAULT-LABOR")]


def test_urgent_minor_goes_to_child_protection_and_safe_harbor_first() -> None:
    facts = CaseFacts(frozenset({Category.SEX}), frozenset(), Level.URGENT, minor_indicated=True)
    targets = route(facts, POLICY)
    assert [t.agency_kind for t in targets[:2]] == [K.CHILD_PROTECTION, K.SAFE_HARBOR_NAVIGATOR]
    assert targets[0].mandated and targets[0].due_hours == 24
