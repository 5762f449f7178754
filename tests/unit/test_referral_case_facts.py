"""What the referral service derives from red flags before routing, and the tunables tests rely on."""

from datetime import UTC, datetime, timedelta

import pytest

from pathways_contracts.vocab import Category, Level
from pathways_referral.domain.directory import Organization
from pathways_referral.domain.policy import load_policy
from pathways_referral.domain.vocab import AgencyKind, Approach
from pathways_referral.service_layer.placement import DIVERSION_TARGET, deadline, facts_from
from pathways_referral.settings import DEFAULT_IMMINENT_DANGER_RULES, ReferralSettings

pytestmark = pytest.mark.unit
NOW = datetime(2026, 11, 2, 9, tzinfo=UTC)


def flag(**fields) -> dict:
    return {"categories": ["labor"], "dimensions": ["victim_vulnerability"], "level": "red_flag",
            "minor_indicated": False, "rule_ids": []} | fields


def test_facts_merge_every_red_flag_of_the_case() -> None:
    facts = facts_from([flag(), flag(categories=["sex"], level="urgent", minor_indicated=True)], None,
                       DEFAULT_IMMINENT_DANGER_RULES)
    assert facts.categories == {Category.LABOR, Category.SEX}
    assert facts.level is Level.URGENT and facts.minor_indicated
    assert facts.triage_approaches is None, "no decision yet: the policy's defaults apply"


def test_imminent_danger_comes_from_a_hard_rule_or_from_triage() -> None:
    rules = ReferralSettings(PATHWAYS_REFERRAL_IMMINENT_DANGER_RULES="HR-DANGER, HR-OTHER").imminent_danger_rules
    assert facts_from([flag(rule_ids=["HR-DANGER"])], None, rules).imminent_danger
    assert not facts_from([flag(rule_ids=["HR-MINOR-SEX"])], None, rules).imminent_danger
    decided = {"approaches": ["no_further_action"], "imminent_danger": True}
    facts = facts_from([flag()], decided, rules)
    assert facts.imminent_danger and facts.triage_approaches == {Approach.NO_FURTHER_ACTION}


def test_the_acceptance_window_can_be_shortened_by_settings() -> None:
    agency = Organization(id="a", name="A", kind=AgencyKind.COMMUNITY_DIVERSION, jurisdictions={"olmsted"},
                          response_commitment_hours=24)
    policy = load_policy("olmsted")
    assert deadline(NOW, DIVERSION_TARGET, agency, policy, Level.CONCERN) == NOW + timedelta(hours=24)
    assert deadline(NOW, DIVERSION_TARGET, agency, policy, Level.URGENT) == NOW + timedelta(hours=4)
    window = ReferralSettings(PATHWAYS_REFERRAL_ACCEPT_WINDOW_SECONDS="3").accept_window_seconds
    assert deadline(NOW, DIVERSION_TARGET, agency, policy, Level.URGENT, window) == NOW + timedelta(seconds=3)


def test_the_sweep_interval_has_a_floor() -> None:
    assert ReferralSettings(PATHWAYS_REFERRAL_SWEEP_SECONDS="0").sweep_seconds == 0.1
