"""Referrals over HTTP: each agency's own referrals and its actions on them, the department status
feed, closed-loop figures, and police diversion."""

from __future__ import annotations

import json
import uuid
from datetime import date

from fastapi import APIRouter, Body, HTTPException
from pydantic import BaseModel, ConfigDict, Field

from pathways_referral.adapters import repository as repo
from pathways_referral.bootstrap import service
from pathways_referral.domain.lifecycle import Action, InvalidTransition, OutcomeRequired, ReasonRequired
from pathways_referral.entrypoints.common import transaction, unprocessable
from pathways_referral.service_layer import closed_loop, diversion
from pathways_runtime.auth import Principal, Role, require

router = APIRouter(tags=["referrals"])
_HIDDEN_FROM_AGENCY = {"referred_by_org"}  # which police officer diverted someone is not the programme's business


class Reason(BaseModel):
    reason: str | None = Field(None, max_length=2000, description="Required to reject or fail.")


class Outcome(BaseModel):
    outcome: str | None = Field(None, max_length=2000, description="Required to complete.")


class DiversionPerson(BaseModel):
    model_config = ConfigDict(extra="forbid")

    alias: str | None = Field(None, max_length=200)
    phone: str | None = Field(None, max_length=50)
    language: str | None = Field(None, max_length=35)


class DiversionRequest(BaseModel):
    """No more than the programme needs to make contact; no charge, no offence, no notes."""

    model_config = ConfigDict(extra="forbid")

    jurisdiction: str = Field(min_length=1)
    encountered_on: date
    language: str | None = Field(None, max_length=35, description="Language to make contact in.")
    area: str | None = Field(None, max_length=100, description="Ward or neighbourhood, to pick an office.")
    person: DiversionPerson | None = Field(None, description="Kept encrypted; released only under consent.")


def _view(row) -> dict:
    view = {k: v for k, v in dict(row).items() if k not in _HIDDEN_FROM_AGENCY}
    return view | {"intake": json.loads(view["intake"])}


def _scope(who: Principal) -> str | None:
    """An agency sees only referrals addressed to it; the triage team and ops see all."""
    return who.org if who.role is Role.AGENCY else None


@router.get("/referrals", summary="Referrals: an agency's own, or all for triage and ops.")
async def list_referrals(case_id: uuid.UUID | None = None,
                         who: Principal = require(Role.AGENCY, Role.TRIAGE, Role.OPS)) -> list[dict]:
    return [_view(r) for r in await repo.list_referrals(service.pool, agency_id=_scope(who), case_id=case_id)]


@router.get("/referrals/{referral_id}", summary="One referral (an agency: only its own).")
async def get_referral(referral_id: uuid.UUID, who: Principal = require(Role.AGENCY, Role.TRIAGE, Role.OPS)) -> dict:
    row = await repo.referral(service.pool, referral_id)
    if row is None or (_scope(who) is not None and row["agency_id"] != who.org):
        raise HTTPException(404, f"no referral {referral_id}")
    return _view(row)


async def _act(referral_id: uuid.UUID, action: Action, agency_id: str | None, reason: str | None = None,
               outcome: str | None = None) -> dict:
    try:
        async with transaction() as (conn, emit):
            new = await closed_loop.act(conn, emit, referral_id, action, agency_id=agency_id, reason=reason,
                                        outcome=outcome)
    except closed_loop.ReferralNotFound:
        raise HTTPException(404, f"no referral {referral_id}") from None
    except ReasonRequired as exc:
        raise unprocessable("reason", str(exc)) from None
    except OutcomeRequired as exc:
        raise unprocessable("outcome", str(exc)) from None
    except InvalidTransition as exc:
        raise HTTPException(409, str(exc)) from None
    return {"referral_id": str(referral_id), "status": new.status.value}


@router.post("/referrals/{referral_id}/accept", summary="The agency accepts (before the deadline).")
async def accept(referral_id: uuid.UUID, who: Principal = require(Role.AGENCY)) -> dict:
    return await _act(referral_id, Action.ACCEPT, who.org)


