"""Agency directory: the seed file, and choosing the agency of a kind for a referral."""

import json

import pytest
from pydantic import ValidationError

from pathways_referral.domain.directory import (
    DIRECTORY_FILE,
    Directory,
    Organization,
    choose_agency,
    load_directory,
)
from pathways_referral.domain.policy import load_policy
from pathways_referral.domain.vocab import AgencyKind as K

pytestmark = pytest.mark.unit

SEED = load_directory()


def _org(org_id: str, kind: K = K.VICTIM_SERVICES, **fields) -> Organization:
    return Organization(id=org_id, name=org_id.title(), kind=kind, **({"jurisdictions": {"olmsted"}} | fields))


def _directory(*orgs: Organization) -> Directory:
    return Directory(version="test", organizations=list(orgs))


def test_the_seed_has_an_agency_of_every_kind_in_its_county() -> None:
    assert all(choose_agency(kind, "olmsted", None, SEED) is not None for kind in K)


def test_every_kind_the_default_policy_routes_to_is_in_the_seed() -> None:
    routed = {t.agency_kind for rule in load_policy("default").rules for t in rule.targets}
    assert routed <= {o.kind for o in SEED.organizations}


def test_the_seed_is_hsds_shaped() -> None:
    org = SEED.get("riverbend-survivor-advocacy")
    assert org is not None and org.services and org.email and org.website and org.hours


def test_an_agency_speaking_the_language_is_preferred_over_a_faster_one() -> None:
    directory = _directory(_org("fast-en", languages=["en"], response_commitment_hours=4),
                           _org("slower-es", languages=["en", "es-MX"], response_commitment_hours=48))
    assert choose_agency(K.VICTIM_SERVICES, "olmsted", "es", directory).id == "slower-es"
    assert choose_agency(K.VICTIM_SERVICES, "olmsted", "so", directory).id == "fast-en"  # nobody speaks it
    assert choose_agency(K.VICTIM_SERVICES, "olmsted", None, directory).id == "fast-en"


def test_tried_agencies_full_agencies_and_other_jurisdictions_are_skipped() -> None:
    directory = _directory(_org("tried"), _org("full", capacity=0), _org("elsewhere", jurisdictions={"hennepin"}),
                           _org("wrong-kind", kind=K.HEALTH), _org("available", capacity=3))
    assert choose_agency(K.VICTIM_SERVICES, "olmsted", None, directory, exclude={"tried"}).id == "available"
    assert choose_agency(K.VICTIM_SERVICES, "olmsted", None, directory, exclude={"tried", "available"}) is None


def test_a_statewide_agency_serves_every_jurisdiction() -> None:
    directory = _directory(_org("statewide-hotline", jurisdictions={"*"}))
    assert choose_agency(K.VICTIM_SERVICES, "anywhere", None, directory).id == "statewide-hotline"


def test_ties_are_broken_by_id_so_the_choice_is_deterministic() -> None:
    directory = _directory(_org("b-agency", response_commitment_hours=24), _org("a-agency", response_commitment_hours=24))
    assert choose_agency(K.VICTIM_SERVICES, "olmsted", None, directory).id == "a-agency"


def test_duplicate_ids_and_unknown_fields_are_refused() -> None:
    with pytest.raises(ValidationError, match="unique"):
        _directory(_org("same"), _org("same"))
    with pytest.raises(ValidationError, match="extra"):
        Organization.model_validate({"id": "x", "name": "X", "kind": "police", "jurisdictions": ["olmsted"],
                                     "phone_of_victim": "555"})


README_JURISDICTION = "metro-county"  # the README walk-through's establishment est-42 is there


def test_the_walk_through_jurisdiction_has_an_agency_of_every_kind() -> None:
    missing = [kind for kind in K if choose_agency(kind, README_JURISDICTION, None, SEED) is None]
    assert not missing, f"the README's wage-theft case would end unplaced for {missing}"


def test_the_seed_uses_hsds_3_names() -> None:
    raw = json.loads(DIRECTORY_FILE.read_text(encoding="utf-8"))
    for org in raw["organizations"]:
        assert "url" not in org and "website" in org, org["id"]
        assert all(s["organization_id"] == org["id"] for s in org["services"]), org["id"]


def test_an_organizations_old_url_is_accepted_as_its_website_and_services_name_it() -> None:
    org = Organization.model_validate({"id": "a", "name": "A", "kind": "housing", "jurisdictions": ["x"],
                                       "url": "https://a.example.org", "services": [{"id": "s", "name": "S"}]})
    assert org.website == "https://a.example.org" and org.services[0].organization_id == "a"
    dumped = org.model_dump(mode="json")
    assert "url" not in dumped and dumped["website"] == "https://a.example.org"
    with pytest.raises(ValidationError, match="organization_id"):
        Organization.model_validate({"id": "a", "name": "A", "kind": "housing", "jurisdictions": ["x"],
                                     "services": [{"id": "s", "name": "S", "organization_id": "someone-else"}]})


@pytest.mark.parametrize("field, value", [
    ("languages", ["en\x00"]), ("languages", ["not a tag"]), ("name", "A\x00B"), ("name", "\ud800"),
    ("jurisdictions", ["olm\x00sted"]), ("description", "x\x00"), ("response_commitment_hours", 10**9),
])
def test_what_the_database_cannot_store_is_refused_at_validation(field: str, value) -> None:
    with pytest.raises(ValidationError) as refused:
        Organization.model_validate({"id": "a", "name": "A", "kind": "housing", "jurisdictions": ["x"]}
                                    | {field: value})
    assert refused.value.errors()[0]["loc"][0] == field
