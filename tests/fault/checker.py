"""One workload and one checker for every fault.

The workload is a keyed, numbered stream: establishments are the keys, and each gets
its inspections one after another (so their order is known), many establishments at
once. Every fourth establishment is seen by two departments with indicators that fuse
into a red flag, so it opens a case and referrals; a webhook subscription receives
every ``inspection.completed`` and ``case.opened``. Given a broker (``kafka``), every fourth other
establishment's inspections are sent as ``inspection.submitted`` events instead, as a department's
own system sends them, so the inspection service's consumer is in the stream too.

The checker then reads the outside of the system only — every topic, every dead-letter
topic and what the webhook receiver got — and counts:

- **lost**: inspections acknowledged (HTTP 201) that never appeared on
  ``inspection.completed``, or were never delivered to the webhook;
- **duplicated**: effects that happened twice — a second ``case.opened`` for an
  establishment, a second ``referral.created`` for a case and agency, a second webhook
  delivery (distinct ``webhook-id``) of one event. (The same event published twice under
  its one id is at-least-once transport, absorbed by every consumer's inbox; it is counted,
  not failed.)
- **out of order**: an establishment whose inspections appear on the topic, or reach the
  webhook, in another order than they were acknowledged;
- **poison**: records produced raw into the stream that are neither on a dead-letter topic
  with a reason.
"""

from __future__ import annotations

import asyncio
import json
import random
import time
import uuid
from collections import Counter, defaultdict
from dataclasses import dataclass, field

import httpx
from aiokafka import AIOKafkaProducer

from pathways_contracts import CloudEvent, encode
from pathways_contracts.events import InspectionSubmitted
from pathways_runtime.auth import Role
from support import WebhookReceiver, bearer, read_all

HEALTH = bearer(Role.INSPECTOR, "health-department")
LABOR = bearer(Role.INSPECTOR, "labor-standards")
RED_FLAG_PAIR = (("food_establishment", "VUL-LIVING-ON-SITE", HEALTH),
                 ("labor_standards_site_visit", "LAB-WAGE-THEFT", LABOR))


@dataclass
class Acked:
    establishment_id: str
    inspection_id: str
    sequence: int  # its place among its establishment's acknowledged inspections
    planned: int  # its place in the workload's plan for the establishment (0 and 1: the red-flag pair)


