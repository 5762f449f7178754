"""HTTP API of the inspection service: the registry and the inspections departments record."""

from __future__ import annotations

import uuid
from datetime import date

from fastapi import APIRouter, HTTPException
from pydantic import BaseModel, ConfigDict, Field

from pathways_contracts.vocab import InspectionReason, InspectionResult, Program
from pathways_inspection.adapters import repository as repo
from pathways_inspection.bootstrap import service
from pathways_inspection.service_layer.recording import record_inspection
from pathways_runtime.auth import Principal, Role, require

router = APIRouter()
CODE_PATTERN = r"^[A-Z][A-Z0-9-]{2,40}$"


class EstablishmentIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: str = Field(min_length=1, max_length=64, description="Registry id, stable across departments.")
    license_number: str = Field(min_length=1, max_length=64)
    name: str = Field(min_length=1, max_length=200)
    license_type: str = Field(min_length=1)
    license_status: str = Field(min_length=1, examples=["active"])
    license_expiry: date | None = None
    address: str | None = None
    area: str | None = Field(default=None, description="Ward or neighbourhood, for equity reporting.")
    jurisdiction: str = Field(min_length=1)


class InspectionIn(BaseModel):
    """What a department's system sends: codes and checklist answers, never names of people."""

    model_config = ConfigDict(extra="forbid")

    establishment_id: str = Field(min_length=1)
    program: Program
    reason: InspectionReason
    inspected_on: date
    result: InspectionResult
    indicator_codes: list[str] = Field(default_factory=list, max_length=100,
                                       description="Indicator catalog codes observed.")
    checklist_version: str | None = None
    answers: dict[str, str | bool | int | None] = Field(default_factory=dict, description="Checklist item answers.")
    interpreter_language: str | None = Field(default=None, max_length=40,
                                             description="The language, when an interpreter was used.")

    def codes(self) -> list[str]:
        return sorted(set(self.indicator_codes))


class InspectionRecorded(BaseModel):
    inspection_id: uuid.UUID
    red_flag: dict | None = Field(description="The red flag raised or escalated by this inspection, if any.")


@router.post("/establishments", status_code=201, tags=["registry"],
             summary="Add or update an establishment (idempotent on license number).")
async def put_establishment(body: EstablishmentIn, _=require(Role.INSPECTOR, Role.OPS)) -> dict:
    created = await repo.upsert_establishment(service.pool, body.model_dump())
    return {"id": body.id, "created": created}


@router.get("/establishments/{establishment_id}", tags=["registry"], summary="One establishment.")
async def get_establishment(establishment_id: str, _=require(Role.INSPECTOR, Role.TRIAGE, Role.DEPARTMENT,
                                                             Role.OPS)) -> dict:
    found = await repo.get_establishment(service.pool, establishment_id)
    if found is None:
        raise HTTPException(404, f"no establishment {establishment_id!r}")
    return found


@router.post("/inspections", status_code=201, response_model=InspectionRecorded, tags=["inspections"],
             summary="Record an inspection; screening runs in the same transaction.")
async def post_inspection(body: InspectionIn, who: Principal = require(Role.INSPECTOR)) -> dict:
    async with service.pool.acquire() as conn, conn.transaction():
        establishment = await repo.get_establishment(conn, body.establishment_id)
        if establishment is None:
            raise HTTPException(422, [{"loc": ["body", "establishment_id"], "type": "unknown_establishment",
                                       "msg": f"no establishment {body.establishment_id!r} in the registry"}])
        inspection = body.model_dump() | {"id": uuid.uuid4(), "department": who.org, "recorded_by": who.subject,
                                          "indicator_codes": body.codes()}
        return await record_inspection(service, conn, inspection, establishment)
