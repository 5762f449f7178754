"""HTTP API of the referral service: cases and triage here; the other routers are included below."""

from __future__ import annotations

import uuid
from datetime import date
from enum import StrEnum

from fastapi import APIRouter, HTTPException
from pydantic import BaseModel, ConfigDict, Field

from pathways_referral.adapters import people as people_repo
from pathways_referral.adapters import repository as repo
from pathways_referral.bootstrap import service
from pathways_referral.domain.vocab import Approach
from pathways_referral.entrypoints import directory_api, people_api, referrals_api
from pathways_referral.entrypoints.common import transaction
from pathways_referral.service_layer import cases
from pathways_runtime.auth import Principal, Role, require

router = APIRouter(tags=["cases"])


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


class TriageDecision(BaseModel):
    model_config = ConfigDict(extra="forbid")

    approaches: list[Approach] = Field(min_length=1)
    roles_present: list[TeamRole] = Field(default_factory=list)
    rationale: str = Field(min_length=1, max_length=4000)
    follow_up_on: date | None = None
    imminent_danger: bool = Field(False, description="The team believes someone is in danger now (hard rule).")


class Closing(BaseModel):
    model_config = ConfigDict(extra="forbid")

    outcome: str = Field(min_length=1, max_length=200,
                         description="A short outcome of the case (travels on case.closed: no person data).")


@router.get("/cases", summary="Cases, newest first (triage team and ops).")
async def list_cases(establishment_id: str | None = None, _=require(Role.TRIAGE, Role.OPS)) -> list[dict]:
    return await repo.list_cases(service.pool, establishment_id)


@router.get("/cases/{case_id}", summary="One case with its red flags, timeline, triage decisions and referrals.")
async def get_case(case_id: uuid.UUID, _=require(Role.TRIAGE, Role.OPS)) -> dict:
    case = await repo.get_case(service.pool, case_id)
    if case is None:
        raise HTTPException(404, f"no case {case_id}")
    return case


@router.post("/cases/{case_id}/triage", summary="Record the team's decision; referrals follow the policy.")
async def triage(case_id: uuid.UUID, decision: TriageDecision, who: Principal = require(Role.TRIAGE)) -> dict:
    try:
        async with transaction() as (conn, emit):
            made = await cases.record_triage(conn, emit, case_id, decision.model_dump(mode="python"), who.subject)
    except cases.CaseNotFound:
        raise HTTPException(404, f"no case {case_id}") from None
    except cases.CaseClosedAlready as exc:
        raise HTTPException(409, str(exc)) from None
    return {"case_id": str(case_id), "new_referrals": made}


@router.post("/cases/{case_id}/close", summary="Close the case with its outcome.")
async def close(case_id: uuid.UUID, closing: Closing, _=require(Role.TRIAGE)) -> dict:
    try:
        async with transaction() as (conn, emit):
            closed_at = await cases.close_case(conn, emit, case_id, closing.outcome)
    except cases.CaseNotFound:
        raise HTTPException(404, f"no case {case_id}") from None
    except cases.CaseClosedAlready as exc:
        raise HTTPException(409, str(exc)) from None
    return {"case_id": str(case_id), "status": "closed", "closed_at": closed_at.isoformat()}


@router.get("/cases/{case_id}/do-not-contact",
            summary="Whether anyone on the case must not be contacted (for the notification service).")
async def do_not_contact(case_id: uuid.UUID, _=require(Role.OPS)) -> dict:
    if await repo.case_row(service.pool, case_id) is None:
        raise HTTPException(404, f"no case {case_id}")
    return {"case_id": str(case_id), "do_not_contact": await people_repo.do_not_contact(service.pool, case_id)}


router.include_router(referrals_api.router)
router.include_router(directory_api.router)
router.include_router(people_api.router)