@dataclass
class Workload:
    """Posts ``establishments`` keys × ``per_key`` inspections with ``concurrency`` keys in flight.

    With ``kafka``, the keys of ``submitted_keys()`` are sent as ``inspection.submitted`` events on that
    broker instead, acknowledged when the broker acknowledged them.
    """

    inspection_url: str
    establishments: int = 24
    per_key: int = 4
    concurrency: int = 6
    seed: int = 7
    kafka: str | None = None
    run: str = field(default_factory=lambda: uuid.uuid4().hex[:6])
    acked: list[Acked] = field(default_factory=list)
    unacknowledged: int = 0
    sent: int = 0

    def keys(self) -> list[str]:
        return [f"fault-{self.run}-{i:03d}" for i in range(self.establishments)]

    def red_flag_keys(self) -> set[str]:
        return {key for i, key in enumerate(self.keys()) if i % 4 == 0}

    def submitted_keys(self) -> set[str]:
        return {key for i, key in enumerate(self.keys()) if i % 4 == 2} if self.kafka else set()

    async def register(self) -> None:
        async with httpx.AsyncClient(timeout=10) as http:
            for key in self.keys():
                response = await _retrying(lambda k=key: http.post(f"{self.inspection_url}/establishments",
                                                                   headers=HEALTH, json=_establishment(k)))
                assert response is not None and response.status_code in (200, 201), response

    async def run_until_done(self, during: asyncio.Future | None = None) -> None:
        """Send every inspection; ``during`` (a fault injected meanwhile) is awaited too."""
        queue: asyncio.Queue[str] = asyncio.Queue()
        for key in self.keys():
            queue.put_nowait(key)
        producer = AIOKafkaProducer(bootstrap_servers=self.kafka, acks="all") if self.kafka else None
        if producer is not None:
            await producer.start()
        try:
            async with httpx.AsyncClient(timeout=15) as http:
                workers = [asyncio.create_task(self._worker(http, producer, queue)) for _ in range(self.concurrency)]
                await asyncio.gather(*workers, *([during] if during is not None else []))
        finally:
            if producer is not None:
                await producer.stop()

    async def _worker(self, http: httpx.AsyncClient, producer: AIOKafkaProducer | None,
                      queue: asyncio.Queue[str]) -> None:
        rng = random.Random(self.seed)
        submitted = self.submitted_keys()
        while not queue.empty():
            key = queue.get_nowait()
            for n in range(self.per_key):
                program, code, token = self._inspection(key, n, rng)
                self.sent += 1
                if key in submitted:
                    inspection_id = await self._submit(producer, key, program, code)
                else:
                    response = await _retrying(lambda: http.post(f"{self.inspection_url}/inspections", headers=token, json={
                        "establishment_id": key, "program": program, "reason": "routine",
                        "inspected_on": "2026-11-03", "result": "conditional" if code else "pass",
                        "indicator_codes": [code] if code else []}))
                    ok = response is not None and response.status_code == 201
                    inspection_id = response.json()["inspection_id"] if ok else None
                if inspection_id is not None:
                    sequence = sum(1 for a in self.acked if a.establishment_id == key)
                    self.acked.append(Acked(key, inspection_id, sequence, n))
                else:
                    self.unacknowledged += 1

    async def _submit(self, producer: AIOKafkaProducer, key: str, program: str, code: str | None) -> str | None:
        """Send one ``inspection.submitted`` event; its inspection id once the broker acknowledged it."""
        data = InspectionSubmitted(inspection_id=uuid.uuid4(), establishment_id=key, department="health-department",
                                   source_system="fault-suite", program=program, reason="routine",
                                   inspected_on="2026-11-03", result="conditional" if code else "pass",
                                   indicator_codes=[code] if code else [])
        record_key, value, headers = encode(CloudEvent(data=data, source="/departments/health-department/fault-suite"))
        try:
            await producer.send_and_wait(data.event_type, value, key=record_key,
                                         headers=[(k, v.encode()) for k, v in headers.items()])
        except Exception:  # noqa: BLE001 (not acknowledged: not promised)
            return None
        return str(data.inspection_id)

    def _inspection(self, key: str, n: int, rng: random.Random) -> tuple[str, str | None, dict]:
        if key in self.red_flag_keys() and n < len(RED_FLAG_PAIR):
            return RED_FLAG_PAIR[n]
        return "food_establishment", None, HEALTH


async def _retrying(call, deadline_seconds: float = 60) -> httpx.Response | None:
    """Retry while the service is down or says 503 (as a department's system would); None if never answered.

    A request whose answer was lost may have been recorded anyway: the checker counts only
    acknowledged inspections as promised, so such a one is neither lost nor a duplicate.
    """
    deadline = time.monotonic() + deadline_seconds
    while time.monotonic() < deadline:
        try:
            response = await call()
            if response.status_code != 503:
                return response
        except httpx.TransportError:
            pass
        await asyncio.sleep(0.3)
    return None


def _establishment(key: str) -> dict:
    return {"id": key, "license_number": f"LIC-{key}", "name": f"Establishment {key}", "license_type": "food",
            "license_status": "active", "area": "Ward 5", "jurisdiction": "metro-county"}


async def subscribe(notification_url: str, receiver: WebhookReceiver) -> None:
    async with httpx.AsyncClient(timeout=10) as http:
        response = await http.post(f"{notification_url}/subscriptions", headers=bearer(Role.OPS, "ops"), json={
            "department": "labor-standards", "role": "labor",
            "event_types": ["inspection.completed", "case.opened"], "url": receiver.url + "/fault"})
        assert response.status_code == 201, response.text


