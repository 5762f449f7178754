"""People and consent over HTTP. Person details never leave except here: to an agency holding that
person's active consent, audited, with the no-redisclosure notice."""

from __future__ import annotations

import uuid

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict

from pathways_referral.entrypoints.http_deps import UnitOfWork
from pathways_referral.service_layer import people
from pathways_referral.service_layer.commands import (
    AddConsent,
    AddPerson,
    ConsentElements,
    PersonDetails,
    ReleasePerson,
    RevokeConsent,
    SetDoNotContact,
)
from pathways_runtime.auth import Principal, Role, require

router = APIRouter(tags=["people"])


@router.post("/cases/{case_id}/people", status_code=201, summary="Link a person to a case (kept encrypted).")
async def add_person(case_id: uuid.UUID, person: PersonDetails, uow: UnitOfWork,
                     who: Principal = require(Role.TRIAGE)) -> dict:
    person_id = await people.handle_add_person(AddPerson(case_id=case_id, person=person, created_by=who.subject), uow)
    return {"person_id": str(person_id)}


class DoNotContactIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    do_not_contact: bool


@router.put("/people/{person_id}/do-not-contact", summary="Set or clear a person's 'do not contact' safety flag.")
async def set_do_not_contact(person_id: uuid.UUID, flag: DoNotContactIn, uow: UnitOfWork,
                             _=require(Role.TRIAGE)) -> dict:
    await people.handle_set_do_not_contact(SetDoNotContact(person_id=person_id, do_not_contact=flag.do_not_contact),
                                           uow)
    return {"person_id": str(person_id), "do_not_contact": flag.do_not_contact}


@router.post("/people/{person_id}/consents", status_code=201, summary="Record a signed consent to release.")
async def add_consent(person_id: uuid.UUID, consent: ConsentElements, uow: UnitOfWork,
                      who: Principal = require(Role.TRIAGE)) -> dict:
    recorded = await people.handle_add_consent(AddConsent(person_id=person_id, consent=consent,
                                                          recorded_by=who.subject), uow)
    return {"consent_id": str(recorded.id)}


@router.post("/consents/{consent_id}/revoke", summary="Revoke a consent: nothing further is released.")
async def revoke(consent_id: uuid.UUID, uow: UnitOfWork, who: Principal = require(Role.TRIAGE, Role.AGENCY)) -> dict:
    by_agency = who.org if who.role is Role.AGENCY else None  # an agency may only give up its own consent
    revoked_at = await people.handle_revoke_consent(RevokeConsent(consent_id=consent_id, by_agency=by_agency), uow)
    return {"consent_id": str(consent_id), "revoked_at": revoked_at.isoformat()}


@router.get("/people/{person_id}", summary="A person's details, to an agency under its active consent (audited).")
async def read_person(person_id: uuid.UUID, uow: UnitOfWork, who: Principal = require(Role.AGENCY)) -> dict:
    return await people.handle_release_person(ReleasePerson(person_id=person_id, agency_id=who.org,
                                                            subject=who.subject), uow)
