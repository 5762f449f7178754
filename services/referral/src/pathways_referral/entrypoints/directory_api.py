"""The agency directory over HTTP (Open Referral HSDS shape where it fits), for ops and the triage team."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException

from pathways_referral.adapters import repository as repo
from pathways_referral.bootstrap import service
from pathways_referral.domain.directory import Organization
from pathways_referral.service_layer.directory import current_directory
from pathways_runtime.auth import Role, require

router = APIRouter(tags=["directory"])


@router.get("/agencies", summary="Every agency and department of the directory.")
async def list_agencies(_=require(Role.OPS, Role.TRIAGE)) -> list[Organization]:
    return (await current_directory(service.pool)).organizations


@router.get("/agencies/{agency_id}", summary="One agency.")
async def get_agency(agency_id: str, _=require(Role.OPS, Role.TRIAGE)) -> Organization:
    agency = (await current_directory(service.pool)).get(agency_id)
    if agency is None:
        raise HTTPException(404, f"no agency {agency_id}")
    return agency


@router.post("/agencies", status_code=201, summary="Add an agency.")
async def add_agency(agency: Organization, _=require(Role.OPS, Role.TRIAGE)) -> Organization:
    await current_directory(service.pool)  # seed first, so the sample file never overwrites this one
    if not await repo.insert_agency(service.pool, agency.id, agency.kind.value, agency.model_dump(mode="json")):
        raise HTTPException(409, f"agency {agency.id} exists: PUT /agencies/{agency.id} to change it")
    return agency


@router.put("/agencies/{agency_id}", summary="Replace an agency's entry (services, hours, capacity, ...).")
async def put_agency(agency_id: str, agency: Organization, _=require(Role.OPS, Role.TRIAGE)) -> Organization:
    if agency.id != agency_id:
        raise HTTPException(422, "the body's id must match the path")
    await current_directory(service.pool)
    await repo.upsert_agency(service.pool, agency.id, agency.kind.value, agency.model_dump(mode="json"))
    return agency
