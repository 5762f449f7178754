"""People linked to a case, their consents, and consent-gated, audited release to an agency."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import asyncpg

from pathways_contracts.events import CaseContactRestricted, ConsentRevoked
from pathways_referral.adapters import people as people_repo
from pathways_referral.adapters import repository as repo
from pathways_referral.domain.consent import NO_REDISCLOSURE_NOTICE, Consent, ConsentNotActive, release
from pathways_referral.service_layer.placement import Emit


class NotFound(LookupError):
    pass


class NotPermitted(PermissionError):
    pass


async def add_person(conn: asyncpg.Connection, emit: Emit, case_id: uuid.UUID, fields: dict, created_by: str
                     ) -> uuid.UUID:
    case = await repo.case_row(conn, case_id, lock=True)  # serialises people changes of one case: see below
    if case is None:
        raise NotFound(f"no case {case_id}")
    was_restricted = await people_repo.do_not_contact(conn, case_id)
    person_id = await people_repo.insert_person(conn, case_id, fields, created_by)
    # The timeline is read by the whole triage team: it says that a person was linked, nothing about them.
    await repo.add_timeline(conn, case_id, "person linked", {"person_id": str(person_id)})
    await announce_if_restriction_changed(conn, emit, case, was_restricted)
    return person_id


async def set_do_not_contact(conn: asyncpg.Connection, emit: Emit, person_id: uuid.UUID, value: bool) -> None:
    case_id = await people_repo.person_case(conn, person_id)
    if case_id is None:
        raise NotFound(f"no person {person_id}")
    case = await repo.case_row(conn, case_id, lock=True)
    was_restricted = await people_repo.do_not_contact(conn, case_id)
    await people_repo.set_do_not_contact(conn, person_id, value)
    await repo.add_timeline(conn, case_id, "do-not-contact changed",
                            {"person_id": str(person_id), "do_not_contact": value})
    await announce_if_restriction_changed(conn, emit, case, was_restricted)


async def announce_if_restriction_changed(conn: asyncpg.Connection, emit: Emit, case: asyncpg.Record,
                                          was_restricted: bool) -> None:
    """Tell the notification service when the case's "anyone not to be contacted" value flips.

    The case row is locked by the caller, so two people added at once cannot both miss the change.
    Only the case-level flag travels, never which person or why.
    """
    restricted = await people_repo.do_not_contact(conn, case["id"])
    if restricted != was_restricted:
        await emit(CaseContactRestricted(case_id=case["id"], establishment_id=case["establishment_id"],
                                         restricted=restricted, changed_at=datetime.now(UTC)))


async def record_consent(conn: asyncpg.Connection, person_id: uuid.UUID, elements: dict, recorded_by: str) -> Consent:
    if await people_repo.person_case(conn, person_id) is None:
        raise NotFound(f"no person {person_id}")
    consent = Consent.model_validate(elements | {"id": uuid.uuid4(), "person_id": person_id})
    await people_repo.insert_consent(conn, consent, recorded_by)
    return consent


async def release_to_agency(pool: asyncpg.Pool, person_id: uuid.UUID, agency_id: str, subject: str) -> dict:
    """The fields the agency's active consent covers, with the notice; every attempt leaves an audit row.

    The audit row is committed even when nothing is released, so refused reads are on the record too.
    """
    async with pool.acquire() as conn, conn.transaction():
        fields = await people_repo.person_fields(conn, person_id)
        if fields is None:
            raise NotFound(f"no person {person_id}")
        now = datetime.now(UTC)
        consent = next((c for c in await people_repo.consents_for(conn, person_id, agency_id)
                        if c.permits(agency_id, now)), None)
        released = _release(fields, consent, person_id, agency_id, now)
        await people_repo.audit(conn, agency_id=agency_id, subject=subject, person_id=person_id,
                                consent_id=consent.id if consent else None, released=released is not None,
                                fields=list(released or ()))
    if released is None:
        raise NotPermitted(f"no active consent for agency {agency_id!r} to receive this person's details")
    return {"person_id": str(person_id), "consent_id": str(consent.id), "purpose": consent.purpose,
            "fields": released, "notice": NO_REDISCLOSURE_NOTICE}


def _release(fields: dict, consent: Consent | None, person_id: uuid.UUID, agency_id: str, now: datetime
             ) -> dict | None:
    if consent is None:
        return None
    try:
        return release(fields, consent, person_id=person_id, agency_id=agency_id, at=now)
    except ConsentNotActive:
        return None


async def revoke_consent(conn: asyncpg.Connection, emit: Emit, consent_id: uuid.UUID, by_agency: str | None
                         ) -> datetime:
    """Revoke at once; revoking again is harmless and announces nothing new."""
    row = await people_repo.consent_row(conn, consent_id)
    if row is None or (by_agency is not None and row["recipient_agency_id"] != by_agency):
        raise NotFound(f"no consent {consent_id}")
    if row["revoked_at"] is not None:
        return row["revoked_at"]
    now = datetime.now(UTC)
    await people_repo.revoke(conn, consent_id, now)
    await repo.add_timeline(conn, row["case_id"], "consent revoked", {"consent_id": str(consent_id)})
    await emit(ConsentRevoked(consent_id=consent_id, case_id=row["case_id"], agency_id=row["recipient_agency_id"],
                              revoked_at=now))
    return now
