"""One command per use case of the insights service. Events and HTTP requests are translated into these."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from pathways_contracts.vocab import InspectionReason, Program
from pathways_insights.domain.disclosure import K_MAXIMUM, K_MINIMUM
from pathways_insights.domain.statistics import Dimension, Measure


class Command(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


# --- the projection: what the bus said --------------------------------------------------------------


class ProjectInspection(Command):
    inspection_id: uuid.UUID
    establishment_id: str
    jurisdiction: str
    area: str | None
    department: str
    program: Program
    reason: InspectionReason
    inspected_on: date
    result: str
    indicator_codes: tuple[str, ...] = ()


class ProjectRedFlag(Command):
    red_flag_id: uuid.UUID
    establishment_id: str
    jurisdiction: str
    level: str
    categories: tuple[str, ...]
    raised_on: date


class ProjectCaseOpened(Command):
    case_id: uuid.UUID
    establishment_id: str
    jurisdiction: str
    categories: tuple[str, ...]
    opened_on: date


class ProjectCaseClosed(Command):
    case_id: uuid.UUID
    outcome: str
    closed_on: date


class ProjectReferralCreated(Command):
    referral_id: uuid.UUID
    case_id: uuid.UUID
    establishment_id: str
    agency_kind: str
    created_on: date


class ProjectReferralStep(Command):
    referral_id: uuid.UUID
    case_id: uuid.UUID
    step: Literal["accepted", "declined", "expired", "engaged", "closed"]
    on: date
    status: str | None = None  # the final FHIR status of a closed referral


# --- the use cases people call ------------------------------------------------------------------------


class RunSimulation(Command):
    """Replay [period_start, period_end] through the current rules and the proposed ones."""

    period_start: date
    period_end: date
    jurisdiction: str | None = Field(None, description="Only this jurisdiction's establishments (all if absent).")
    proposed_rules: dict[str, Any] | None = Field(
        None, description="A screening rules file, as in the inspection service's policy/screening.")
    proposed_routing: dict[str, Any] | None = Field(
        None, description="A routing policy file, as in the referral service's policy/routing.")


class Requester(Command):
    """Who asked for a release: from the caller's token, never from the request."""

    subject: str
    role: str
    org: str


class ReleaseStatistics(Command):
    """A release; absent dimensions and period take the published shape and the default period."""

    measure: Measure
    rows: tuple[Dimension, ...] | None = None
    column: Dimension | None = None
    period_start: date | None = None
    period_end: date | None = None
    k: int | None = Field(None, ge=K_MINIMUM, le=K_MAXIMUM, description="Publish no count under k (never under the configured k).")
    requested_by: Requester
