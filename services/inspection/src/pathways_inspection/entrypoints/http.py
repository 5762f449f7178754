"""HTTP API of the inspection service: the registry, the inspections departments record, screening reads.

Routes translate a request into a command (or a read) and call its handler;
who is calling comes from the token, never from the body. Errors are the
runtime's: ``InvalidCommand`` → 422 naming each field, ``NotFound`` → 404,
``Conflict`` → 409, ``Forbidden`` → 403, the database gone → 503.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, HTTPException, Path, Query
from pydantic import BaseModel, Field

from pathways_contracts.catalog import load_catalog
from pathways_contracts.text import Text
from pathways_contracts.vocab import Program
from pathways_inspection.domain.checklists import all_checklists, load_checklist
from pathways_inspection.domain.screening_view import ScreeningViewer
from pathways_inspection.service_layer import reporting
from pathways_inspection.service_layer.commands import Day, InspectionFields, RecordInspection, UpsertEstablishment
from pathways_inspection.service_layer.recording import record_batch, record_inspection
from pathways_inspection.service_layer.registry import upsert_establishment
from pathways_inspection.service_layer.unit_of_work import InspectionUnitOfWork
from pathways_runtime.auth import Principal, Role, require
from pathways_runtime.http import current_service, unit_of_work
from pathways_runtime.service import Service

router = APIRouter()

Uow = Annotated[InspectionUnitOfWork, Depends(unit_of_work)]
EstablishmentId = Annotated[Text, Path(min_length=1, max_length=64)]
Jurisdiction = Annotated[Text | None, Query(max_length=100)]
MAX_OFFSET = 1_000_000_000  # beyond any registry; a larger number is a mistake, not a page


class InspectionRecorded(BaseModel):
    inspection_id: uuid.UUID
    indicator_codes: list[str] = Field(description="Codes recorded: those sent, those the failed checklist items "
                                                   "imply, and entry refused.")
    red_flag: dict | None = Field(description="The red flag raised or escalated by this inspection, if any.")


class BatchIn(BaseModel):
    inspections: list[dict[str, Any]] = Field(
        min_length=1, max_length=1000,
        description="Each item as the body of POST /inspections, optionally with its own inspection_id (a UUID "
                    "the sender chooses: sent again, the item is not recorded twice). Items are validated one by one.")


ANY_ROLE = (Role.INSPECTOR, Role.TRIAGE, Role.DEPARTMENT, Role.OPS, Role.AGENCY)
READERS = (Role.INSPECTOR, Role.TRIAGE, Role.DEPARTMENT, Role.OPS)


@router.post("/establishments", status_code=201, tags=["registry"],
             summary="Add or update an establishment (idempotent on license number); 409 when the id or the "
                     "license number belongs to another establishment.")
async def put_establishment(body: UpsertEstablishment, uow: Uow, _=require(Role.INSPECTOR, Role.OPS)) -> dict:
    return await upsert_establishment(body, uow)


@router.get("/establishments", tags=["registry"],
            summary="Establishments, by jurisdiction; certified=true lists Clean Hotels signatories.")
async def list_establishments(uow: Uow, jurisdiction: Jurisdiction = None, certified: bool | None = None,
                              limit: int = Query(1000, ge=1, le=10000), offset: int = Query(0, ge=0, le=MAX_OFFSET),
                              _=require(*READERS)) -> list[dict]:
    return await reporting.list_establishments(uow, jurisdiction, certified, limit, offset)


@router.get("/establishments/{establishment_id}", tags=["registry"], summary="One establishment.")
async def get_establishment(establishment_id: EstablishmentId, uow: Uow, _=require(*READERS)) -> dict:
    return await reporting.establishment_with_follow_ups(uow, establishment_id)


def viewer_for(who: Principal, department_roles: Mapping[str, str]) -> ScreeningViewer:
    """What the caller's token may see of screening: the triage team everything, ops the ops view, a department
    or its inspectors the view of the role its organisation has; an organisation with no role, the ops view."""
    if who.role == Role.TRIAGE:
        return ScreeningViewer(None)
    if who.role == Role.OPS:
        return ScreeningViewer("ops")
    return ScreeningViewer(department_roles.get(who.org, "ops"))


def screening_viewer(who: Principal = require(*READERS),
                     service: Service = Depends(current_service)) -> ScreeningViewer:
    return viewer_for(who, service.settings.department_roles)


@router.get("/establishments/{establishment_id}/screening", tags=["screening"],
            summary="The score breakdown behind the establishment's current level, and its red flag if any, "
                    "redacted for the caller's role as notifications are.")
async def get_screening(establishment_id: EstablishmentId, uow: Uow, as_of: Day | None = None,
                        viewer: ScreeningViewer = Depends(screening_viewer)) -> dict:
    return await reporting.screening_of(uow, establishment_id, as_of or date.today(), viewer)


@router.post("/inspections", status_code=201, response_model=InspectionRecorded, tags=["inspections"],
             summary="Record an inspection; screening runs in the same transaction.")
async def post_inspection(body: InspectionFields, uow: Uow, who: Principal = require(Role.INSPECTOR)) -> dict:
    cmd = RecordInspection(**body.model_dump(), department=who.org, recorded_by=who.subject)
    return await record_inspection(cmd, uow)


@router.post("/inspections/batch", tags=["inspections"],
             summary="Record up to 1,000 inspections: one result per item (201 recorded, 200 already recorded, "
                     "422 with its fields named); good items are recorded even when others are bad.")
async def post_inspections(uow: Uow, body: BatchIn = Body(), who: Principal = require(Role.INSPECTOR),
                           service: Service = Depends(current_service)) -> dict:
    if len(body.inspections) > service.settings.batch_max_items:
        raise HTTPException(413, f"send at most {service.settings.batch_max_items} inspections per batch")
    results = await record_batch(body.inspections, {"department": who.org, "recorded_by": who.subject}, uow,
                                 chunk=service.settings.batch_chunk_items, lanes=service.settings.batch_lanes)
    recorded = sum(1 for r in results if r["status"] in (200, 201))
    return {"recorded": recorded, "rejected": len(results) - recorded, "results": results}


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
async def get_checklist(program: Program, version: Annotated[Text, Query(max_length=64)] = "v1",
                        _=require(*ANY_ROLE)) -> dict:
    try:
        return load_checklist(program, version).model_dump(mode="json")
    except LookupError as exc:
        raise HTTPException(404, str(exc)) from None
