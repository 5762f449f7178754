"""The runtime's guarantees over the real broker and database: idempotent consumers, dead letters
(parked, visible, replayable), bounded retries, and an outbox that survives a broker outage."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from dataclasses import dataclass, field
from pathlib import Path

import asyncpg
import pytest
from aiokafka import AIOKafkaProducer

from pathways_runtime.operations import replay_dead_letters
from pathways_contracts import CloudEvent
from pathways_contracts.events import CaseClosed, RedFlagRaised
from pathways_runtime import db
from pathways_runtime.auth import Role
from pathways_runtime.broker import ensure_topics
from pathways_runtime.service import Service
from pathways_runtime.settings import Settings
from support import bearer, eventually, own_broker, read_all

pytestmark = pytest.mark.integration
TRIAGE = bearer(Role.TRIAGE, "mdt")


def red_flag(establishment_id: str, red_flag_id: uuid.UUID | None = None) -> CloudEvent:
    return CloudEvent(source="/tests", data=RedFlagRaised(
        red_flag_id=red_flag_id or uuid.uuid4(), establishment_id=establishment_id, jurisdiction="metro-county",
        level="red_flag", score=7.0, categories=["labor"], dimensions=["victim_vulnerability"],
        indicator_codes=["LAB-WAGE-THEFT", "VUL-LIVING-ON-SITE"], contributing_inspection_ids=[uuid.uuid4()],
        departments=["health-department", "labor-standards"], rules_version="tests", raised_at=datetime.now(UTC)))


async def publish(bootstrap: str, topic: str, value: bytes, key: bytes, headers: dict[str, str]) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, enable_idempotence=False)
    await producer.start()
    try:
        await producer.send_and_wait(topic, value, key=key, headers=[(k, v.encode()) for k, v in headers.items()])
    finally:
        await producer.stop()


async def publish_event(bootstrap: str, event: CloudEvent) -> None:
    await publish(bootstrap, event.type, event.value(), event.key, event.headers())


async def cases_of(running, establishment_id: str) -> list[dict]:
    response = await running.referral.get("/cases", params={"establishment_id": establishment_id}, headers=TRIAGE)
    return [(await running.referral.get(f"/cases/{c['id']}", headers=TRIAGE)).json() for c in response.json()]


async def test_a_red_flag_delivered_three_times_opens_one_case_with_one_referral(running, infrastructure):
    establishment = f"est-{uuid.uuid4().hex[:8]}"
    event = red_flag(establishment)
    for _ in range(3):  # the same event (same ce_id) redelivered
        await publish_event(infrastructure.kafka, event)
    # the same red flag re-sent under a new event id (a producer retry after a lost ack)
    await publish_event(infrastructure.kafka, red_flag(establishment, event.data.red_flag_id))
    marker = red_flag(f"{establishment}-marker")  # published last: once it is handled, all above were
    await publish_event(infrastructure.kafka, marker)

    await eventually(lambda: cases_of(running, marker.data.establishment_id))
    cases = await eventually(lambda: cases_of(running, establishment))
    assert len(cases) == 1
    assert len(cases[0]["red_flags"]) == 1
    assert len(cases[0]["referrals"]) >= 1
    referral_ids = {r["id"] for r in cases[0]["referrals"]}
    assert len(referral_ids) == len(cases[0]["referrals"])


async def test_a_malformed_event_is_parked_with_its_reason_and_the_next_one_is_processed(running, infrastructure):
    establishment = f"est-{uuid.uuid4().hex[:8]}"
    bad_key = f"bad-{uuid.uuid4().hex[:8]}".encode()
    good = red_flag(establishment)
    bad_headers = good.headers() | {"ce_id": str(uuid.uuid4())}
    await publish(infrastructure.kafka, "redflag.raised", b'{"not": "a red flag"', bad_key, bad_headers)
    await publish_event(infrastructure.kafka, good)

    assert await eventually(lambda: cases_of(running, establishment))

    async def parked():
        return [r for r in await read_all(infrastructure.kafka, "redflag.raised.dlq") if r.key == bad_key]

    dead = await eventually(parked)
    by_group = {r.headers["dlq_consumer_group"]: r for r in dead}
    record = by_group["referral.redflag.raised"]
    assert record.headers["dlq_reason"].startswith("invalid event")
    assert record.headers["dlq_source_topic"] == "redflag.raised"
    assert record.headers["dlq_attempts"] == "0"
    assert record.value == b'{"not": "a red flag"'  # parked as received, nothing lost


@pytest.fixture
async def failing_consumer(infrastructure, tmp_path: Path):
    """A service of its own whose handler fails for events marked 'poison' and records the others."""
    service = Service("tests-failing", schema="tests_failing", migrations=tmp_path, description="tests")
    consumer = FailingConsumer()

    @service.consumers.on(CaseClosed, title="fails on poison", description="test handler")
    async def handle(event: CloudEvent[CaseClosed], uow) -> None:
        if event.data.outcome == "poison" and consumer.broken:
            raise ValueError("this handler cannot process poison")
        consumer.handled.append(event.data.establishment_id)

    async with service.running():
        yield consumer


@dataclass
class FailingConsumer:
    broken: bool = True
    handled: list[str] = field(default_factory=list)


def closed_case(outcome: str) -> CloudEvent:
    return CloudEvent(source="/tests", data=CaseClosed(case_id=uuid.uuid4(), establishment_id=str(uuid.uuid4()),
                                                       outcome=outcome, closed_at=datetime.now(UTC)))


async def test_a_failing_handler_is_retried_then_parked_and_the_consumer_moves_on(failing_consumer, infrastructure):
    poison, after = closed_case("poison"), closed_case("referred and engaged")
    await publish_event(infrastructure.kafka, poison)
    await publish_event(infrastructure.kafka, after)

    async def parked():
        return [r for r in await read_all(infrastructure.kafka, "case.closed.dlq")
                if r.headers.get("ce_id") == poison.id]

    record = (await eventually(parked))[0]
    assert record.headers["dlq_reason"].startswith("handler error: ValueError")
    assert record.headers["dlq_attempts"] == str(Settings().consumer_max_attempts)
    assert record.headers["dlq_consumer_group"] == "tests-failing.case.closed"
    assert int(record.headers["dlq_source_offset"]) >= 0
    await eventually(lambda: _contains(failing_consumer.handled, after.data.establishment_id))
    assert poison.data.establishment_id not in failing_consumer.handled

    failing_consumer.broken = False  # the fix is deployed: replay the parked record
    settings = Settings(KAFKA_BOOTSTRAP_SERVERS=infrastructure.kafka)
    assert await replay_dead_letters(settings, "case.closed", event_id=poison.id) == 1
    await eventually(lambda: _contains(failing_consumer.handled, poison.data.establishment_id))


async def _contains(items: list, item) -> bool:
    return item in items


async def test_an_event_recorded_while_the_broker_is_down_is_published_when_it_returns(infrastructure, tmp_path):
    broker = own_broker(tmp_path)
    with broker:
        settings = Settings(KAFKA_BOOTSTRAP_SERVERS=broker.bootstrap_servers, OTEL_SERVICE_NAME="tests-outage",
                            PATHWAYS_OUTBOX_POLL_SECONDS=0.5)
        await ensure_topics(settings)
        service = Service("tests-outage", schema="tests_outage", migrations=tmp_path, description="tests",
                          settings=settings)
        async with service.running():
            broker.pause()  # the broker process stops answering; the service keeps accepting work
            event = closed_case("recorded during the outage")
            async with service.uow() as uow:
                await uow.emit(event.data)
                await uow.commit()
            unpublished = await service.pool.fetchval(
                "select count(*) from tests_outage.outbox")
            assert unpublished >= 1

            broker.resume()

            async def published():
                return [r for r in await read_all(broker.bootstrap_servers, "case.closed")
                        if r.headers["ce_type"] == "case.closed" and r.key == event.key]

            records = await eventually(published, timeout=60)
            assert len(records) == 1

            async def sent_rows_gone() -> bool:  # the outbox holds only what waits
                return await service.pool.fetchval("select count(*) from tests_outage.outbox") == 0

            await eventually(sent_rows_gone, timeout=30)


async def test_an_outbox_from_before_keeps_only_its_unsent_rows_and_the_relay_sends_them(infrastructure, tmp_path):
    """A database whose outbox kept published rows (migration 001 alone): migrating deletes those, keeps
    the ones still waiting, and the relay publishes and deletes them."""
    schema = f"tests_old_outbox_{uuid.uuid4().hex[:6]}"
    sent, waiting = closed_case("published long ago"), closed_case("still waiting")
    conn = await asyncpg.connect(infrastructure.database_url)
    try:
        await conn.execute(f"create schema {schema}; create table {schema}.schema_migrations"
                           " (version text primary key, applied_at timestamptz not null default now())")
        first = Path(db.__file__).parent / "migrations" / "001_outbox_inbox.sql"
        await conn.execute(first.read_text().replace("{schema}", schema))
        await conn.execute(f"insert into {schema}.schema_migrations (version) values ('runtime_001_outbox_inbox')")
        for event, published in ((sent, "now()"), (waiting, "null")):
            await conn.execute(f"insert into {schema}.outbox (event_id, topic, key, value, headers, published_at)"
                               f" values ($1, $2, $3, $4, $5, {published})", event.id, event.type, event.key,
                               event.value(), json.dumps(event.headers()))
    finally:
        await conn.close()

    settings = Settings(KAFKA_BOOTSTRAP_SERVERS=infrastructure.kafka, OTEL_SERVICE_NAME="tests-old-outbox",
                        PATHWAYS_OUTBOX_POLL_SECONDS=0.5)
    await ensure_topics(settings)
    service = Service("tests-old-outbox", schema=schema, migrations=tmp_path, description="tests", settings=settings)
    async with service.running():
        async def emptied() -> bool:
            return await service.pool.fetchval(f"select count(*) from {schema}.outbox") == 0

        await eventually(emptied, timeout=30)
        columns = {r[0] for r in await service.pool.fetch(
            "select column_name from information_schema.columns where table_schema = $1 and table_name = 'outbox'",
            schema)}
    assert "published_at" not in columns

    async def on_the_bus():
        ids = {r.headers["ce_id"] for r in await read_all(infrastructure.kafka, "case.closed")}
        return ids if waiting.id in ids else None

    assert sent.id not in await eventually(on_the_bus, timeout=30)  # deleted by the migration, never sent again
