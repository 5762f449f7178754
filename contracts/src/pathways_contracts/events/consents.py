"""Consent events: that a release consent changed, never whose it is or what it covers."""

from datetime import datetime
from typing import ClassVar
from uuid import UUID

from pydantic import Field

from pathways_contracts.base import Event


class ConsentRevoked(Event):
    event_type: ClassVar[str] = "consent.revoked"
    subject_field: ClassVar[str] = "consent_id"
    description: ClassVar[str] = (
        "A consent to release a person's details to an agency was revoked: that agency gets nothing further. "
        "Carries ids only, no person data."
    )

    consent_id: UUID
    case_id: UUID | None = Field(None, description="The case the consented person is linked to, if any.")
    agency_id: str = Field(description="The agency the consent had named as recipient.")
    revoked_at: datetime
