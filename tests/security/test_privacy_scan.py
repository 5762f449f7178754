"""A privacy scan: known person data goes in through the one door meant for it, and is then looked for
everywhere else — every topic and dead-letter topic, every exported span, every log line of every
service, and every webhook a department receives. None of it may be found outside the referral
service's encrypted store."""

from __future__ import annotations

import asyncio
import json
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from aiokafka import AIOKafkaConsumer

from pathways_runtime.auth import Role
from processes import System
from support import WebhookReceiver, bearer, eventually, read_all

pytestmark = pytest.mark.security
HEALTH, LABOR = bearer(Role.INSPECTOR, "health-department"), bearer(Role.INSPECTOR, "labor-standards")
TRIAGE, OPS = bearer(Role.TRIAGE, "mdt"), bearer(Role.OPS, "ops")
# Distinctive values: any of them found outside the person store is a leak.
PERSON = {"name": "Zoraida Quillfeather-Scan", "birth_date": "2006-02-29".replace("29", "28"),
          "phone": "+1 612 555 0199", "address": "77 Wrenfield Court, Apt 9Q",
          "immigration_status": "T-visa applicant via Ocotlan consulate", "notes": "fears employer Xandrovic"}
NEEDLES = [v for k, v in PERSON.items()] + ["Quillfeather", "555 0199", "Wrenfield", "Xandrovic", "Ocotlan"]


async def _case_for(http: httpx.AsyncClient, system: System, establishment: str) -> dict:
    async def found():
        response = await http.get(f"{system.url('referral')}/cases", params={"establishment_id": establishment},
                                  headers=TRIAGE)
        body = response.json()
        items = body["items"] if isinstance(body, dict) else body
        return items[0] if response.status_code == 200 and items else None

    return await eventually(found, timeout=60)


async def test_person_data_entered_is_found_nowhere_but_the_person_store(system: System, broker, receiver):
    est = f"scan-{uuid.uuid4().hex[:8]}"
    async with httpx.AsyncClient(timeout=15) as http:
        for event_types in (["case.opened", "case.contact_restricted", "referral.created", "consent.revoked"],):
            assert (await http.post(f"{system.url('notification')}/subscriptions", headers=OPS, json={
                "department": "victim-services", "role": "victim_services", "event_types": event_types,
                "url": receiver.url + "/scan"})).status_code == 201
        assert (await http.post(f"{system.url('inspection')}/establishments", headers=HEALTH, json={
            "id": est, "license_number": f"LIC-{est}", "name": "Scan Nail Bar", "license_type": "food",
            "license_status": "active", "area": "Ward 5", "jurisdiction": "metro-county"})).status_code == 201
        for token, program, code in ((HEALTH, "food_establishment", "VUL-LIVING-ON-SITE"),
                                     (LABOR, "labor_standards_site_visit", "LAB-WAGE-THEFT")):
            assert (await http.post(f"{system.url('inspection')}/inspections", headers=token, json={
                "establishment_id": est, "program": program, "reason": "routine", "inspected_on": "2026-11-03",
                "result": "conditional", "indicator_codes": [code]})).status_code == 201
        case = await _case_for(http, system, est)

        # The one door for person data, used as a triage team would: the person, a safety flag, a consent
        # to an agency, a read by it, a revocation; and a few mistakes whose error messages must not echo it.
        added = await http.post(f"{system.url('referral')}/cases/{case['id']}/people", headers=TRIAGE,
                                json=PERSON | {"do_not_contact": True})
        assert added.status_code == 201, added.text
        person_id = added.json()["person_id"]
        now = datetime.now(UTC)
        consent = await http.post(f"{system.url('referral')}/people/{person_id}/consents", headers=TRIAGE, json={
            "recipient_agency_id": "riverbend-survivor-advocacy", "purpose": "safety planning",
            "shareable_fields": ["name", "phone"], "expires_at": (now + timedelta(days=30)).isoformat(),
            "signed_by": PERSON["name"], "signed_at": (now - timedelta(minutes=1)).isoformat(),
            "revocation_explained": True})
        assert consent.status_code == 201, consent.text
        read = await http.get(f"{system.url('referral')}/people/{person_id}",
                              headers=bearer(Role.AGENCY, "riverbend-survivor-advocacy"))
        assert read.status_code == 200 and read.json()["fields"]["name"] == PERSON["name"]  # the door works
        await http.post(f"{system.url('referral')}/consents/{consent.json()['consent_id']}/revoke", headers=TRIAGE)
        await http.post(f"{system.url('referral')}/cases/{case['id']}/people", headers=TRIAGE,
                        json=PERSON | {"birth_date": "not a date"})  # a 422 must not echo the person back
        await http.post(f"{system.url('referral')}/cases/{case['id']}/people", headers=TRIAGE,
                        json=PERSON | {"phone": PERSON["phone"] * 10})

    await eventually(lambda: _has(broker.bootstrap_servers, "case.contact_restricted"), timeout=60)
    await _let_spans_flush(system)

    places = {"topics": await _all_topics(broker.bootstrap_servers), "webhooks": _webhooks(receiver),
              "spans": _files(system.state / "traces"), "logs": _files(system.state / "logs")}
    # A control: the establishment's id travels everywhere (it is no person's data), so the scan reads
    # what it claims to read; if it were blind, finding no person data would prove nothing.
    assert all(est in places[p] for p in ("topics", "spans", "webhooks")), "the scan must see the flow's records"
    leaks = {place: [n for n in NEEDLES if n.lower() in text.lower()] for place, text in places.items()}
    assert leaks == {place: [] for place in places}, f"person data found: {leaks}"


async def _has(kafka: str, topic: str) -> bool:
    return bool(await read_all(kafka, topic))


async def _let_spans_flush(system: System) -> None:
    """Spans are exported in batches (every 0.5 s): wait until the span files stop growing."""
    sizes = None
    for _ in range(40):
        now = sum(f.stat().st_size for f in (system.state / "traces").glob("*"))
        if now and now == sizes:
            return
        sizes = now
        await asyncio.sleep(0.5)


async def _all_topics(kafka: str) -> str:
    consumer = AIOKafkaConsumer(bootstrap_servers=kafka)
    await consumer.start()
    try:
        topics = sorted(await consumer.topics())
    finally:
        await consumer.stop()
    text = []
    for topic in topics:
        for record in await read_all(kafka, topic):
            text.append((record.value or b"").decode("utf-8", "replace"))
            text.append(json.dumps(record.headers))
    return "\n".join(text)


def _webhooks(receiver: WebhookReceiver) -> str:
    return "\n".join(r.body.decode("utf-8", "replace") + json.dumps(r.headers) for r in receiver.received)


def _files(folder: Path) -> str:
    return "\n".join(f.read_text("utf-8", "replace") for f in sorted(folder.rglob("*")) if f.is_file())
