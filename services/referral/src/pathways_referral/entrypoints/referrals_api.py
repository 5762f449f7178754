"""Referrals over HTTP: each agency's own referrals and its actions on them, the department status
feed, closed-loop figures, and police diversion."""

from __future__ import annotations

import json
import uuid
from typing import Annotated

from fastapi import APIRouter, Body, Query, Request, Response
from pydantic import BaseModel, Field

from pathways_referral.domain.lifecycle import Action
from pathways_referral.domain.text import Text
from pathways_referral.entrypoints.common import DEFAULT_PAGE, Cursor, Limit, decode_after, keyset_page
from pathways_referral.entrypoints.http_deps import UnitOfWork
from pathways_referral.service_layer import closed_loop, diversion
from pathways_referral.service_layer.commands import ActOnReferral, Divert, DiversionRequest
from pathways_runtime.auth import Principal, Role, require
from pathways_runtime.errors import NotFound

router = APIRouter(tags=["referrals"])
_HIDDEN_FROM_AGENCY = {"referred_by_org"}  # which police officer diverted someone is not the programme's business


class Reason(BaseModel):
    reason: Text | None = Field(None, max_length=2000, description="Required to reject or fail.")


class Outcome(BaseModel):
    outcome: Text | None = Field(None, max_length=2000, description="Required to complete.")


def _view(row: dict) -> dict:
    view = {k: v for k, v in row.items() if k not in _HIDDEN_FROM_AGENCY}
    return view | {"intake": json.loads(view["intake"])}


def _scope(who: Principal) -> str | None:
    """An agency sees only referrals addressed to it; the triage team and ops see all."""
    return who.org if who.role is Role.AGENCY else None


@router.get("/referrals", summary="Referrals, newest first: an agency's own, or all for triage and ops; "
                                  "the next page in the Link header.")
async def list_referrals(request: Request, response: Response, uow: UnitOfWork, case_id: uuid.UUID | None = None,
                         cursor: Cursor = None, limit: Limit = DEFAULT_PAGE,
                         who: Principal = require(Role.AGENCY, Role.TRIAGE, Role.OPS)) -> list[dict]:
    after = decode_after(cursor)
    async with uow:
        rows = await uow.referrals.page(agency_id=_scope(who), case_id=case_id, after=after, limit=limit + 1)
    return [_view(r) for r in keyset_page(request, response, rows, limit, "created_at")]


@router.get("/referrals/{referral_id}", summary="One referral (an agency: only its own).")
async def get_referral(referral_id: uuid.UUID, uow: UnitOfWork,
                       who: Principal = require(Role.AGENCY, Role.TRIAGE, Role.OPS)) -> dict:
    async with uow:
        row = await uow.referrals.get(referral_id)
    if row is None or (_scope(who) is not None and row["agency_id"] != who.org):
        raise NotFound(f"no referral {referral_id}")
    return _view(row)


async def _act(uow: UnitOfWork, referral_id: uuid.UUID, action: Action, agency_id: str | None,
               reason: str | None = None, outcome: str | None = None) -> dict:
    new = await closed_loop.handle_act_on_referral(ActOnReferral(
        referral_id=referral_id, action=action, agency_id=agency_id, reason=reason, outcome=outcome), uow)
    return {"referral_id": str(referral_id), "status": new.status.value}


@router.post("/referrals/{referral_id}/accept", summary="The agency accepts (before the deadline).")
async def accept(referral_id: uuid.UUID, uow: UnitOfWork, who: Principal = require(Role.AGENCY)) -> dict:
    return await _act(uow, referral_id, Action.ACCEPT, who.org)


@router.post("/referrals/{referral_id}/reject", summary="The agency declines, with a reason; it is offered on.")
async def reject(referral_id: uuid.UUID, uow: UnitOfWork, body: Reason | None = Body(None),
                 who: Principal = require(Role.AGENCY)) -> dict:
    return await _act(uow, referral_id, Action.REJECT, who.org, reason=body.reason if body else None)


