"""SQL for people, consents and the release audit, in the ``referral_people`` schema.

Sensitive fields are sealed one by one with the FieldCipher, bound to (column, person id), and kept
as base64 in a jsonb map; only age band, language and the do-not-contact flag stay in clear, because
the service must act on them without decrypting (routing language, notification suppression).
"""

from __future__ import annotations

import base64
import json
import uuid
from datetime import datetime

import asyncpg

from pathways_referral.adapters.crypto import FieldCipher
from pathways_referral.domain.consent import Consent

SCHEMA = "referral_people"
SEALED_FIELDS = ("name", "alias", "birth_date", "phone", "email", "address", "needs", "immigration_status", "notes")
CLEAR_FIELDS = ("age_band", "language", "do_not_contact")


class PersonRepository:
    def __init__(self, conn: asyncpg.Connection, cipher: FieldCipher) -> None:
        self.conn = conn
        self._cipher = cipher

    def _seal(self, person_id: uuid.UUID, fields: dict) -> dict[str, str]:
        return {name: base64.b64encode(self._cipher.encrypt(json.dumps(fields[name], default=str),
                                                            column=f"persons.{name}", row_id=person_id)).decode()
                for name in SEALED_FIELDS if fields.get(name) not in (None, "", [])}

    def _unseal(self, person_id: uuid.UUID, sealed: dict[str, str]) -> dict:
        return {name: json.loads(self._cipher.decrypt(base64.b64decode(value), column=f"persons.{name}",
                                                      row_id=person_id))
                for name, value in sealed.items()}

    async def add(self, case_id: uuid.UUID, fields: dict, created_by: str) -> uuid.UUID:
        person_id = uuid.uuid4()
        await self.conn.execute(
            f"insert into {SCHEMA}.persons (id, case_id, sealed, age_band, language, do_not_contact, created_by)"
            " values ($1, $2, $3, $4, $5, $6, $7)",
            person_id, case_id, json.dumps(self._seal(person_id, fields)), fields.get("age_band"),
            fields.get("language"), bool(fields.get("do_not_contact")), created_by)
        return person_id

    async def fields(self, person_id: uuid.UUID) -> dict | None:
        """Every field of the person, decrypted: only for ``consent.release`` to filter, never to return whole."""
        row = await self.conn.fetchrow(f"select * from {SCHEMA}.persons where id = $1", person_id)
        if row is None:
            return None
        return self._unseal(person_id, json.loads(row["sealed"])) | {name: row[name] for name in CLEAR_FIELDS}

    async def case_of(self, person_id: uuid.UUID) -> uuid.UUID | None:
        return await self.conn.fetchval(f"select case_id from {SCHEMA}.persons where id = $1", person_id)

    async def case_language(self, case_id: uuid.UUID) -> str | None:
        """The language of the first person linked to the case who stated one (kept in clear for routing)."""
        return await self.conn.fetchval(
            f"select language from {SCHEMA}.persons where case_id = $1 and language is not null"
            " order by created_at limit 1", case_id)

    async def case_restricted(self, case_id: uuid.UUID) -> bool:
        """Whether anyone on the case must not be contacted."""
        return await self.conn.fetchval(
            f"select exists (select 1 from {SCHEMA}.persons where case_id = $1 and do_not_contact)", case_id)

    async def set_do_not_contact(self, person_id: uuid.UUID, value: bool) -> None:
        await self.conn.execute(f"update {SCHEMA}.persons set do_not_contact = $2 where id = $1", person_id, value)


