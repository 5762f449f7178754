"""The routing evaluator and the policy loader, on small hand-written policies."""

import json
from pathlib import Path

import pytest
from pydantic import ValidationError

from pathways_contracts.vocab import Category, Dimension, Level
from pathways_referral.domain.policy import CaseFacts, RoutingPolicy, load_policy
from pathways_referral.domain.routing import route
from pathways_referral.domain.vocab import AgencyKind as K
from pathways_referral.domain.vocab import Approach as A

pytestmark = pytest.mark.unit


def _policy(*rules: dict, jurisdiction: str = "test", version: str = "test.v1") -> dict:
    return {"jurisdiction": jurisdiction, "version": version, "rules": list(rules)}


def _rule(rule_id: str, when: dict, *kinds: str, **extra) -> dict:
    return {"id": rule_id, "when": when, **extra,
            "targets": [{"agency_kind": k, "due_hours": 48, "reason": f"{rule_id} -> {k}"} for k in kinds]}


def _facts(**overrides) -> CaseFacts:
    base = {"categories": frozenset({Category.SEX}), "dimensions": frozenset(), "level": Level.RED_FLAG}
    return CaseFacts(**(base | overrides))


def test_the_first_rule_naming_an_agency_kind_wins_and_is_recorded() -> None:
    policy = RoutingPolicy.model_validate(_policy(
        _rule("R-FIRST", {}, "victim_services"),
        _rule("R-SECOND", {}, "health", "victim_services")))
    targets = route(_facts(), policy)
    assert [(t.agency_kind, t.rule_id, t.priority) for t in targets] == [
        (K.VICTIM_SERVICES, "R-FIRST", 1), (K.HEALTH, "R-SECOND", 2)]


def test_fallback_targets_come_after_every_initial_target() -> None:
    raw = _policy(_rule("R-A", {}, "victim_services", "health"), _rule("R-B", {}, "housing"))
    raw["rules"][0]["targets"][1]["fallback"] = True
    targets = route(_facts(), RoutingPolicy.model_validate(raw))
    assert [(t.agency_kind, t.fallback) for t in targets] == [
        (K.VICTIM_SERVICES, False), (K.HOUSING, False), (K.HEALTH, True)]


@pytest.mark.parametrize(("when", "facts", "matches"), [
    ({"min_level": "urgent"}, _facts(level=Level.RED_FLAG), False),
    ({"min_level": "red_flag"}, _facts(level=Level.URGENT), True),
    ({"dimensions_any": ["regulatory"]}, _facts(dimensions=frozenset({Dimension.REGULATORY})), True),
    ({"dimensions_any": ["regulatory"]}, _facts(), False),
    ({"categories_any": ["labor", "both"]}, _facts(categories=frozenset({Category.BOTH})), True),
    ({"triage": "pending"}, _facts(triage_approaches=frozenset()), False),
    ({"triage": "decided"}, _facts(triage_approaches=frozenset()), True),
    ({"approaches_any": ["license_action"]}, _facts(), False),
    ({"approaches_any": ["license_action"]}, _facts(triage_approaches=frozenset({A.LICENSE_ACTION})), True),
    ({"minor_indicated": True, "imminent_danger": True}, _facts(minor_indicated=True), False),
    ({}, _facts(), True),
])
def test_conditions_are_a_conjunction(when: dict, facts: CaseFacts, matches: bool) -> None:
    policy = RoutingPolicy.model_validate(_policy(_rule("R-X", when, "housing")))
    assert bool(route(facts, policy)) is matches


@pytest.mark.parametrize(("raw", "complaint"), [
    (_policy(_rule("R-X", {"minor": True}, "police")), "extra"),  # misspelt condition: never a silent match-all
    (_policy(_rule("R-X", {}, "police", "police")), "twice"),
    (_policy(_rule("R-X", {}, "police"), _rule("R-X", {}, "health")), "unique"),
    (_policy(_rule("R-X", {"triage": "pending"}, "police", hard=True)), "hard rule"),
    (_policy(_rule("R-X", {}, "sheriff_posse")), "agency_kind"),
    (_policy(_rule("lowercase", {}, "police")), "pattern"),
])
def test_a_malformed_policy_is_refused(raw: dict, complaint: str) -> None:
    with pytest.raises(ValidationError, match=complaint):
        RoutingPolicy.model_validate(raw)


def _write(directory: Path, name: str, jurisdiction: str, version: str) -> None:
    raw = _policy(_rule("R-ANY", {}, "victim_services"), jurisdiction=jurisdiction, version=version)
    (directory / name).write_text(json.dumps(raw))


def test_the_newest_version_of_a_jurisdiction_is_loaded(tmp_path: Path) -> None:
    _write(tmp_path, "default.v1.json", "default", "default.v1")
    _write(tmp_path, "olmsted.v2.json", "olmsted", "olmsted.v2")
    _write(tmp_path, "olmsted.v10.json", "olmsted", "olmsted.v10")
    assert load_policy("olmsted", tmp_path).version == "olmsted.v10"


@pytest.mark.parametrize("jurisdiction", ["hennepin", "../../etc/passwd", "Olmsted", ""])
def test_an_unknown_or_unsafe_jurisdiction_falls_back_to_the_default(tmp_path: Path, jurisdiction: str) -> None:
    _write(tmp_path, "default.v1.json", "default", "default.v1")
    assert load_policy(jurisdiction, tmp_path).version == "default.v1"


def test_no_policy_at_all_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        load_policy("olmsted", tmp_path)


def test_the_shipped_default_policy_loads() -> None:
    policy = load_policy("default")
    assert policy.version == "default.v1"
    assert policy.acceptance.default_commitment_hours == 72 and policy.acceptance.urgent_cap_hours == 4
