"""Checklists as data: every program has one, answers are validated, failures imply catalog codes."""

import pytest

from pathways_contracts.catalog import load_catalog
from pathways_contracts.vocab import Program
from pathways_inspection.domain.checklists import (
    Checklist,
    all_checklists,
    catalog_problems,
    failed_items,
    implied_indicators,
    load_checklist,
    sanitation_failed,
    validate_answers,
)

pytestmark = pytest.mark.unit


def passing_answers(checklist: Checklist) -> dict:
    """A complete, valid set of answers under which no item fails."""
    answers = {}
    for item in checklist.items:
        match item.answer:
            case "pass_fail":
                answers[item.id] = "pass"
            case "yes_no":
                answers[item.id] = not item.fail_on[0] if item.fail_on else False
            case "choice":
                answers[item.id] = next(o for o in item.options if o not in item.fail_on)
            case "count":
                answers[item.id] = 2
            case "date":
                answers[item.id] = "2024-05-01"
            case "text":
                answers[item.id] = "ok"
    return answers


@pytest.fixture
def massage() -> Checklist:
    return load_checklist(Program.MASSAGE)


@pytest.mark.parametrize("program", list(Program))
def test_every_program_has_a_versioned_checklist(program):
    checklist = load_checklist(program)
    assert checklist.program == program
    assert checklist.version == f"{program.value}.v1"


@pytest.mark.parametrize("checklist", all_checklists(), ids=lambda c: c.version)
def test_implied_codes_are_in_the_catalog_and_allowed_for_the_program(checklist):
    assert catalog_problems(checklist, load_catalog()) == []


@pytest.mark.parametrize("checklist", all_checklists(), ids=lambda c: c.version)
def test_passing_answers_are_valid_and_imply_nothing(checklist):
    answers = passing_answers(checklist)
    assert validate_answers(checklist, answers) == []
    assert failed_items(checklist, answers) == []
    assert implied_indicators(checklist, answers) == []


def test_massage_checklist_has_the_seed_items(massage):
    ids = {i.id for i in massage.items}
    assert {"lic_establishment_license_posted", "lic_each_practitioner_licensed", "lic_holder_present"} <= ids
    assert {"forensic_lighting", "test_kit"} <= ids
    assert any(i.section == "sanitation" for i in massage.items)


def test_labor_checklist_has_hours_pay_records_and_days_off():
    ids = {i.id for i in load_checklist(Program.LABOR).items}
    assert {"lab_hours_posted", "lab_pay_records", "lab_days_off"} <= ids


def test_missing_required_and_unknown_items_are_named(massage):
    answers = passing_answers(massage)
    del answers["lic_holder_present"]
    answers["sauna_temperature"] = 90
    assert validate_answers(massage, answers) == [
        "lic_holder_present: required",
        "sauna_temperature: not an item of massage_establishment.v1",
    ]


@pytest.mark.parametrize(
    ("item_id", "value", "reason"),
    [
        ("san_pests", "ok", "must be one of pass, fail, not_applicable"),
        ("lic_holder_present", "yes", "must be true or false"),
        ("lic_holder_present", 1, "must be true or false"),
        ("forensic_lighting", "maybe", "must be one of negative, positive, not_performed"),
        ("lic_practitioners_present", -1, "must be a whole number of at least 0"),
        ("lic_practitioners_present", True, "must be a whole number of at least 0"),
        ("lic_practitioners_present", 2.5, "must be a whole number of at least 0"),
    ],
)
def test_bad_answers_name_the_item_and_the_reason(massage, item_id, value, reason):
    answers = passing_answers(massage) | {item_id: value}
    assert validate_answers(massage, answers) == [f"{item_id}: {reason}"]


def test_failures_imply_catalog_codes(massage):
    answers = passing_answers(massage) | {
        "lic_each_practitioner_licensed": False,
        "lic_holder_present": False,
        "forensic_lighting": "positive",
        "obs_workers_living_on_site": True,
    }
    assert implied_indicators(massage, answers) == [
        "REG-LICENSE-HELD-BY-ABSENT",
        "REG-PRACTITIONER-UNLICENSED",
        "SEX-FORENSIC-LIGHT-POSITIVE",
        "VUL-LIVING-ON-SITE",
    ]
    assert not sanitation_failed(massage, answers)


def test_a_count_of_zero_is_not_a_no(massage):
    answers = passing_answers(massage) | {"lic_holder_present": 0}
    assert implied_indicators(massage, answers) == []


def test_failed_sanitation_item_is_detected(massage):
    answers = passing_answers(massage) | {"san_restroom": "fail"}
    assert sanitation_failed(massage, answers)
    assert [i.id for i in failed_items(massage, answers)] == ["san_restroom"]
    assert implied_indicators(massage, answers) == []


def test_clean_hotels_verified_date_required_only_when_signed():
    lodging = load_checklist(Program.LODGING)
    answers = passing_answers(lodging)
    del answers["prev_clean_hotels_verified_on"]
    assert validate_answers(lodging, answers | {"prev_clean_hotels_signed": False}) == []
    assert validate_answers(lodging, answers | {"prev_clean_hotels_signed": True}) == [
        "prev_clean_hotels_verified_on: required"
    ]
    bad_date = answers | {"prev_clean_hotels_signed": True, "prev_clean_hotels_verified_on": "05/01/2024"}
    assert validate_answers(lodging, bad_date) == ["prev_clean_hotels_verified_on: must be a date (YYYY-MM-DD)"]


def test_overcrowding_implies_employer_housing_indicator_only_when_employer_rented():
    rental = load_checklist(Program.RENTAL_HOUSING)
    overcrowded = passing_answers(rental) | {"hsg_occupancy_within_limit": False}
    assert implied_indicators(rental, overcrowded | {"hsg_employer_rented": False}) == []
    assert implied_indicators(rental, overcrowded | {"hsg_employer_rented": True}) == [
        "VUL-OVERCROWDED-EMPLOYER-HOUSING"
    ]


def test_unknown_checklist_version_is_a_lookup_error():
    with pytest.raises(LookupError):
        load_checklist(Program.MASSAGE, "v9")


def test_checklist_with_bad_condition_is_rejected(massage):
    data = massage.model_dump(mode="json")
    data["items"][0]["required_if"] = {"item": "nope", "equals": True}
    with pytest.raises(ValueError, match="unknown item 'nope'"):
        Checklist.model_validate(data)
