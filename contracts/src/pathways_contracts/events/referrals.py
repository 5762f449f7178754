"""Closed-loop referral events (FHIR Task lifecycle); ids and organisations only."""

from datetime import datetime
from typing import ClassVar
from uuid import UUID

from pydantic import Field

from pathways_contracts.base import Event
from pathways_contracts.vocab import Level, ReferralStatus


class _ReferralEvent(Event):
    subject_field: ClassVar[str] = "case_id"

    referral_id: UUID
    case_id: UUID
    agency_id: str = Field(description="The agency or department the referral is addressed to.")


class ReferralCreated(_ReferralEvent):
    event_type: ClassVar[str] = "referral.created"
    description: ClassVar[str] = "A case was referred to an agency or department, by a routing rule."

    establishment_id: str
    jurisdiction: str
    service: str = Field(description="What is asked of the agency (victim services, labor standards, ...).")
    level: Level
    rule_id: str = Field(description="The routing-policy rule that made this referral.")
    policy_version: str
    due_by: datetime = Field(description="Accept before this time, or the referral expires.")
    created_at: datetime


class ReferralAccepted(_ReferralEvent):
    event_type: ClassVar[str] = "referral.accepted"
    description: ClassVar[str] = "The agency accepted the referral."

    accepted_at: datetime


class ReferralDeclined(_ReferralEvent):
    event_type: ClassVar[str] = "referral.declined"
    description: ClassVar[str] = "The agency declined the referral, with a reason."

    reason: str = Field(min_length=1)
    declined_at: datetime


class ReferralExpired(_ReferralEvent):
    event_type: ClassVar[str] = "referral.expired"
    description: ClassVar[str] = "Nobody accepted the referral before its deadline."

    expired_at: datetime


class VictimServiceEngaged(_ReferralEvent):
    event_type: ClassVar[str] = "victim_service.engaged"
    description: ClassVar[str] = "The agency engaged a person with services (no person data)."

    engaged_at: datetime


class ReferralClosed(_ReferralEvent):
    event_type: ClassVar[str] = "referral.closed"
    description: ClassVar[str] = (
        "A referral ended as completed, cancelled or failed (a decline or an expiry has its own event). "
        "The agency's outcome notes stay in the referral service."
    )

    status: ReferralStatus = Field(description="The final FHIR Task status: completed, cancelled or failed.")
    closed_at: datetime


class ReferralUnplaced(Event):
    event_type: ClassVar[str] = "referral.unplaced"
    subject_field: ClassVar[str] = "case_id"
    description: ClassVar[str] = (
        "No agency is left to offer a referral to: the case coordinator must place it by hand."
    )

    case_id: UUID
    agency_kind: str = Field(description="The kind of agency nobody could be found for.")
    rule_id: str
    policy_version: str
    unplaced_at: datetime
