"""The agency directory over HTTP (Open Referral HSDS 3.0 shape where it fits), for ops and the triage team."""

from __future__ import annotations

from fastapi import APIRouter

from pathways_referral.domain.directory import Organization
from pathways_referral.entrypoints.http_deps import UnitOfWork
from pathways_referral.service_layer import directory
from pathways_referral.service_layer.commands import AddAgency, PutAgency
from pathways_runtime.auth import Role, require
from pathways_runtime.errors import NotFound

router = APIRouter(tags=["directory"])


@router.get("/agencies", summary="Every agency and department of the directory.")
async def list_agencies(uow: UnitOfWork, _=require(Role.OPS, Role.TRIAGE)) -> list[Organization]:
    return await directory.list_agencies(uow)


@router.get("/agencies/{agency_id}", summary="One agency.")
async def get_agency(agency_id: str, uow: UnitOfWork, _=require(Role.OPS, Role.TRIAGE)) -> Organization:
    agency = next((a for a in await directory.list_agencies(uow) if a.id == agency_id), None)
    if agency is None:
        raise NotFound(f"no agency {agency_id}")
    return agency


@router.post("/agencies", status_code=201, summary="Add an agency (`website`; `url` accepted as its old name).")
async def add_agency(agency: Organization, uow: UnitOfWork, _=require(Role.OPS, Role.TRIAGE)) -> Organization:
    return await directory.handle_add_agency(AddAgency(agency=agency), uow)


@router.put("/agencies/{agency_id}", summary="Replace an agency's entry (services, hours, capacity, ...).")
async def put_agency(agency_id: str, agency: Organization, uow: UnitOfWork,
                     _=require(Role.OPS, Role.TRIAGE)) -> Organization:
    return await directory.handle_put_agency(PutAgency(agency_id=agency_id, agency=agency), uow)