class ConsentRepository:
    def __init__(self, conn: asyncpg.Connection, cipher: FieldCipher) -> None:
        self.conn = conn
        self._cipher = cipher

    async def add(self, consent: Consent, recorded_by: str) -> None:
        signer = self._cipher.encrypt(consent.signed_by, column="consents.signed_by", row_id=consent.id)
        await self.conn.execute(
            f"insert into {SCHEMA}.consents (id, person_id, disclosing_party, recipient_agency_id, purpose,"
            " shareable_fields, expires_at, expiry_event, signed_by_sealed, signer_role, signed_at, recorded_by)"
            " values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
            consent.id, consent.person_id, consent.disclosing_party, consent.recipient_agency_id, consent.purpose,
            sorted(consent.shareable_fields), consent.expires_at, consent.expiry_event, signer, consent.signer_role,
            consent.signed_at, recorded_by)

    def _consent(self, row: asyncpg.Record) -> Consent:
        return Consent(id=row["id"], person_id=row["person_id"], disclosing_party=row["disclosing_party"],
                       recipient_agency_id=row["recipient_agency_id"], purpose=row["purpose"],
                       shareable_fields=frozenset(row["shareable_fields"]), expires_at=row["expires_at"],
                       expiry_event=row["expiry_event"], expiry_event_at=row["expiry_event_at"],
                       signed_by=self._cipher.decrypt(row["signed_by_sealed"], column="consents.signed_by",
                                                      row_id=row["id"]),
                       signer_role=row["signer_role"], signed_at=row["signed_at"], revocation_explained=True,
                       revoked_at=row["revoked_at"])

    async def for_person(self, person_id: uuid.UUID, agency_id: str) -> list[Consent]:
        """The consents of a person to one agency, newest signature first."""
        rows = await self.conn.fetch(f"select * from {SCHEMA}.consents where person_id = $1"
                                     " and recipient_agency_id = $2 order by signed_at desc", person_id, agency_id)
        return [self._consent(r) for r in rows]

    async def get_for_update(self, consent_id: uuid.UUID) -> dict | None:
        """(id, recipient_agency_id, revoked_at, case_id) of a consent, locked."""
        row = await self.conn.fetchrow(
            f"select c.id, c.recipient_agency_id, c.revoked_at, p.case_id from {SCHEMA}.consents c"
            f" join {SCHEMA}.persons p on p.id = c.person_id where c.id = $1 for update of c", consent_id)
        return None if row is None else dict(row)

    async def revoke(self, consent_id: uuid.UUID, at: datetime) -> None:
        await self.conn.execute(f"update {SCHEMA}.consents set revoked_at = $2 where id = $1 and revoked_at is null",
                                consent_id, at)

    async def expiry_event_happened(self, case_id: uuid.UUID, event: str, at: datetime) -> None:
        await self.conn.execute(
            f"update {SCHEMA}.consents set expiry_event_at = $3 where expiry_event = $2 and expiry_event_at is null"
            f" and person_id in (select id from {SCHEMA}.persons where case_id = $1)", case_id, event, at)


class AuditRepository:
    """The release audit (every read of a person's details) and the log of who read that audit."""

    def __init__(self, conn: asyncpg.Connection) -> None:
        self.conn = conn

    async def record_release(self, *, agency_id: str, subject: str, person_id: uuid.UUID,
                             consent_id: uuid.UUID | None, released: bool, fields: list[str]) -> None:
        await self.conn.execute(
            f"insert into {SCHEMA}.release_audit (agency_id, subject, person_id, consent_id, released, fields)"
            " values ($1, $2, $3, $4, $5, $6)", agency_id, subject, person_id, consent_id, released, sorted(fields))

    async def releases(self, *, person_id: uuid.UUID | None, agency_id: str | None, since: datetime | None,
                       until: datetime | None, after_id: int | None, limit: int) -> list[dict]:
        """Audit rows matching every given filter, oldest first, ``limit`` after the row ``after_id``."""
        rows = await self.conn.fetch(
            f"select id, at, agency_id, subject, person_id, consent_id, released, fields from {SCHEMA}.release_audit"
            " where ($1::uuid is null or person_id = $1) and ($2::text is null or agency_id = $2)"
            " and ($3::timestamptz is null or at >= $3) and ($4::timestamptz is null or at < $4)"
            " and ($5::bigint is null or id > $5) order by id limit $6",
            person_id, agency_id, since, until, after_id, limit)
        return [dict(r) for r in rows]

    async def record_read(self, *, subject: str, org: str, filters: dict, rows: int) -> None:
        await self.conn.execute(
            f"insert into {SCHEMA}.audit_reads (subject, org, filters, rows) values ($1, $2, $3, $4)",
            subject, org, json.dumps(filters, default=str), rows)
