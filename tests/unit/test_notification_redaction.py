"""Redaction per role: an allow-list per event type, police never see vulnerability, no person data ever."""

import pytest
from pydantic import ValidationError

from pathways_contracts import registry
from pathways_notification.domain.redaction import (
    DepartmentRole, RedactionPolicy, is_person_key, load_policy, receives, redact,
)

pytestmark = pytest.mark.unit

EVENT_TYPES = sorted(registry())
ROLES = list(DepartmentRole)
CATALOG = {"LOCKED_DOORS": "criminal_operation", "LICENSE_NOT_POSTED": "regulatory",
           "MINOR_PRESENT": "victim_vulnerability", "SIGNS_OF_INJURY": "victim_vulnerability"}
PERSON_KEYS = ["name", "first_name", "alias", "dob", "date_of_birth", "age", "phone", "email", "contact",
               "address_of_person", "person_id", "personName", "immigration_status", "notes"]


def _sample(event_type: str) -> dict:
    """Every field of the event model with a placeholder value, indicator codes from every dimension."""
    data = {field: f"value-of-{field}" for field in registry()[event_type].model_fields}
    if "indicator_codes" in data:
        data["indicator_codes"] = [*CATALOG, "NOT_IN_CATALOG"]
    if "dimensions" in data:
        data["dimensions"] = ["victim_vulnerability", "criminal_operation", "regulatory"]
    return data


def _redact(role, event_type, data, policy=None):
    return redact(role, event_type, data, CATALOG.get, policy=policy)


# --- the policy file ----------------------------------------------------------------------------

def test_policy_loads_and_names_every_role():
    assert set(load_policy().roles) == set(DepartmentRole)


@pytest.mark.parametrize("role", ROLES)
def test_every_event_type_has_an_explicit_entry_for_every_role(role):
    events = load_policy().roles[role].events
    assert sorted(events) == EVENT_TYPES, "each event type needs a field list or an explicit \"none\""


@pytest.mark.parametrize("role", ROLES)
def test_allow_listed_fields_exist_on_the_event_model(role):
    for event_type, view in load_policy().roles[role].events.items():
        if view != "none":
            unknown = view.fields - set(registry()[event_type].model_fields)
            assert not unknown, f"{role} / {event_type} lists fields the event does not have: {unknown}"


def test_loader_rejects_an_unknown_role_or_key():
    with pytest.raises(ValidationError):
        RedactionPolicy.model_validate({"version": 1, "roles": {"journalist": {"events": {}}}})
    with pytest.raises(ValidationError):
        RedactionPolicy.model_validate({"version": 1, "roles": {"ops": {"events": {}, "deny": ["x"]}}})


# --- allow-list semantics -----------------------------------------------------------------------

def test_a_field_the_policy_does_not_name_is_dropped():
    data = _sample("case.opened") | {"added_by_a_producer_later": "x"}
    assert "added_by_a_producer_later" not in _redact("victim_services", "case.opened", data)


def test_none_means_nothing_and_unknown_role_or_type_means_nothing():
    assert not receives("police", "victim_service.engaged")
    assert _redact("police", "victim_service.engaged", _sample("victim_service.engaged")) == {}
    assert _redact("journalist", "case.opened", _sample("case.opened")) == {}
    assert _redact("victim_services", "no.such.type", {"case_id": "x"}) == {}


def test_victim_services_receive_the_whole_red_flag():
    data = _sample("redflag.raised")
    assert _redact("victim_services", "redflag.raised", data) == data


# --- police: business and criminal-operation facts only -------------------------------------------

@pytest.mark.parametrize("event_type", ["inspection.completed", "redflag.raised", "redflag.escalated"])
def test_police_get_only_criminal_operation_and_regulatory_indicators(event_type):
    out = _redact("police", event_type, _sample(event_type))
    assert out["indicator_codes"] == ["LOCKED_DOORS", "LICENSE_NOT_POSTED"]  # unknown code withheld too


def test_police_do_not_learn_that_vulnerability_was_seen():
    out = _redact("police", "redflag.raised", _sample("redflag.raised"))
    assert out["dimensions"] == ["criminal_operation", "regulatory"]
    assert "minor_indicated" not in out and "score" not in out
    assert out["establishment_id"] == "value-of-establishment_id"


def test_police_get_no_interpreter_language_or_free_text():
    assert "interpreter_language" not in _redact("police", "inspection.completed", _sample("inspection.completed"))
    assert "outcome" not in _redact("police", "case.closed", _sample("case.closed"))
    assert not receives("police", "referral.declined")


def test_an_indicator_whose_dimension_lookup_fails_is_withheld():
    out = redact("licensing", "inspection.completed", _sample("inspection.completed"), lambda code: None)
    assert out["indicator_codes"] == []


# --- person data: the second line of defence --------------------------------------------------------

@pytest.mark.parametrize("key", PERSON_KEYS)
def test_person_keys_are_recognised(key):
    assert is_person_key(key)


@pytest.mark.parametrize("key", ["agency_id", "interpreter_language", "roles_present", "departments",
                                 "establishment_id", "rule_ids", "source_event_type"])
