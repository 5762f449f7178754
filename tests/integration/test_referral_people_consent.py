"""People and consent over the real broker and PostgreSQL: encrypted at rest, released only under
active consent for the reading agency, every read audited, revocation immediate, nothing on Kafka."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import asyncpg
import pytest
from aiokafka import AIOKafkaConsumer

from pathways_referral.domain.consent import NO_REDISCLOSURE_NOTICE
from pathways_runtime.auth import Role
from referral_scenarios import OPS, TRIAGE, case_of, events_of, publish, red_flag
from support import bearer, eventually, read_all

pytestmark = pytest.mark.integration
RIVERBEND = bearer(Role.AGENCY, "riverbend-survivor-advocacy")
BLUFF = bearer(Role.AGENCY, "bluff-country-community-advocates")
PERSON = {"name": "Maria Quetzal-Testperson", "birth_date": "2007-03-14", "phone": "+1 507 555 0142",
          "language": "es", "age_band": "18_24", "needs": ["housing"], "do_not_contact": True}


def consent_for(agency_id: str, fields: list[str]) -> dict:
    now = datetime.now(UTC)
    return {"recipient_agency_id": agency_id, "purpose": "safety planning and housing",
            "shareable_fields": fields, "expires_at": (now + timedelta(days=90)).isoformat(),
            "signed_by": "Maria Quetzal-Testperson", "signed_at": (now - timedelta(minutes=1)).isoformat(),
            "revocation_explained": True}


async def all_topic_values(kafka: str) -> bytes:
    consumer = AIOKafkaConsumer(bootstrap_servers=kafka)
    await consumer.start()
    try:
        topics = sorted(await consumer.topics())
    finally:
        await consumer.stop()
    values = b""
    for topic in topics:
        values += b"".join((r.value or b"") + repr(r.headers).encode() for r in await read_all(kafka, topic))
    return values


async def test_person_details_are_released_only_under_active_consent_and_every_read_is_audited(
        running, infrastructure):
    flag = red_flag(["labor"])
    await publish(running, flag)
    case = await case_of(running, flag.establishment_id)
    added = await running.referral.post(f"/cases/{case['id']}/people", headers=TRIAGE, json=PERSON)
    assert added.status_code == 201, added.text
    person_id = added.json()["person_id"]
    assert (await running.referral.post(f"/cases/{case['id']}/people", headers=RIVERBEND,
                                        json=PERSON)).status_code == 403

    assert (await running.referral.get(f"/people/{person_id}", headers=RIVERBEND)).status_code == 403
    incomplete = consent_for("riverbend-survivor-advocacy", ["name"]) | {"revocation_explained": False}
    assert (await running.referral.post(f"/people/{person_id}/consents", headers=TRIAGE,
                                        json=incomplete)).status_code == 422
    recorded = await running.referral.post(f"/people/{person_id}/consents", headers=TRIAGE,
                                           json=consent_for("riverbend-survivor-advocacy", ["name", "phone"]))
    assert recorded.status_code == 201, recorded.text
    consent_id = recorded.json()["consent_id"]

    released = await running.referral.get(f"/people/{person_id}", headers=RIVERBEND)
    assert released.status_code == 200, released.text
    assert released.json()["fields"] == {"name": PERSON["name"], "phone": PERSON["phone"]}, "only what was consented"
    assert released.json()["notice"] == NO_REDISCLOSURE_NOTICE
    assert (await running.referral.get(f"/people/{person_id}", headers=BLUFF)).status_code == 403, \
        "consent is for one agency"

    revoked = await running.referral.post(f"/consents/{consent_id}/revoke", headers=TRIAGE)
    assert revoked.status_code == 200
    assert (await running.referral.get(f"/people/{person_id}", headers=RIVERBEND)).status_code == 403
    event = await eventually(lambda: events_of(infrastructure.kafka, "consent.revoked", consent_id=consent_id))
    assert set(event[0]) == {"consent_id", "case_id", "agency_id", "revoked_at"}

    conn = await asyncpg.connect(infrastructure.database_url)
    try:
        audit = await conn.fetch("select agency_id, consent_id, released, fields from referral_people.release_audit"
                                 " where person_id = $1 order by id", uuid.UUID(person_id))
        assert [(a["agency_id"], a["released"]) for a in audit] == [
            ("riverbend-survivor-advocacy", False), ("riverbend-survivor-advocacy", True),
            ("bluff-country-community-advocates", False), ("riverbend-survivor-advocacy", False)]
        assert str(audit[1]["consent_id"]) == consent_id and audit[1]["fields"] == ["name", "phone"]
        with pytest.raises(asyncpg.RaiseError, match="append-only"):
            await conn.execute("update referral_people.release_audit set released = true")
        with pytest.raises(asyncpg.RaiseError, match="append-only"):
            await conn.execute("delete from referral_people.release_audit")
        stored = await conn.fetchval("select sealed::text from referral_people.persons where id = $1",
                                     uuid.UUID(person_id))
        assert PERSON["name"] not in stored and PERSON["phone"] not in stored, "encrypted at rest"
    finally:
        await conn.close()

    flagged = await running.referral.get(f"/cases/{case['id']}/do-not-contact", headers=OPS)
    assert flagged.json() == {"case_id": case["id"], "do_not_contact": True}
    assert (await running.referral.get(f"/cases/{case['id']}/do-not-contact", headers=RIVERBEND)).status_code == 403

    on_the_bus = await all_topic_values(infrastructure.kafka)
    assert flag.establishment_id.encode() in on_the_bus and consent_id.encode() in on_the_bus, "topics were read"
    for secret in (PERSON["name"], PERSON["birth_date"], PERSON["phone"], "Quetzal"):
        assert secret.encode() not in on_the_bus, f"{secret!r} reached a Kafka topic"
