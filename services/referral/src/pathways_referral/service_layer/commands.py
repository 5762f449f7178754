"""One command per use case of the referral service (imperative names; events are past tense).

What a caller may choose is in the command's body models (also the HTTP request bodies); who acts
(``decided_by``, ``agency_id``, ``officer_org``...) is filled in by the entrypoint from the token.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from enum import StrEnum
from typing import Annotated, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from pathways_contracts.events import RedFlagEscalated, RedFlagRaised
from pathways_referral.domain.directory import Organization
from pathways_referral.domain.lifecycle import Action
from pathways_referral.domain.text import Text
from pathways_referral.domain.vocab import Approach


class _Command(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


# --- cases --------------------------------------------------------------------------------------

class OpenOrJoinCase(_Command):
    """A red flag opens its establishment's case (or joins the open one) and refers it per policy."""

    red_flag: RedFlagRaised


class EscalateCase(_Command):
    """A red flag went up: the case's priority follows, and new facts may add referrals."""

    red_flag: RedFlagEscalated


class TeamRole(StrEnum):
    """Who sat at the multidisciplinary table (seed 002: case management teams)."""

    LAW_ENFORCEMENT = "law_enforcement"
    PROSECUTION = "prosecution"
    ADVOCATE = "advocate"
    SOCIAL_WORKER = "social_worker"
    CHILD_PROTECTION = "child_protection"
    PROBATION = "probation"
    SCHOOL = "school"
    HEALTH = "health"
    LABOR = "labor"
    HOUSING = "housing"


class TriageDecision(_Command):
    approaches: list[Approach] = Field(min_length=1)
    roles_present: list[TeamRole] = Field(default_factory=list)
    rationale: Text = Field(min_length=1, max_length=4000)
    follow_up_on: date | None = None
    imminent_danger: bool = Field(False, description="The team believes someone is in danger now (hard rule).")


class RecordTriage(_Command):
    case_id: uuid.UUID
    decision: TriageDecision
    decided_by: str


class Closing(_Command):
    outcome: Text = Field(min_length=1, max_length=200,
                          description="A short outcome of the case (travels on case.closed: no person data).")


class CloseCase(_Command):
    case_id: uuid.UUID
    outcome: str


# --- referrals ----------------------------------------------------------------------------------

class ActOnReferral(_Command):
    """An agency's (or the triage team's, or the sweeper's) action on a referral.

    ``agency_id`` None: the system or the triage team acts on any referral; otherwise only on the
    agency's own (any other is "not found", so ids do not leak).
    """

    referral_id: uuid.UUID
    action: Action
    agency_id: str | None = None
    reason: str | None = None
    outcome: str | None = None


class DiversionPerson(_Command):
    alias: Text | None = Field(None, max_length=200)
    phone: Text | None = Field(None, max_length=50)
    language: Text | None = Field(None, max_length=35)


class DiversionRequest(_Command):
    """No more than the programme needs to make contact; no charge, no offence, no notes."""

    jurisdiction: Text = Field(min_length=1, max_length=100)
    encountered_on: date
    language: Text | None = Field(None, max_length=35, description="Language to make contact in.")
    area: Text | None = Field(None, max_length=100, description="Ward or neighbourhood, to pick an office.")
    person: DiversionPerson | None = Field(None, description="Kept encrypted; released only under consent.")


class Divert(_Command):
    request: DiversionRequest
    officer_org: str
    officer: str


# --- people and consent -------------------------------------------------------------------------

class PersonDetails(_Command):
    name: Text | None = Field(None, max_length=200)
    alias: Text | None = Field(None, max_length=200)
    birth_date: date | None = None
    age_band: Literal["under_18", "18_24", "25_plus", "unknown"] | None = None
    phone: Text | None = Field(None, max_length=50)
    email: Text | None = Field(None, max_length=200)
    address: Text | None = Field(None, max_length=500)
    language: Text | None = Field(None, max_length=35)
    needs: list[Annotated[Text, Field(max_length=200)]] = Field(default_factory=list, max_length=50)
    immigration_status: Text | None = Field(None, max_length=100)
    notes: Text | None = Field(None, max_length=4000)
    do_not_contact: bool = Field(False, description="Safety flag: no notification about this person goes out.")


# A person linked to a case must be someone: at least one of these (an empty record helps nobody).
IDENTIFYING_FIELDS = ("name", "alias", "birth_date", "age_band", "phone", "email", "address", "language")


class AddPerson(_Command):
    case_id: uuid.UUID
    person: PersonDetails
    created_by: str


class SetDoNotContact(_Command):
    person_id: uuid.UUID
    do_not_contact: bool


class ConsentElements(_Command):
    """The §2.31 elements (see domain/consent.py); validated again by the domain model."""

    disclosing_party: Text = Field("Pathways referral service", max_length=200)
    recipient_agency_id: Text = Field(max_length=100)
    purpose: Text = Field(max_length=2000)
    shareable_fields: list[Text] = Field(max_length=20)
    expires_at: AwareDatetime | None = None
    expiry_event: Text | None = Field(None, max_length=100)
    signed_by: Text = Field(max_length=200)
    signer_role: Literal["person", "parent_or_guardian", "authorized_representative"] = "person"
    signed_at: AwareDatetime
    revocation_explained: bool


class AddConsent(_Command):
    person_id: uuid.UUID
    consent: ConsentElements
    recorded_by: str


class RevokeConsent(_Command):
    consent_id: uuid.UUID
    by_agency: str | None = Field(None, description="An agency may give up only its own consent; None: triage.")


class ReleasePerson(_Command):
    """An agency reads a person's details: released under its active consent only, always audited."""

    person_id: uuid.UUID
    agency_id: str
    subject: str


class ReadReleaseAudit(_Command):
    """A privacy officer reads the release audit; the read itself is audited."""

    person_id: uuid.UUID | None = None
    agency_id: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    after_id: int | None = None
    limit: int = Field(100, ge=1, le=500)
    subject: str
    org: str


# --- the agency directory -----------------------------------------------------------------------

class AddAgency(_Command):
    agency: Organization


class PutAgency(_Command):
    agency_id: str
    agency: Organization
