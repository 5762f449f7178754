"""Screening: signals fused across departments within a window, hard rules, deterministic explanations."""

from datetime import date, timedelta
from uuid import UUID

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from pathways_contracts.catalog import load_catalog
from pathways_contracts.vocab import Level, Program
from pathways_inspection.domain.screening import (
    Decision,
    Observation,
    Rules,
    decide,
    load_rules,
    rules_problems,
    screen,
)

pytestmark = pytest.mark.unit

CATALOG = load_catalog()
RULES = load_rules()
AS_OF = date(2024, 6, 30)


def obs(n: int, department: str, program: Program, *codes: str, days_ago: int = 10) -> Observation:
    return Observation(
        inspection_id=UUID(int=n),
        department=department,
        program=program,
        inspected_on=AS_OF - timedelta(days=days_ago),
        indicator_codes=codes,
    )


def assess(*observations: Observation):
    return screen(observations, RULES, CATALOG, AS_OF)


FOOD_SLEEPING = obs(1, "environmental_health", Program.FOOD, "VUL-LIVING-ON-SITE", days_ago=200)
LABOR_WAGE_THEFT = obs(2, "labor_standards", Program.LABOR, "LAB-WAGE-THEFT", days_ago=20)


def test_default_rules_refer_only_to_catalog_codes():
    assert RULES.version == "default.v1"
    assert RULES.fusion_window_days == 365
    assert rules_problems(RULES, CATALOG) == []


def test_unknown_jurisdiction_falls_back_to_default_rules():
    assert load_rules("nowhere-county") is load_rules("default")
    assert load_rules("../../etc/passwd").version == "default.v1"


def test_cross_department_fusion_raises_a_red_flag_neither_raises_alone():
    assert assess(FOOD_SLEEPING).level == Level.CONCERN
    assert assess(LABOR_WAGE_THEFT).level == Level.CONCERN
    fused = assess(FOOD_SLEEPING, LABOR_WAGE_THEFT)
    assert fused.level == Level.RED_FLAG
    assert fused.departments == ("environmental_health", "labor_standards")
    assert fused.contributing_inspection_ids == (UUID(int=1), UUID(int=2))
    assert fused.indicator_codes == ("LAB-WAGE-THEFT", "VUL-LIVING-ON-SITE")
    assert [(c.code, c.weight) for c in fused.breakdown] == [("LAB-WAGE-THEFT", 3), ("VUL-LIVING-ON-SITE", 4)]
    assert fused.score == 7
    assert fused.rules_version == "default.v1"


def test_no_single_indicator_other_than_a_minor_is_a_red_flag_on_its_own():
    for indicator in CATALOG.indicators:
        for program in indicator.programs:
            level = assess(obs(1, "d", program, indicator.code)).level
            if indicator.code == "VUL-MINOR-PRESENT":
                assert level == Level.RED_FLAG
            else:
                assert level.rank < Level.RED_FLAG.rank, indicator.code


def test_seed_massage_inspection_raises_a_red_flag():
    massage = obs(
        3, "environmental_health", Program.MASSAGE,
        "SEX-FORENSIC-LIGHT-POSITIVE", "VUL-LIVING-ON-SITE", "REG-LICENSE-HELD-BY-ABSENT",
    )
    assessment = assess(massage)
    assert assessment.level == Level.RED_FLAG
    assert "sex" in assessment.categories


def test_minor_with_a_sex_indicator_is_urgent_by_hard_rule():
    assessment = assess(obs(4, "environmental_health", Program.MASSAGE, "VUL-MINOR-PRESENT", "SEX-LOCKED-DOORS"))
    assert assessment.level == Level.URGENT
    assert assessment.rule_ids == ("HR-MINOR-SEX",)
    assert assessment.minor_indicated


def test_minor_seen_by_one_department_and_sex_indicator_by_another_is_urgent():
    minor = obs(5, "labor_standards", Program.LABOR, "VUL-MINOR-PRESENT")
    ads = obs(6, "licensing", Program.MASSAGE, "SEX-COMMERCIAL-SEX-ADS", days_ago=100)
    assert assess(minor, ads).level == Level.URGENT


def test_entry_refused_with_a_criminal_operation_indicator_is_a_red_flag():
    refused = obs(7, "environmental_health", Program.MASSAGE, "OPS-ENTRY-REFUSED")
    assert assess(refused).level == Level.NONE
    cameras = obs(8, "environmental_health", Program.MASSAGE, "OPS-CAMERAS-INWARD", days_ago=300)
    assessment = assess(refused, cameras)
    assert assessment.score == 4
    assert assessment.level == Level.RED_FLAG
    assert assessment.rule_ids == ("HR-ENTRY-REFUSED-CRIMINAL-OP",)