@router.post("/referrals/{referral_id}/engage", summary="The agency engaged the person with services.")
async def engage(referral_id: uuid.UUID, uow: UnitOfWork, who: Principal = require(Role.AGENCY)) -> dict:
    return await _act(uow, referral_id, Action.ENGAGE, who.org)


@router.post("/referrals/{referral_id}/complete", summary="The agency completed the referral, with an outcome.")
async def complete(referral_id: uuid.UUID, uow: UnitOfWork, body: Outcome | None = Body(None),
                   who: Principal = require(Role.AGENCY)) -> dict:
    return await _act(uow, referral_id, Action.COMPLETE, who.org, outcome=body.outcome if body else None)


@router.post("/referrals/{referral_id}/cancel", summary="Cancel (the agency, or the triage team for any).")
async def cancel(referral_id: uuid.UUID, uow: UnitOfWork, body: Reason | None = Body(None),
                 who: Principal = require(Role.AGENCY, Role.TRIAGE)) -> dict:
    return await _act(uow, referral_id, Action.CANCEL, _scope(who), reason=body.reason if body else None)


@router.post("/referrals/{referral_id}/fail", summary="The agency could not carry it out, with a reason.")
async def fail(referral_id: uuid.UUID, uow: UnitOfWork, body: Reason | None = Body(None),
               who: Principal = require(Role.AGENCY)) -> dict:
    return await _act(uow, referral_id, Action.FAIL, who.org, reason=body.reason if body else None)


@router.get("/status/red-flags", tags=["status"],
            summary="For a department: its red flags, newest first, and whether each was referred, accepted, "
                    "help engaged; the next page in the Link header.")
async def red_flag_status(request: Request, response: Response, uow: UnitOfWork,
                          establishment_id: Annotated[Text | None, Query(max_length=200)] = None,
                          cursor: Cursor = None, limit: Limit = DEFAULT_PAGE,
                          who: Principal = require(Role.DEPARTMENT)) -> list[dict]:
    after = decode_after(cursor)
    async with uow:
        rows = await uow.referrals.status_feed(who.org, establishment_id, after=after, limit=limit + 1)
    return keyset_page(request, response, rows, limit, "received_at", "red_flag_id")


@router.get("/reports/closed-loop", tags=["status"],
            summary="Per agency: offered, acceptance rate, median time to accept and to engagement.")
async def closed_loop_report(uow: UnitOfWork, _=require(Role.OPS, Role.TRIAGE)) -> dict:
    return await closed_loop.agency_figures(uow)


@router.post("/diversions", status_code=201, tags=["diversion"],
             summary="A police department refers a person to pre-court diversion instead of charging them.")
async def divert(request: DiversionRequest, uow: UnitOfWork, who: Principal = require(Role.DEPARTMENT)) -> dict:
    case_id, referral_id = await diversion.handle_divert(
        Divert(request=request, officer_org=who.org, officer=who.subject), uow)
    return {"case_id": str(case_id), "referral_id": str(referral_id)}


@router.get("/diversions", tags=["diversion"],
            summary="The police department's diversions: accepted? engaged? The next page in the Link header.")
async def my_diversions(request: Request, response: Response, uow: UnitOfWork, cursor: Cursor = None,
                        limit: Limit = DEFAULT_PAGE, who: Principal = require(Role.DEPARTMENT)) -> list[dict]:
    after = decode_after(cursor)
    async with uow:
        rows = await uow.referrals.page(referred_by_org=who.org, after=after, limit=limit + 1)
    return [diversion.police_view(r) for r in keyset_page(request, response, rows, limit, "created_at")]


@router.get("/diversions/{referral_id}", tags=["diversion"], summary="One diversion: accepted? engaged? Nothing else.")
async def one_diversion(referral_id: uuid.UUID, uow: UnitOfWork, who: Principal = require(Role.DEPARTMENT)) -> dict:
    async with uow:
        row = await uow.referrals.get(referral_id)
    if row is None or row["referred_by_org"] != who.org:
        raise NotFound(f"no diversion {referral_id}")
    return diversion.police_view(row)
