"""POST /follow-ups: a department asks for a follow-up inspection (the health consumer after a red flag)."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Header, Response
from pydantic import BaseModel, ConfigDict, Field

from pathways_contracts.text import Text
from pathways_contracts.vocab import Program
from pathways_inspection.service_layer.commands import Day, RequestFollowUp
from pathways_inspection.service_layer.follow_ups import request_follow_up
from pathways_inspection.service_layer.unit_of_work import InspectionUnitOfWork
from pathways_runtime.auth import Role, require
from pathways_runtime.http import unit_of_work

router = APIRouter(tags=["inspections"])


class FollowUpIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    establishment_id: Text = Field(min_length=1, max_length=64)
    reason: Literal["follow_up"] = Field("follow_up", description="A follow-up visit: the only kind asked for.")
    due_on: Day
    red_flag_id: uuid.UUID | None = Field(None, description="The red flag that prompted it, if any.")
    requested_by: Text = Field(min_length=1, max_length=100, description="The department asking.")
    program: Program | None = Field(None, description="Default: the program of the establishment's license type.")


class FollowUpOut(BaseModel):
    scheduled_inspection_id: uuid.UUID
    establishment_id: str
    program: Program
    reason: str = Field(description="requested, or red_flag / failed_sanitation when an automatic one covers it.")
    due_on: date
    status: str
    created: bool = Field(description="False: it was already scheduled (same Idempotency-Key, or a pending visit).")


@router.post("/follow-ups", status_code=201, response_model=FollowUpOut,
             summary="Ask for a follow-up inspection: 201 scheduled, 200 already scheduled (idempotent).")
async def post_follow_up(body: FollowUpIn, response: Response,
                         uow: Annotated[InspectionUnitOfWork, Depends(unit_of_work)],
                         idempotency_key: Annotated[Text | None, Header(max_length=200)] = None,
                         _=require(Role.INSPECTOR, Role.DEPARTMENT, Role.OPS)) -> dict:
    cmd = RequestFollowUp(**body.model_dump(), idempotency_key=idempotency_key)
    follow_up, created = await request_follow_up(cmd, uow)
    if not created:
        response.status_code = 200
    return {"scheduled_inspection_id": follow_up["id"], "created": created} | follow_up