@dataclass
class Report:
    sent: int
    acknowledged: int
    observed: int
    delivered: int
    lost: list[str]
    undelivered: list[str]
    duplicate_cases: list[str]
    duplicate_referrals: list[tuple]
    duplicate_deliveries: list[str]
    out_of_order: list[str]
    missing_cases: list[str]  # both red-flag inspections acknowledged, yet no case opened
    republished: int  # the same event id twice on a topic: at-least-once transport, absorbed by inboxes
    parked: int = 0
    poison_unparked: list[str] = field(default_factory=list)
    # Of the missing cases' establishments, those whose red flag was raised (so the case went missing in
    # referral, not in screening), and those whose red flag was parked: where to look when one fails.
    raised_without_case: list[str] = field(default_factory=list)
    parked_red_flags: list[str] = field(default_factory=list)

    def summary(self) -> str:
        return (f"sent {self.sent}, acknowledged {self.acknowledged}, observed {self.observed}, "
                f"delivered {self.delivered}, lost {len(self.lost)}, undelivered {len(self.undelivered)}, "
                f"duplicated {len(self.duplicate_cases) + len(self.duplicate_referrals) + len(self.duplicate_deliveries)}, "
                f"out of order {len(self.out_of_order)}, cases missing {len(self.missing_cases)}, republished {self.republished}, parked {self.parked}, "
                f"poison not parked {len(self.poison_unparked)}")

    def assert_clean(self) -> None:
        assert not self.lost, f"acknowledged but never published: {self.lost[:5]} ({self.summary()})"
        assert not self.undelivered, f"acknowledged but never delivered: {self.undelivered[:5]} ({self.summary()})"
        assert not self.duplicate_cases, f"two cases for: {self.duplicate_cases} ({self.summary()})"
        assert not self.duplicate_referrals, f"two referrals: {self.duplicate_referrals} ({self.summary()})"
        assert not self.duplicate_deliveries, f"delivered twice: {self.duplicate_deliveries} ({self.summary()})"
        assert not self.out_of_order, f"per-key order broken for: {self.out_of_order} ({self.summary()})"
        assert not self.missing_cases, (f"red flag acknowledged, no case: {self.missing_cases}; of them raised on"
                                        f" redflag.raised: {self.raised_without_case}, parked on its DLQ:"
                                        f" {self.parked_red_flags} ({self.summary()})")
        assert not self.poison_unparked, f"poison neither handled nor parked: {self.poison_unparked}"


async def check(kafka: str, workload: Workload, receiver: WebhookReceiver, timeout: float = 120,
                poison_ids: list[str] = (), poison_topics: tuple[str, ...] = ()) -> Report:
    """Wait (with a deadline) until every acknowledged inspection is delivered, then count."""
    deadline = time.monotonic() + timeout
    while True:
        report = await _count(kafka, workload, receiver, poison_ids, poison_topics)
        settled = not report.lost and not report.undelivered and not report.missing_cases
        if settled or time.monotonic() > deadline:
            return report
        await asyncio.sleep(1)


