"""Consent (42 CFR Part 2 §2.31 elements): who may see which of a person's fields, and until when."""

import uuid
from datetime import UTC, datetime, timedelta

import pytest
from pydantic import ValidationError

from pathways_referral.domain.consent import NO_REDISCLOSURE_NOTICE, Consent, ConsentNotActive, release

pytestmark = pytest.mark.unit

SIGNED = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
PERSON = uuid.uuid4()
AGENCY = "riverbend-survivor-advocacy"
RECORD = {"name": "A. Person", "birth_date": "2004-05-06", "phone": "+1 507 555 0100", "language": "es",
          "immigration_status": "pending", "notes": "prefers evening contact"}


def _consent(**overrides) -> Consent:
    fields = {"id": uuid.uuid4(), "person_id": PERSON, "disclosing_party": "Pathways referral service",
              "recipient_agency_id": AGENCY, "purpose": "advocacy and safety planning",
              "shareable_fields": {"name", "phone", "language"}, "expires_at": SIGNED + timedelta(days=90),
              "signed_by": "A. Person", "signed_at": SIGNED, "revocation_explained": True}
    return Consent(**(fields | overrides))


def test_active_consent_permits_its_agency_only() -> None:
    consent = _consent()
    assert consent.permits(AGENCY, SIGNED + timedelta(days=1))
    assert not consent.permits("city-police-trafficking-unit", SIGNED + timedelta(days=1))


@pytest.mark.parametrize(("at", "permitted"), [
    (SIGNED - timedelta(seconds=1), False),  # not yet signed
    (SIGNED, True),
    (SIGNED + timedelta(days=90) - timedelta(seconds=1), True),
    (SIGNED + timedelta(days=90), False),  # expired
])
def test_consent_is_bounded_by_signature_and_expiry(at: datetime, permitted: bool) -> None:
    assert _consent().permits(AGENCY, at) is permitted


def test_revocation_stops_releases_from_that_moment_and_keeps_the_first_time() -> None:
    revoked_at = SIGNED + timedelta(days=3)
    consent = _consent().revoke(revoked_at)
    assert consent.permits(AGENCY, revoked_at - timedelta(seconds=1))
    assert not consent.permits(AGENCY, revoked_at)
    assert consent.revoke(revoked_at + timedelta(days=1)).revoked_at == revoked_at


def test_an_expiry_event_ends_the_consent_when_it_happens() -> None:
    consent = _consent(expires_at=None, expiry_event="case closed")
    assert consent.permits(AGENCY, SIGNED + timedelta(days=400))
    closed = consent.expiry_event_happened(SIGNED + timedelta(days=10))
    assert not closed.permits(AGENCY, SIGNED + timedelta(days=10))


def test_release_gives_only_the_consented_fields() -> None:
    released = release(RECORD, _consent(), person_id=PERSON, agency_id=AGENCY, at=SIGNED + timedelta(hours=1))
    assert released == {"name": "A. Person", "phone": "+1 507 555 0100", "language": "es"}


@pytest.mark.parametrize(("consent", "person", "agency"), [
    (_consent(), PERSON, "city-police-trafficking-unit"),  # another agency
    (_consent(), uuid.uuid4(), AGENCY),  # another person
    (_consent().revoke(SIGNED), PERSON, AGENCY),  # revoked
])
def test_release_without_active_consent_releases_nothing(consent: Consent, person: uuid.UUID, agency: str) -> None:
    with pytest.raises(ConsentNotActive):
        release(RECORD, consent, person_id=person, agency_id=agency, at=SIGNED + timedelta(hours=1))


@pytest.mark.parametrize("overrides", [
    {"expires_at": None},  # neither date nor event (§2.31(a)(7))
    {"expires_at": SIGNED},  # expires before it starts
    {"shareable_fields": set()},
    {"shareable_fields": {"name", "social_security_number"}},  # not a known person field
    {"revocation_explained": False},  # §2.31(a)(6)
    {"purpose": ""},
    {"signed_at": datetime(2026, 3, 2, 9, 0)},  # naive timestamp
])
def test_an_incomplete_consent_is_refused(overrides: dict) -> None:
    with pytest.raises(ValidationError):
        _consent(**overrides)


def test_the_no_redisclosure_notice_says_what_it_must() -> None:
    for phrase in ("42 CFR Part 2", "§2.32", "paraphrase", "may not disclose", "prosecute", "revoke"):
        assert phrase in NO_REDISCLOSURE_NOTICE