@router.post("/referrals/{referral_id}/reject", summary="The agency declines, with a reason; it is offered on.")
async def reject(referral_id: uuid.UUID, body: Reason | None = Body(None),
                 who: Principal = require(Role.AGENCY)) -> dict:
    return await _act(referral_id, Action.REJECT, who.org, reason=body.reason if body else None)


@router.post("/referrals/{referral_id}/engage", summary="The agency engaged the person with services.")
async def engage(referral_id: uuid.UUID, who: Principal = require(Role.AGENCY)) -> dict:
    return await _act(referral_id, Action.ENGAGE, who.org)


@router.post("/referrals/{referral_id}/complete", summary="The agency completed the referral, with an outcome.")
async def complete(referral_id: uuid.UUID, body: Outcome | None = Body(None),
                   who: Principal = require(Role.AGENCY)) -> dict:
    return await _act(referral_id, Action.COMPLETE, who.org, outcome=body.outcome if body else None)


@router.post("/referrals/{referral_id}/cancel", summary="Cancel (the agency, or the triage team for any).")
async def cancel(referral_id: uuid.UUID, body: Reason | None = Body(None),
                 who: Principal = require(Role.AGENCY, Role.TRIAGE)) -> dict:
    return await _act(referral_id, Action.CANCEL, _scope(who), reason=body.reason if body else None)


@router.post("/referrals/{referral_id}/fail", summary="The agency could not carry it out, with a reason.")
async def fail(referral_id: uuid.UUID, body: Reason | None = Body(None), who: Principal = require(Role.AGENCY)) -> dict:
    return await _act(referral_id, Action.FAIL, who.org, reason=body.reason if body else None)


@router.get("/status/red-flags", tags=["status"],
            summary="For a department: its red flags, and whether each was referred, accepted, help engaged.")
async def red_flag_status(establishment_id: str | None = None, who: Principal = require(Role.DEPARTMENT)
                          ) -> list[dict]:
    rows = await repo.status_feed(service.pool, who.org, establishment_id)
    return [dict(r) for r in rows]


@router.get("/reports/closed-loop", tags=["status"],
            summary="Per agency: offered, acceptance rate, median time to accept and to engagement.")
async def closed_loop_report(_=require(Role.OPS, Role.TRIAGE)) -> dict:
    return await closed_loop.agency_figures(service.pool)


@router.post("/diversions", status_code=201, tags=["diversion"],
             summary="A police department refers a person to pre-court diversion instead of charging them.")
async def divert(request: DiversionRequest, who: Principal = require(Role.DEPARTMENT)) -> dict:
    intake = request.model_dump(mode="json", exclude={"person"})
    person = request.person.model_dump(exclude_none=True) if request.person else None
    try:
        async with transaction() as (conn, emit):
            case_id, referral_id = await diversion.divert(conn, emit, who.org, who.subject, intake, person)
    except diversion.NotPolice:
        raise HTTPException(403, "only a police department may refer to diversion") from None
    except diversion.NoProgramme as exc:
        raise HTTPException(422, str(exc)) from None
    return {"case_id": str(case_id), "referral_id": str(referral_id)}


@router.get("/diversions", tags=["diversion"], summary="The police department's diversions: accepted? engaged?")
async def my_diversions(who: Principal = require(Role.DEPARTMENT)) -> list[dict]:
    rows = await repo.list_referrals(service.pool, referred_by_org=who.org)
    return [diversion.police_view(r) for r in rows]


@router.get("/diversions/{referral_id}", tags=["diversion"], summary="One diversion: accepted? engaged? Nothing else.")
async def one_diversion(referral_id: uuid.UUID, who: Principal = require(Role.DEPARTMENT)) -> dict:
    row = await repo.referral(service.pool, referral_id)
    if row is None or row["referred_by_org"] != who.org:
        raise HTTPException(404, f"no diversion {referral_id}")
    return diversion.police_view(row)
