"""People and consent over HTTP. Person details never leave except here: to an agency holding that
person's active consent, audited, with the no-redisclosure notice."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Literal

from fastapi import APIRouter, HTTPException
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, ValidationError

from pathways_referral.bootstrap import service
from pathways_referral.entrypoints.common import transaction
from pathways_referral.service_layer import people
from pathways_runtime.auth import Principal, Role, require
from fastapi.exceptions import RequestValidationError

router = APIRouter(tags=["people"])


class PersonIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(None, max_length=200)
    alias: str | None = Field(None, max_length=200)
    birth_date: date | None = None
    age_band: Literal["under_18", "18_24", "25_plus", "unknown"] | None = None
    phone: str | None = Field(None, max_length=50)
    email: str | None = Field(None, max_length=200)
    address: str | None = Field(None, max_length=500)
    language: str | None = Field(None, max_length=35)
    needs: list[str] = Field(default_factory=list)
    immigration_status: str | None = Field(None, max_length=100)
    notes: str | None = Field(None, max_length=4000)
    do_not_contact: bool = Field(False, description="Safety flag: no notification about this person goes out.")


class ConsentIn(BaseModel):
    """The §2.31 elements (see domain/consent.py); validated again by the domain model."""

    model_config = ConfigDict(extra="forbid")

    disclosing_party: str = "Pathways referral service"
    recipient_agency_id: str
    purpose: str
    shareable_fields: list[str]
    expires_at: AwareDatetime | None = None
    expiry_event: str | None = None
    signed_by: str
    signer_role: Literal["person", "parent_or_guardian", "authorized_representative"] = "person"
    signed_at: AwareDatetime
    revocation_explained: bool


@router.post("/cases/{case_id}/people", status_code=201, summary="Link a person to a case (kept encrypted).")
async def add_person(case_id: uuid.UUID, person: PersonIn, who: Principal = require(Role.TRIAGE)) -> dict:
    try:
        async with transaction() as (conn, emit):
            person_id = await people.add_person(conn, emit, case_id, person.model_dump(mode="json"), who.subject)
    except people.NotFound as exc:
        raise HTTPException(404, str(exc)) from None
    return {"person_id": str(person_id)}


class DoNotContactIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    do_not_contact: bool


@router.put("/people/{person_id}/do-not-contact", summary="Set or clear a person's 'do not contact' safety flag.")
async def set_do_not_contact(person_id: uuid.UUID, flag: DoNotContactIn, _=require(Role.TRIAGE)) -> dict:
    try:
        async with transaction() as (conn, emit):
            await people.set_do_not_contact(conn, emit, person_id, flag.do_not_contact)
    except people.NotFound as exc:
        raise HTTPException(404, str(exc)) from None
    return {"person_id": str(person_id), "do_not_contact": flag.do_not_contact}


@router.post("/people/{person_id}/consents", status_code=201, summary="Record a signed consent to release.")
async def add_consent(person_id: uuid.UUID, consent: ConsentIn, who: Principal = require(Role.TRIAGE)) -> dict:
    try:
        async with transaction() as (conn, _):
            recorded = await people.record_consent(conn, person_id, consent.model_dump(), who.subject)
    except people.NotFound as exc:
        raise HTTPException(404, str(exc)) from None
    except ValidationError as exc:
        raise RequestValidationError(exc.errors(include_url=False, include_context=False)) from None
    return {"consent_id": str(recorded.id)}


@router.post("/consents/{consent_id}/revoke", summary="Revoke a consent: nothing further is released.")
async def revoke(consent_id: uuid.UUID, who: Principal = require(Role.TRIAGE, Role.AGENCY)) -> dict:
    by_agency = who.org if who.role is Role.AGENCY else None  # an agency may only give up its own consent
    try:
        async with transaction() as (conn, emit):
            revoked_at = await people.revoke_consent(conn, emit, consent_id, by_agency)
    except people.NotFound as exc:
        raise HTTPException(404, str(exc)) from None
    return {"consent_id": str(consent_id), "revoked_at": revoked_at.isoformat()}


@router.get("/people/{person_id}", summary="A person's details, to an agency under its active consent (audited).")
async def read_person(person_id: uuid.UUID, who: Principal = require(Role.AGENCY)) -> dict:
    try:
        return await people.release_to_agency(service.pool, person_id, who.org, who.subject)
    except people.NotFound as exc:
        raise HTTPException(404, str(exc)) from None
    except people.NotPermitted as exc:
        raise HTTPException(403, str(exc)) from None
