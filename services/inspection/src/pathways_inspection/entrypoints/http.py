"""HTTP API of the inspection service: the registry and the inspections departments record."""

from __future__ import annotations

import uuid
from datetime import date

from fastapi import APIRouter, HTTPException, Query
from pydantic import BaseModel, ConfigDict, Field

from pathways_contracts.catalog import load_catalog
from pathways_contracts.vocab import InspectionReason, InspectionResult, Program
from pathways_inspection.adapters import repository as repo
from pathways_inspection.bootstrap import service
from pathways_inspection.domain.checklists import all_checklists, load_checklist
from pathways_inspection.service_layer.recording import assess, record_inspection
from pathways_inspection.service_layer.validation import check_inspection
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
    indicator_codes: list[str] = Field(description="Codes recorded: those sent, those the failed checklist items "
                                                   "imply, and entry refused.")
    red_flag: dict | None = Field(description="The red flag raised or escalated by this inspection, if any.")


ANY_ROLE = (Role.INSPECTOR, Role.TRIAGE, Role.DEPARTMENT, Role.OPS, Role.AGENCY)
READERS = (Role.INSPECTOR, Role.TRIAGE, Role.DEPARTMENT, Role.OPS)


@router.post("/establishments", status_code=201, tags=["registry"],
             summary="Add or update an establishment (idempotent on license number).")
async def put_establishment(body: EstablishmentIn, _=require(Role.INSPECTOR, Role.OPS)) -> dict:
    created = await repo.upsert_establishment(service.pool, body.model_dump())
    return {"id": body.id, "created": created}


@router.get("/establishments", tags=["registry"],
            summary="Establishments, by jurisdiction; certified=true lists Clean Hotels signatories.")
async def list_establishments(jurisdiction: str | None = None, certified: bool | None = None,
                              limit: int = Query(1000, ge=1, le=10000), offset: int = Query(0, ge=0),
                              _=require(*READERS)) -> list[dict]:
    return await repo.list_establishments(service.pool, jurisdiction, certified, limit, offset)


@router.get("/establishments/{establishment_id}", tags=["registry"], summary="One establishment.")
async def get_establishment(establishment_id: str, _=require(*READERS)) -> dict:
    found = await repo.get_establishment(service.pool, establishment_id)
    if found is None:
        raise HTTPException(404, f"no establishment {establishment_id!r}")
    return found | {"follow_ups": await repo.follow_ups_of(service.pool, establishment_id)}


@router.get("/establishments/{establishment_id}/screening", tags=["screening"],
            summary="The score breakdown behind the establishment's current level, and its red flag if any.")
async def get_screening(establishment_id: str, as_of: date | None = None, _=require(*READERS)) -> dict:
    async with service.pool.acquire() as conn:
        establishment = await repo.get_establishment(conn, establishment_id)
        if establishment is None:
            raise HTTPException(404, f"no establishment {establishment_id!r}")
        assessment = await assess(conn, establishment, as_of or date.today())
        red_flag = await repo.latest_red_flag(conn, establishment_id)
    return {"establishment_id": establishment_id, "assessment": assessment.model_dump(mode="json"),
            "red_flag": red_flag}


@router.post("/inspections", status_code=201, response_model=InspectionRecorded, tags=["inspections"],
             summary="Record an inspection; screening runs in the same transaction.")
async def post_inspection(body: InspectionIn, who: Principal = require(Role.INSPECTOR)) -> dict:
    checked = check_inspection(body.program, body.result, body.indicator_codes, body.answers,
                               body.checklist_version)
    if checked.problems:
        raise HTTPException(422, [p.as_detail() for p in checked.problems])
    async with service.uow() as uow:
        establishment = await repo.get_establishment(uow.conn, body.establishment_id)
        if establishment is None:
            raise HTTPException(422, [{"loc": ["body", "establishment_id"], "type": "unknown_establishment",
                                       "msg": f"no establishment {body.establishment_id!r} in the registry"}])
        inspection = body.model_dump() | {"id": uuid.uuid4(), "department": who.org, "recorded_by": who.subject,
                                          "indicator_codes": checked.indicator_codes,
                                          "checklist_version": checked.checklist_version}
        recorded = await record_inspection(uow, inspection, establishment, checked.sanitation_failed)
        await uow.commit()
    return recorded


@router.get("/catalog/indicators", tags=["catalog"], summary="The shared indicator catalog.")
async def get_catalog(program: Program | None = None, _=require(*ANY_ROLE)) -> dict:
    catalog = load_catalog()
    indicators = catalog.for_program(program) if program else catalog.indicators
    return {"version": catalog.version, "description": catalog.description,
            "indicators": [i.model_dump(mode="json") for i in indicators]}


@router.get("/programs", tags=["catalog"], summary="The inspection programs and their checklist versions.")
async def get_programs(_=require(*ANY_ROLE)) -> list[dict]:
    return [{"program": c.program, "checklist_version": c.version, "title": c.title, "items": len(c.items)}
            for c in all_checklists()]


@router.get("/programs/{program}/checklist", tags=["catalog"], summary="A program's checklist (data, versioned).")
async def get_checklist(program: Program, version: str = "v1", _=require(*ANY_ROLE)) -> dict:
    try:
        return load_checklist(program, version).model_dump(mode="json")
    except LookupError as exc:
        raise HTTPException(404, str(exc)) from None
