"""Case events of the multidisciplinary triage team (by id only: no person data)."""

from datetime import datetime
from typing import ClassVar
from uuid import UUID

from pydantic import Field

from pathways_contracts.base import Event
from pathways_contracts.vocab import Level


class CaseOpened(Event):
    event_type: ClassVar[str] = "case.opened"
    subject_field: ClassVar[str] = "case_id"
    description: ClassVar[str] = "A red flag opened a case for an establishment."

    case_id: UUID
    establishment_id: str
    jurisdiction: str
    red_flag_id: UUID
    level: Level
    categories: list[str] = Field(default_factory=list)
    opened_at: datetime


class CaseTriaged(Event):
    event_type: ClassVar[str] = "case.triaged"
    subject_field: ClassVar[str] = "case_id"
    description: ClassVar[str] = "The multidisciplinary team recorded a triage decision on a case."

    case_id: UUID
    establishment_id: str
    approaches: list[str]
    roles_present: list[str] = Field(default_factory=list)
    follow_up_on: datetime | None = None
    triaged_at: datetime


class CaseClosed(Event):
    event_type: ClassVar[str] = "case.closed"
    subject_field: ClassVar[str] = "case_id"
    description: ClassVar[str] = "A case was closed, with its outcome."

    case_id: UUID
    establishment_id: str
    outcome: str
    closed_at: datetime


class CaseContactRestricted(Event):
    event_type: ClassVar[str] = "case.contact_restricted"
    subject_field: ClassVar[str] = "case_id"
    description: ClassVar[str] = (
        "Whether anyone linked to a case must not be contacted changed: while restricted, nothing about the case "
        "is notified. Internal to Pathways; carries the case's ids and the flag only, no person data."
    )

    case_id: UUID
    establishment_id: str
    restricted: bool = Field(description="True while at least one person on the case has 'do not contact' set.")
    changed_at: datetime