def test_business_keys_are_not_mistaken_for_person_data(key):
    assert not is_person_key(key)


@pytest.mark.parametrize("event_type", EVENT_TYPES)
def test_no_event_model_field_is_person_like_so_the_guard_never_eats_a_contract_field(event_type):
    assert not [f for f in registry()[event_type].model_fields if is_person_key(f)]


def _permissive_policy() -> RedactionPolicy:
    """A careless policy that allow-lists every model field and every person key, for every role."""
    events = {t: {"fields": [*registry()[t].model_fields, *PERSON_KEYS]} for t in EVENT_TYPES}
    return RedactionPolicy.model_validate(
        {"version": 0, "roles": {role: {"events": events} for role in DepartmentRole}})


@pytest.mark.parametrize("event_type", EVENT_TYPES)
@pytest.mark.parametrize("role", ROLES)
def test_no_role_receives_person_data_even_if_a_policy_allows_it(role, event_type):
    data = _sample(event_type) | {key: "Jane Doe" for key in PERSON_KEYS}
    for policy in (load_policy(), _permissive_policy()):
        out = _redact(role, event_type, data, policy)
        assert not [key for key in out if is_person_key(key)]
        assert "Jane Doe" not in str(out)


def test_person_keys_nested_in_an_allowed_field_are_dropped():
    policy = RedactionPolicy.model_validate(
        {"version": 0, "roles": {"ops": {"events": {"case.closed": {"fields": ["outcome"]}}}}})
    data = {"outcome": {"summary": "closed", "person": {"name": "x"}, "items": [{"phone": "1", "kind": "a"}]}}
    assert _redact("ops", "case.closed", data, policy) == {"outcome": {"summary": "closed", "items": [{"kind": "a"}]}}


# --- what each role must never receive, over every event type it can subscribe to ---------------------

from pathways_notification.bootstrap import subscribable  # noqa: E402

SUBSCRIBABLE = subscribable()
REFERRAL_LIFECYCLE = {t for t in SUBSCRIBABLE if t.startswith("referral.")} | {"victim_service.engaged"}
VULNERABILITY_FIELDS = {"minor_indicated", "score"}
# Per role: event types it receives nothing of, and fields it never receives of any type. Written from each
# role's description in the policy, so a policy change that contradicts its own description fails here.
NEVER: dict[str, tuple[set[str], set[str]]] = {
    # "nothing about engagement with services": referrals name the (victim-service) agencies.
    "police": (REFERRAL_LIFECYCLE | {"consent.revoked"},
               VULNERABILITY_FIELDS | {"agency_id", "interpreter_language", "outcome", "service"}),
    "licensing": (REFERRAL_LIFECYCLE, VULNERABILITY_FIELDS | {"agency_id", "interpreter_language"}),
    "finance": (REFERRAL_LIFECYCLE | {t for t in SUBSCRIBABLE if t.startswith("case.")},
                VULNERABILITY_FIELDS | {"case_id", "referral_id", "agency_id"}),
    "labor": ({"victim_service.engaged"}, set()),
    "health": ({"victim_service.engaged"}, set()),
    "housing": ({"victim_service.engaged"}, set()),
    "ops": (set(), VULNERABILITY_FIELDS),
    "child_protection": (set(), set()),
    "victim_services": (set(), set()),
}


def test_the_table_names_every_role():
    assert set(NEVER) == {str(r) for r in DepartmentRole}


@pytest.mark.parametrize("event_type", SUBSCRIBABLE)
@pytest.mark.parametrize("role", ROLES)
def test_a_role_receives_nothing_it_must_not_of_any_type_it_can_subscribe_to(role, event_type):
    never_types, never_fields = NEVER[str(role)]
    out = _redact(role, event_type, _sample(event_type))
    if event_type in never_types:
        assert not receives(role, event_type) and out == {}, f"{role} receives {event_type}"
        return
    assert not never_fields & set(out), f"{role} / {event_type} leaks {never_fields & set(out)}"
    limited = load_policy().roles[role].indicator_dimensions
    if limited is not None and "indicator_codes" in out:
        assert all(CATALOG.get(code) in limited for code in out["indicator_codes"])


@pytest.mark.parametrize("event_type", ["referral.created", "referral.accepted", "referral.expired"])
def test_police_get_no_referral_naming_an_agency(event_type):
    """Issue 14 item 10: a police webhook received referral.created and referral.accepted naming victim-service
    agencies, though its policy promises nothing about engagement with services."""
    assert not receives("police", event_type)
    assert _redact("police", event_type, _sample(event_type)) == {}


@pytest.mark.parametrize("role", ROLES)
def test_the_envelope_subject_is_a_field_the_role_may_see(role):
    """A webhook's CloudEvent carries ``subject`` beside the redacted data: it must not reveal more."""
    for event_type in SUBSCRIBABLE:
        view = load_policy().roles[role].events[event_type]
        if view != "none":
            assert registry()[event_type].subject_field in view.fields, f"{role} / {event_type}"
