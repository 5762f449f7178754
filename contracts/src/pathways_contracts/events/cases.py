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