def test_code_seen_twice_counts_once_and_names_both_inspections():
    again = obs(9, "licensing", Program.FOOD, "VUL-LIVING-ON-SITE", days_ago=5)
    assessment = assess(FOOD_SLEEPING, again)
    assert assessment.score == 4
    (line,) = assessment.breakdown
    assert line.inspection_ids == (UUID(int=1), UUID(int=9))
    assert line.departments == ("environmental_health", "licensing")


def test_code_counts_at_its_highest_program_weight():
    rules = RULES.model_copy(update={"program_weight_overrides": {Program.LABOR: {"VUL-LIVING-ON-SITE": 5}}})
    labor = obs(10, "labor_standards", Program.LABOR, "VUL-LIVING-ON-SITE")
    assessment = screen([FOOD_SLEEPING, labor], rules, CATALOG, AS_OF)
    assert assessment.breakdown[0].weight == 5


def test_weight_override_applies():
    assert assess(obs(11, "d", Program.FOOD, "REG-LICENSE-NOT-POSTED")).score == 0.5


def test_observations_outside_the_window_or_after_as_of_are_ignored():
    old = obs(12, "labor_standards", Program.LABOR, "LAB-WAGE-THEFT", days_ago=366)
    future = obs(13, "labor_standards", Program.LABOR, "LAB-WAGE-THEFT", days_ago=-1)
    edge = obs(14, "labor_standards", Program.LABOR, "LAB-WAGE-THEFT", days_ago=365)
    assert assess(FOOD_SLEEPING, old, future).level == Level.CONCERN
    assert assess(FOOD_SLEEPING, edge).level == Level.RED_FLAG


def test_unknown_codes_are_listed_not_scored():
    assessment = assess(obs(15, "d", Program.FOOD, "NOT-A-CODE"))
    assert assessment.score == 0
    assert assessment.unknown_codes == ("NOT-A-CODE",)
    assert assessment.contributing_inspection_ids == ()


def test_negative_weights_are_rejected():
    data = RULES.model_dump(mode="json") | {"weight_overrides": {"LAB-WAGE-THEFT": -1}}
    with pytest.raises(ValidationError, match="must not be negative"):
        Rules.model_validate(data)


def test_thresholds_must_increase():
    data = RULES.model_dump(mode="json") | {"thresholds": {"concern": 6, "red_flag": 3, "urgent": 12}}
    with pytest.raises(ValidationError):
        Rules.model_validate(data)


@pytest.mark.parametrize(
    ("open_level", "level", "decision"),
    [
        (None, Level.NONE, Decision.NOTHING),
        (None, Level.CONCERN, Decision.NOTHING),
        (None, Level.RED_FLAG, Decision.RAISE),
        (None, Level.URGENT, Decision.RAISE),
        (Level.RED_FLAG, Level.RED_FLAG, Decision.NOTHING),
        (Level.RED_FLAG, Level.CONCERN, Decision.NOTHING),
        (Level.RED_FLAG, Level.URGENT, Decision.ESCALATE),
        (Level.URGENT, Level.URGENT, Decision.NOTHING),
    ],
)
def test_decide(open_level, level, decision):
    assessment = assess().model_copy(update={"level": level})
    assert decide(open_level, assessment) == decision


# --- properties -------------------------------------------------------------

CODES = sorted(CATALOG.codes)
observation = st.builds(
    Observation,
    inspection_id=st.integers(0, 10**6).map(lambda n: UUID(int=n)),
    department=st.sampled_from(["environmental_health", "labor_standards", "housing", "licensing"]),
    program=st.sampled_from(list(Program)),
    inspected_on=st.dates(AS_OF - timedelta(days=800), AS_OF + timedelta(days=30)),
    indicator_codes=st.lists(st.sampled_from(CODES), max_size=4).map(tuple),
)
observations = st.lists(observation, max_size=8)


@settings(max_examples=200, deadline=None)
@given(observations, observation)
def test_adding_an_observation_never_lowers_score_or_level(before, extra):
    without = screen(before, RULES, CATALOG, AS_OF)
    with_extra = screen([*before, extra], RULES, CATALOG, AS_OF)
    assert with_extra.score >= without.score
    assert with_extra.level.rank >= without.level.rank


@settings(max_examples=200, deadline=None)
@given(observations, st.randoms(use_true_random=False))
def test_result_is_independent_of_observation_order(items, rnd):
    shuffled = list(items)
    rnd.shuffle(shuffled)
    assert screen(shuffled, RULES, CATALOG, AS_OF) == screen(items, RULES, CATALOG, AS_OF)


@settings(max_examples=200, deadline=None)
@given(observations, observations)
def test_observations_outside_the_window_have_no_effect(inside, others):
    window_start = AS_OF - timedelta(days=RULES.fusion_window_days)
    outside = [o for o in others if not window_start <= o.inspected_on <= AS_OF]
    assert screen([*inside, *outside], RULES, CATALOG, AS_OF) == screen(inside, RULES, CATALOG, AS_OF)
