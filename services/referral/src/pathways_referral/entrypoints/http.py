"""HTTP API of the referral service: cases and triage here; the other routers are included below.

Each route translates its request (and the caller's token) into a command and calls the command's
handler with a unit of work; the runtime maps the handler's errors to 422/404/409/403.
"""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query, Request, Response

from pathways_referral.domain.text import Text
from pathways_referral.entrypoints import audit_api, directory_api, people_api, referrals_api
from pathways_referral.entrypoints.http_deps import UnitOfWork
from pathways_referral.entrypoints.common import DEFAULT_PAGE, Cursor, Limit, decode_after, keyset_page
from pathways_referral.service_layer import cases
from pathways_referral.service_layer.commands import CloseCase, Closing, RecordTriage, TriageDecision
from pathways_runtime.auth import Principal, Role, require
from pathways_runtime.errors import NotFound

router = APIRouter(tags=["cases"])


@router.get("/cases", summary="Cases, newest first (triage team and ops); the next page in the Link header.")
async def list_cases(request: Request, response: Response, uow: UnitOfWork,
                     establishment_id: Annotated[Text | None, Query(max_length=200)] = None,
                     cursor: Cursor = None, limit: Limit = DEFAULT_PAGE,
                     _=require(Role.TRIAGE, Role.OPS)) -> list[dict]:
    after = decode_after(cursor)
    async with uow:
        rows = await uow.cases.page(establishment_id=establishment_id, after=after, limit=limit + 1)
    return keyset_page(request, response, rows, limit, "opened_at")


@router.get("/cases/{case_id}", summary="One case with its red flags, timeline, triage decisions and referrals.")
async def get_case(case_id: uuid.UUID, uow: UnitOfWork, _=require(Role.TRIAGE, Role.OPS)) -> dict:
    async with uow:
        case = await uow.cases.detail(case_id)
    if case is None:
        raise NotFound(f"no case {case_id}")
    return case


@router.post("/cases/{case_id}/triage", summary="Record the team's decision; referrals follow the policy.")
async def triage(case_id: uuid.UUID, decision: TriageDecision, uow: UnitOfWork,
                 who: Principal = require(Role.TRIAGE)) -> dict:
    made = await cases.handle_record_triage(RecordTriage(case_id=case_id, decision=decision,
                                                         decided_by=who.subject), uow)
    return {"case_id": str(case_id), "new_referrals": made}


@router.post("/cases/{case_id}/close", summary="Close the case with its outcome.")
async def close(case_id: uuid.UUID, closing: Closing, uow: UnitOfWork, _=require(Role.TRIAGE)) -> dict:
    closed_at = await cases.handle_close_case(CloseCase(case_id=case_id, outcome=closing.outcome), uow)
    return {"case_id": str(case_id), "status": "closed", "closed_at": closed_at.isoformat()}


@router.get("/cases/{case_id}/do-not-contact",
            summary="Whether anyone on the case must not be contacted (for the notification service).")
async def do_not_contact(case_id: uuid.UUID, uow: UnitOfWork, _=require(Role.OPS)) -> dict:
    async with uow:
        if await uow.cases.get(case_id) is None:
            raise NotFound(f"no case {case_id}")
        restricted = await uow.people.case_restricted(case_id)
    return {"case_id": str(case_id), "do_not_contact": restricted}


router.include_router(referrals_api.router)
router.include_router(directory_api.router)
router.include_router(people_api.router)
router.include_router(audit_api.router)
