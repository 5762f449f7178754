"""Contracts: committed schemas match the models, changes stay backward compatible, no person data."""

import json
import pytest
from pydantic import Field, create_model

from pathways_contracts import TOPICS, registry
from pathways_contracts.privacy import PERSON_WORDS, is_person_key
from pathways_contracts.schemas import (
    BASELINE_DIR, SCHEMA_DIR, baseline_path, breaking_changes, current_path, render, schema_for,
)

pytestmark = pytest.mark.unit
EVENT_TYPES = sorted(registry())

# Facts about a person who may be a victim never travel on the bus: the contracts' one list of person words
# (the same rule redacts webhooks and logs).
PERSON_FIELD_WORDS = ("name", "birth", "dob", "phone", "email", "contact", "immigration", "notes", "alias", "age")


@pytest.mark.parametrize("event_type", EVENT_TYPES)
def test_committed_schema_matches_the_model(event_type):
    path = current_path(event_type)
    assert path.exists(), f"{path} missing: run `make schemas`"
    assert path.read_text() == render(schema_for(registry()[event_type])), f"{path} drifted: run `make schemas`"


@pytest.mark.parametrize("event_type", EVENT_TYPES)
def test_model_is_backward_compatible_with_its_major_baseline(event_type):
    model = registry()[event_type]
    baseline = baseline_path(event_type, model.version)
    assert baseline.exists(), f"{baseline} missing: run `make schemas` to publish major {model.version}"
    problems = breaking_changes(json.loads(baseline.read_text()), schema_for(model))
    assert not problems, f"{event_type} v{model.version} breaks its baseline; bump `version`: {problems}"


def test_no_stray_schema_files():
    known = {current_path(t).name for t in EVENT_TYPES}
    assert {p.name for p in SCHEMA_DIR.glob("*.json")} == known
    assert all(p.name.split(".v")[0] in registry() for p in BASELINE_DIR.glob("*.json"))


@pytest.mark.parametrize("event_type", EVENT_TYPES)
def test_no_person_data_fields(event_type):
    fields = registry()[event_type].model_fields
    person_like = [f for f in fields if is_person_key(f)]
    assert not person_like, f"{event_type} has person-like fields {person_like}"


def test_the_shared_person_rule_covers_every_word_this_test_ever_checked():
    assert set(PERSON_FIELD_WORDS) <= PERSON_WORDS
    assert all(is_person_key(f"worker_{word}") for word in PERSON_FIELD_WORDS)


def test_every_event_type_has_a_topic_and_a_dlq():
    names = {t.name for t in TOPICS}
    for event_type in EVENT_TYPES:
        assert event_type in names and f"{event_type}.dlq" in names


# --- the checker itself -------------------------------------------------------------------------

def _schema(**fields) -> dict:
    return create_model("Probe", **fields).model_json_schema(mode="serialization")


def test_checker_accepts_a_new_optional_field():
    old = _schema(a=(str, ...))
    new = _schema(a=(str, ...), b=(int | None, None))
    assert breaking_changes(old, new) == []


def test_checker_flags_a_removed_field():
    assert breaking_changes(_schema(a=(str, ...), b=(int, 0)), _schema(a=(str, ...))) == ["b: removed"]


def test_checker_flags_a_newly_required_field():
    assert breaking_changes(_schema(a=(str, ...), b=(int, 0)), _schema(a=(str, ...), b=(int, ...))) == [
        "b: newly required"]


def test_checker_flags_narrowed_types_and_enums():
    from enum import StrEnum

    class Wide(StrEnum):
        X = "x"
        Y = "y"

    class Narrow(StrEnum):
        X = "x"

    assert breaking_changes(_schema(a=(str | None, None)), _schema(a=(str, "")))[0].startswith("a: type narrowed")
    assert breaking_changes(_schema(a=(Wide, ...)), _schema(a=(Narrow, ...)))[0].startswith("a: type narrowed")
    assert breaking_changes(_schema(a=(float, ...)), _schema(a=(int, ...)))[0].startswith("a: type narrowed")
    assert breaking_changes(_schema(a=(int, ...)), _schema(a=(float, ...))) == []  # widening is fine
    assert breaking_changes(_schema(a=(Narrow, ...)), _schema(a=(str, ...))) == []
    assert breaking_changes(_schema(a=(list[str], Field(default_factory=list))),
                            _schema(a=(list[int], Field(default_factory=list))))[0].startswith("a[]: type narrowed")
