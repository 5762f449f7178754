"""Events about establishments and what inspectors observed there (shareable: no person data)."""

from datetime import date, datetime
from typing import ClassVar
from uuid import UUID

from pydantic import Field

from pathways_contracts.base import Event
from pathways_contracts.vocab import Category, Dimension, InspectionReason, InspectionResult, Level, Program


class InspectionCompleted(Event):
    event_type: ClassVar[str] = "inspection.completed"
    subject_field: ClassVar[str] = "establishment_id"
    description: ClassVar[str] = "An inspector recorded an inspection of an establishment."

    inspection_id: UUID
    establishment_id: str = Field(min_length=1, description="Registry id of the establishment.")
    jurisdiction: str = Field(min_length=1)
    area: str | None = Field(default=None, description="Ward or neighbourhood, for equity reporting.")
    department: str = Field(min_length=1, description="The department whose inspector recorded it.")
    program: Program
    reason: InspectionReason
    inspected_on: date
    result: InspectionResult
    indicator_codes: list[str] = Field(default_factory=list, description="Catalog codes observed.")
    checklist_version: str | None = None
    interpreter_language: str | None = Field(default=None, description="Language, when an interpreter was used.")


class RedFlagRaised(Event):
    event_type: ClassVar[str] = "redflag.raised"
    subject_field: ClassVar[str] = "establishment_id"
    description: ClassVar[str] = (
        "Screening found indicators of trafficking at an establishment, fused across departments."
    )

    red_flag_id: UUID
    establishment_id: str = Field(min_length=1)
    jurisdiction: str = Field(min_length=1)
    level: Level
    score: float
    categories: list[Category] = Field(description="Trafficking categories the indicators point to.")
    dimensions: list[Dimension] = Field(default_factory=list)
    indicator_codes: list[str]
    contributing_inspection_ids: list[UUID]
    departments: list[str]
    minor_indicated: bool = False
    rule_ids: list[str] = Field(default_factory=list, description="Hard rules that fired, if any.")
    rules_version: str
    raised_at: datetime


class RedFlagEscalated(RedFlagRaised):
    event_type: ClassVar[str] = "redflag.escalated"
    description: ClassVar[str] = "An open red flag's level went up (for example to urgent)."

    previous_level: Level


class InspectionScheduled(Event):
    event_type: ClassVar[str] = "inspection.scheduled"
    subject_field: ClassVar[str] = "establishment_id"
    description: ClassVar[str] = (
        "A follow-up inspection was scheduled: automatically (after a red flag or a failed sanitation item) "
        "or at a department's request."
    )

    scheduled_inspection_id: UUID
    establishment_id: str = Field(min_length=1)
    jurisdiction: str = Field(min_length=1)
    program: Program
    reason: str = Field(description="Why it was scheduled: red_flag, failed_sanitation or requested.")
    due_on: date
    source_inspection_id: UUID | None = Field(default=None, description="The inspection that led to it.")
    red_flag_id: UUID | None = None


class EstablishmentCertificationChanged(Event):
    event_type: ClassVar[str] = "establishment.certification_changed"
    subject_field: ClassVar[str] = "establishment_id"
    description: ClassVar[str] = (
        "A lodging establishment's Clean Hotels certification changed (signed or withdrawn, or newly verified): "
        "for example a travel-reimbursement consumer reimburses stays only at certified hotels."
    )

    establishment_id: str = Field(min_length=1)
    jurisdiction: str = Field(min_length=1)
    certification: str = Field(default="clean_hotels", description="Which certification changed.")
    certified: bool = Field(description="Whether the establishment is certified now.")
    previously_certified: bool | None = Field(default=None, description="None when it was never recorded.")
    verified_on: date | None = Field(default=None, description="When the signed agreement was last verified.")
    inspection_id: UUID | None = Field(default=None, description="The lodging inspection that recorded it.")
    changed_at: datetime


class InspectionSubmitted(Event):
    event_type: ClassVar[str] = "inspection.submitted"
    subject_field: ClassVar[str] = "establishment_id"
    description: ClassVar[str] = (
        "A departmental system submits an inspection as an event instead of over HTTP; the inspection service "
        "validates it as it validates HTTP (a bad one is parked on the dead-letter topic with the reason) and "
        "records it, which publishes inspection.completed. Codes and checklist answers only: never a person."
    )

    inspection_id: UUID = Field(description="Chosen by the department's system; a resubmission is ignored.")
    establishment_id: str = Field(min_length=1)
    department: str = Field(min_length=1, description="The department whose inspector recorded it.")
    source_system: str = Field(min_length=1, description="The departmental system that sent it.")
    program: Program
    reason: InspectionReason
    inspected_on: date
    result: InspectionResult
    indicator_codes: list[str] = Field(default_factory=list, max_length=100)
    checklist_version: str | None = None
    answers: dict[str, str | bool | int | None] = Field(default_factory=dict, description="Checklist answers.")
    interpreter_language: str | None = Field(default=None, max_length=40)
