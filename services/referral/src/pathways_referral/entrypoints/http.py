"""HTTP API of the referral service."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, HTTPException

from pathways_referral.adapters import repository as repo
from pathways_referral.bootstrap import service
from pathways_runtime.auth import Role, require

router = APIRouter(tags=["cases"])


@router.get("/cases", summary="Cases, newest first (triage team and ops).")
async def list_cases(establishment_id: str | None = None, _=require(Role.TRIAGE, Role.OPS)) -> list[dict]:
    return await repo.list_cases(service.pool, establishment_id)


@router.get("/cases/{case_id}", summary="One case with its red flags and referrals.")
async def get_case(case_id: uuid.UUID, _=require(Role.TRIAGE, Role.OPS)) -> dict:
    case = await repo.get_case(service.pool, case_id)
    if case is None:
        raise HTTPException(404, f"no case {case_id}")
    return case
