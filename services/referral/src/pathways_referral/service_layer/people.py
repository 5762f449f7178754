"""People linked to a case, their consents, consent-gated and audited release to an agency, and the
privacy officer's (itself audited) read of that audit."""

from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import ValidationError

from pathways_contracts.events import CaseContactRestricted, ConsentRevoked
from pathways_referral.domain.consent import NO_REDISCLOSURE_NOTICE, Consent, ConsentNotActive, release
from pathways_referral.service_layer.commands import (
    IDENTIFYING_FIELDS,
    AddConsent,
    AddPerson,
    ReadReleaseAudit,
    ReleasePerson,
    RevokeConsent,
    SetDoNotContact,
)
from pathways_referral.service_layer.unit_of_work import ReferralUnitOfWork
from pathways_runtime.errors import Forbidden, InvalidCommand, NotFound, Problem


async def handle_add_person(cmd: AddPerson, uow: ReferralUnitOfWork) -> uuid.UUID:
    fields = cmd.person.model_dump(mode="json")
    if all(fields[name] in (None, "") for name in IDENTIFYING_FIELDS):
        message = f"a person needs at least one of: {', '.join(IDENTIFYING_FIELDS)}"
        raise InvalidCommand(Problem(("body", name), message, "missing") for name in IDENTIFYING_FIELDS)
    async with uow:
        case = await uow.cases.get(cmd.case_id, lock=True)  # serialises people changes of one case: see below
        if case is None:
            raise NotFound(f"no case {cmd.case_id}")
        was_restricted = await uow.people.case_restricted(cmd.case_id)
        person_id = await uow.people.add(cmd.case_id, fields, cmd.created_by)
        # The timeline is read by the whole triage team: it says that a person was linked, nothing about them.
        await uow.cases.add_timeline(cmd.case_id, "person linked", {"person_id": str(person_id)})
        await _announce_if_restriction_changed(uow, case, was_restricted)
        await uow.commit()
    return person_id


async def handle_set_do_not_contact(cmd: SetDoNotContact, uow: ReferralUnitOfWork) -> None:
    async with uow:
        case_id = await uow.people.case_of(cmd.person_id)
        if case_id is None:
            raise NotFound(f"no person {cmd.person_id}")
        case = await uow.cases.get(case_id, lock=True)
        was_restricted = await uow.people.case_restricted(case_id)
        await uow.people.set_do_not_contact(cmd.person_id, cmd.do_not_contact)
        await uow.cases.add_timeline(case_id, "do-not-contact changed",
                                     {"person_id": str(cmd.person_id), "do_not_contact": cmd.do_not_contact})
        await _announce_if_restriction_changed(uow, case, was_restricted)
        await uow.commit()


async def _announce_if_restriction_changed(uow: ReferralUnitOfWork, case: dict, was_restricted: bool) -> None:
    """Tell the notification service when the case's "anyone not to be contacted" value flips.

    The case row is locked by the caller, so two people added at once cannot both miss the change.
    Only the case-level flag travels, never which person or why.
    """
    restricted = await uow.people.case_restricted(case["id"])
    if restricted != was_restricted:
        await uow.emit(CaseContactRestricted(case_id=case["id"], establishment_id=case["establishment_id"],
                                             restricted=restricted, changed_at=uow.now()))


async def handle_add_consent(cmd: AddConsent, uow: ReferralUnitOfWork) -> Consent:
    try:
        consent = Consent.model_validate(cmd.consent.model_dump() | {"id": uuid.uuid4(), "person_id": cmd.person_id})
    except ValidationError as exc:
        raise InvalidCommand(Problem(("body", *e["loc"]), e["msg"], e["type"]) for e in exc.errors()) from None
    async with uow:
        if await uow.people.case_of(cmd.person_id) is None:
            raise NotFound(f"no person {cmd.person_id}")
        await uow.consents.add(consent, cmd.recorded_by)
        await uow.commit()
    return consent


async def handle_revoke_consent(cmd: RevokeConsent, uow: ReferralUnitOfWork) -> datetime:
    """Revoke at once; revoking again is harmless and announces nothing new."""
    async with uow:
        row = await uow.consents.get_for_update(cmd.consent_id)
        if row is None or (cmd.by_agency is not None and row["recipient_agency_id"] != cmd.by_agency):
            raise NotFound(f"no consent {cmd.consent_id}")
        if row["revoked_at"] is not None:
            return row["revoked_at"]
        now = uow.now()
        await uow.consents.revoke(cmd.consent_id, now)
        await uow.cases.add_timeline(row["case_id"], "consent revoked", {"consent_id": str(cmd.consent_id)})
        await uow.emit(ConsentRevoked(consent_id=cmd.consent_id, case_id=row["case_id"],
                                      agency_id=row["recipient_agency_id"], revoked_at=now))
        await uow.commit()
    return now


async def handle_release_person(cmd: ReleasePerson, uow: ReferralUnitOfWork) -> dict:
    """The fields the agency's active consent covers, with the notice; every attempt leaves an audit row.

    The audit row is committed even when nothing is released, so refused reads are on the record too.
    """
    async with uow:
        fields = await uow.people.fields(cmd.person_id)
        if fields is None:
            raise NotFound(f"no person {cmd.person_id}")
        now = uow.now()
        consent = next((c for c in await uow.consents.for_person(cmd.person_id, cmd.agency_id)
                        if c.permits(cmd.agency_id, now)), None)
        released = _release(fields, consent, cmd.person_id, cmd.agency_id, now)
        await uow.audit.record_release(agency_id=cmd.agency_id, subject=cmd.subject, person_id=cmd.person_id,
                                       consent_id=consent.id if consent else None, released=released is not None,
                                       fields=list(released or ()))
        await uow.commit()
    if released is None:
        raise Forbidden(f"no active consent for agency {cmd.agency_id!r} to receive this person's details")
    return {"person_id": str(cmd.person_id), "consent_id": str(consent.id), "purpose": consent.purpose,
            "fields": released, "notice": NO_REDISCLOSURE_NOTICE}


def _release(fields: dict, consent: Consent | None, person_id: uuid.UUID, agency_id: str, now: datetime
             ) -> dict | None:
    if consent is None:
        return None
    try:
        return release(fields, consent, person_id=person_id, agency_id=agency_id, at=now)
    except ConsentNotActive:
        return None


async def handle_read_release_audit(cmd: ReadReleaseAudit, uow: ReferralUnitOfWork) -> tuple[list[dict], int | None]:
    """One page of the release audit and the cursor of the next (None on the last); the read is logged."""
    if cmd.since and cmd.until and cmd.until <= cmd.since:
        raise InvalidCommand([Problem(("query", "until"), "must be after since")])
    async with uow:
        rows = await uow.audit.releases(person_id=cmd.person_id, agency_id=cmd.agency_id, since=cmd.since,
                                        until=cmd.until, after_id=cmd.after_id, limit=cmd.limit + 1)
        page, more = rows[:cmd.limit], len(rows) > cmd.limit
        filters = cmd.model_dump(mode="json", include={"person_id", "agency_id", "since", "until", "after_id"})
        await uow.audit.record_read(subject=cmd.subject, org=cmd.org, filters=filters, rows=len(page))
        await uow.commit()
    return page, (page[-1]["id"] if more else None)
