"""Consent to release a person's details to one agency, with the 42 CFR Part 2 §2.31 elements.

Part 2 strictly governs federally assisted substance-use-disorder programmes; Pathways
adopts its consent elements and its no-redisclosure notice as the model for every
release of person data, because they are the strictest well-known standard. The notice
below is a plain-language paraphrase, not the regulatory text: have counsel review it
before production use.

§2.31(a) element            -> field
(1) the person               -> person_id
(2) who may disclose         -> disclosing_party
(3) what may be shared       -> shareable_fields
(4) the recipient            -> recipient_agency_id
(5) the purpose              -> purpose
(6) right to revoke, and how -> revocation_explained (must be true), revoked_at
(7) expiry date or event     -> expires_at and/or expiry_event (+ expiry_event_at once it happens)
(8) signature                -> signed_by, signer_role
(9) date signed              -> signed_at
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any, Literal
from uuid import UUID

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, model_validator

# The person fields a consent may name; anything else is never released.
PERSON_FIELDS = frozenset({
    "name", "alias", "birth_date", "age_band", "phone", "email", "address", "language", "needs",
    "immigration_status", "notes", "do_not_contact",
})

NO_REDISCLOSURE_NOTICE = (
    "NOTICE - NO REDISCLOSURE (plain-language paraphrase modelled on 42 CFR Part 2, §2.32; not the "
    "regulatory text). This information about a person is released to your agency only, under that "
    "person's written consent and only for the purpose stated in it. You may not disclose it to anyone "
    "else, or use it for any other purpose, unless the person gives further written consent or the law "
    "expressly requires it. You may not use it, or testimony describing it, to investigate, charge or "
    "prosecute the person in any civil, criminal, administrative or legislative proceeding. A general "
    "authorization to release information does not permit redisclosure. The person may revoke this "
    "consent at any time; after revocation nothing further is released."
)


class ConsentNotActive(PermissionError):
    """No active consent covers this release: the API answers 403 and releases nothing."""


class Consent(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    id: UUID
    person_id: UUID
    disclosing_party: str = Field(min_length=1, description="Who may disclose, e.g. the referral service.")
    recipient_agency_id: str = Field(min_length=1)
    purpose: str = Field(min_length=1)
    shareable_fields: frozenset[str] = Field(min_length=1)
    expires_at: AwareDatetime | None = None
    expiry_event: str | None = Field(None, description="e.g. 'case closed'; expires when it happens.")
    expiry_event_at: AwareDatetime | None = None
    signed_by: str = Field(min_length=1)
    signer_role: Literal["person", "parent_or_guardian", "authorized_representative"] = "person"
    signed_at: AwareDatetime
    revocation_explained: Literal[True] = Field(description="The form told the person how to revoke (§2.31(a)(6)).")
    revoked_at: AwareDatetime | None = None

    @model_validator(mode="after")
    def _complete(self) -> Consent:
        if self.expires_at is None and not self.expiry_event:
            raise ValueError("a consent needs an expiry date or an expiry event (§2.31(a)(7))")
        if self.expires_at is not None and self.expires_at <= self.signed_at:
            raise ValueError("a consent cannot expire before it was signed")
        unknown = self.shareable_fields - PERSON_FIELDS
        if unknown:
            raise ValueError(f"unknown person fields: {sorted(unknown)}")
        return self

    def permits(self, agency_id: str, at: datetime) -> bool:
        """Signed, addressed to this agency, and neither expired nor revoked at ``at``."""
        return (agency_id == self.recipient_agency_id and self.signed_at <= at
                and not _reached(self.expires_at, at)
                and not _reached(self.expiry_event_at, at)
                and not _reached(self.revoked_at, at))

    def revoke(self, at: datetime) -> Consent:
        """Revoked from ``at`` on; revoking again keeps the first revocation time."""
        return self if self.revoked_at is not None else self.model_copy(update={"revoked_at": at})

    def expiry_event_happened(self, at: datetime) -> Consent:
        return self if self.expiry_event_at is not None else self.model_copy(update={"expiry_event_at": at})


def _reached(moment: datetime | None, at: datetime) -> bool:
    return moment is not None and at >= moment


def release(person_fields: Mapping[str, Any], consent: Consent, *, person_id: UUID, agency_id: str,
            at: datetime) -> dict[str, Any]:
    """The person's fields this agency may see now, and nothing else.

    Checks the consent itself (right person, right agency, active) so a caller cannot release
    by forgetting to check; the caller audits the release and attaches NO_REDISCLOSURE_NOTICE.
    """
    if consent.person_id != person_id:
        raise ConsentNotActive("the consent is for another person")
    if not consent.permits(agency_id, at):
        raise ConsentNotActive(f"no active consent for agency {agency_id!r}")
    return {name: value for name, value in person_fields.items() if name in consent.shareable_fields}