async def _count(kafka: str, workload: Workload, receiver: WebhookReceiver, poison_ids, poison_topics) -> Report:
    ours = set(workload.keys())
    completed = [r for r in await read_all(kafka, "inspection.completed", timeout=30)
                 if r.headers.get("ce_subject") in ours]
    first_seen: dict[str, int] = {}  # event id → position of its first publication
    topic_order: dict[str, list[str]] = defaultdict(list)
    for position, record in enumerate(sorted(completed, key=lambda r: (r.partition, r.offset))):
        if record.headers["ce_id"] in first_seen:
            continue
        first_seen[record.headers["ce_id"]] = position
        topic_order[record.headers["ce_subject"]].append(json.loads(record.value)["inspection_id"])
    republished = len(completed) - len(first_seen)

    deliveries = [r for r in receiver.received if r.json().get("data", {}).get("establishment_id") in ours]
    by_webhook_id = {r.headers.get("webhook-id") or r.headers.get("Webhook-Id"): r for r in deliveries}
    delivered_events = Counter(_event_id(r) for r in by_webhook_id.values())
    webhook_order: dict[str, list[str]] = defaultdict(list)
    for r in deliveries:
        body = r.json()
        if _type(r) == "inspection.completed" and body["data"]["inspection_id"] not in webhook_order[
                body["data"]["establishment_id"]]:
            webhook_order[body["data"]["establishment_id"]].append(body["data"]["inspection_id"])

    observed = {i for ids in topic_order.values() for i in ids}
    delivered = {i for ids in webhook_order.values() for i in ids}
    acked_order: dict[str, list[str]] = defaultdict(list)
    for a in sorted(workload.acked, key=lambda a: a.sequence):
        acked_order[a.establishment_id].append(a.inspection_id)
    out_of_order = [key for key, ids in acked_order.items()
                    if _subsequence(topic_order[key], ids) != ids or _subsequence(webhook_order[key], ids) != ids]

    cases = await _events_by(kafka, "case.opened", ours, lambda d: d["establishment_id"])
    referrals = await _events_by(kafka, "referral.created", None, lambda d: (d["case_id"], d["agency_id"]))
    acked = [a.inspection_id for a in workload.acked]
    pairs = Counter(a.establishment_id for a in workload.acked if a.establishment_id in workload.red_flag_keys()
                    and a.planned < len(RED_FLAG_PAIR))
    missing_cases = [key for key, n in pairs.items() if n == len(RED_FLAG_PAIR) and key not in cases]
    parked, unparked = await _poison(kafka, poison_ids, poison_topics)
    raised, parked_flags = await _red_flags(kafka, set(missing_cases)) if missing_cases else ({}, {})
    return Report(
        sent=workload.sent, acknowledged=len(acked), observed=len(observed & set(acked)),
        delivered=len(delivered & set(acked)),
        lost=[i for i in acked if i not in observed], undelivered=[i for i in acked if i not in delivered],
        duplicate_cases=[k for k, ids in cases.items() if len(ids) > 1],
        duplicate_referrals=[k for k, ids in referrals.items() if len(ids) > 1],
        duplicate_deliveries=[e for e, n in delivered_events.items() if n > 1],
        out_of_order=out_of_order, missing_cases=missing_cases, republished=republished, parked=parked, poison_unparked=unparked,
        raised_without_case=sorted(raised), parked_red_flags=sorted(parked_flags))


async def _red_flags(kafka: str, keys: set[str]) -> tuple[dict, dict]:
    """Red flags of ``keys`` on redflag.raised and on its dead-letter topic, by establishment."""
    key_of = lambda d: d.get("establishment_id")  # noqa: E731 (a parked record may lack it)
    return (await _events_by(kafka, "redflag.raised", keys, key_of),
            await _events_by(kafka, "redflag.raised.dlq", keys, key_of))


async def _events_by(kafka: str, topic: str, keys: set[str] | None, key_of) -> dict:
    """Distinct event ids of ``topic`` grouped by ``key_of(data)``."""
    grouped: dict = defaultdict(set)
    for record in await read_all(kafka, topic, timeout=30):
        try:
            data = json.loads(record.value)
        except ValueError:  # poison (parked on a dead-letter topic): no key to group by
            continue
        key = key_of(data)
        if keys is None or key in keys:
            grouped[key].add(record.headers.get("ce_id"))
    return grouped


async def _poison(kafka: str, poison_ids: list[str], topics: tuple[str, ...]) -> tuple[int, list[str]]:
    if not poison_ids:
        return 0, []
    parked = {}
    for topic in topics:
        for record in await read_all(kafka, f"{topic}.dlq", timeout=30):
            marker = record.headers.get("fault_marker")
            if marker and record.headers.get("dlq_reason"):
                parked[marker] = record.headers["dlq_reason"]
    return len(parked), [p for p in poison_ids if p not in parked]


def _event_id(received) -> str:
    body = received.json()
    return body.get("id") or received.headers.get("ce-id", "")


def _type(received) -> str:
    return received.json().get("type", "")


def _subsequence(seen: list[str], wanted: list[str]) -> list[str]:
    """``seen`` restricted to ``wanted``'s items, in ``seen``'s order."""
    wanted_set = set(wanted)
    return [i for i in seen if i in wanted_set]
