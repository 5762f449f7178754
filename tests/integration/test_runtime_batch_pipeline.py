"""The batched consumer pipeline over the real broker and database: one transaction per batch, a
poison event parked on its own while the rest commit, and records the client library cannot parse
(a header value that is not UTF-8) or that are far larger than their type allows parked with reasons."""

from __future__ import annotations

import asyncio
import logging
import uuid
from datetime import UTC, datetime
from pathlib import Path

import pytest
from aiokafka import AIOKafkaProducer
from faststream.kafka.message import KafkaAckableMessage

from pathways_contracts import CloudEvent
from pathways_contracts.events import CaseClosed, RedFlagRaised
from pathways_runtime.auth import Role
from pathways_runtime.errors import Unprocessable
from pathways_runtime.service import Service
from pathways_runtime.settings import Settings
from support import bearer, eventually, read_all, read_by_group

pytestmark = pytest.mark.integration
TRIAGE = bearer(Role.TRIAGE, "mdt")


def red_flag(establishment_id: str) -> CloudEvent:
    return CloudEvent(source="/tests", data=RedFlagRaised(
        red_flag_id=uuid.uuid4(), establishment_id=establishment_id, jurisdiction="metro-county",
        level="red_flag", score=7.0, categories=["labor"], dimensions=["victim_vulnerability"],
        indicator_codes=["LAB-WAGE-THEFT", "VUL-LIVING-ON-SITE"], contributing_inspection_ids=[uuid.uuid4()],
        departments=["health-department", "labor-standards"], rules_version="tests", raised_at=datetime.now(UTC)))


def closed_case(outcome: str) -> CloudEvent:
    return CloudEvent(source="/tests", data=CaseClosed(case_id=uuid.uuid4(), establishment_id=str(uuid.uuid4()),
                                                       outcome=outcome, closed_at=datetime.now(UTC)))


async def produce(bootstrap: str, records: list[tuple[str, bytes, bytes, list[tuple[str, bytes]]]]) -> None:
    """Raw records, sent together and flushed once (so a consumer starting later reads them in one poll)."""
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, enable_idempotence=False, linger_ms=50)
    await producer.start()
    try:
        futures = [await producer.send(topic, value, key=key, headers=headers) for topic, value, key, headers in records]
        for future in futures:
            await future
    finally:
        await producer.stop()


def raw(event: CloudEvent, value: bytes | None = None, **header_bytes: bytes) -> tuple:
    headers = [(k, v.encode()) for k, v in event.headers().items() if k not in header_bytes]
    return event.type, value if value is not None else event.value(), event.key, headers + list(header_bytes.items())


async def cases_of(running, establishment_id: str) -> list[dict]:
    response = await running.referral.get("/cases", params={"establishment_id": establishment_id}, headers=TRIAGE)
    return response.json()


async def dead_letters(bootstrap: str, topic: str, key: bytes) -> list:
    return [r for r in await read_all(bootstrap, f"{topic}.dlq") if r.key == key]


async def test_a_poison_event_in_a_batch_is_parked_while_the_others_commit_in_one_transaction(infrastructure,
                                                                                               tmp_path: Path):
    (tmp_path / "001_handled.sql").write_text(
        # txid_current() is the top-level transaction's id, also inside a savepoint.
        "create table {schema}.handled (establishment_id text primary key, outcome text not null,"
        " tx bigint not null default txid_current());")
    before, poison, after = closed_case("first"), closed_case("poison"), closed_case("last")
    # On the topic before the consumer starts: its first poll reads the three together.
    await produce(infrastructure.kafka, [raw(e) for e in (before, poison, after)])

    group_name = f"tests-batch-{uuid.uuid4().hex[:6]}"
    service = Service(group_name, schema="tests_batch", migrations=tmp_path, description="tests")
    handled: list[str] = []

    @service.consumers.on(CaseClosed, title="fails on poison", description="test handler")
    async def handle(event: CloudEvent[CaseClosed], uow) -> None:
        # Written first, then the failure: the poison's own row must roll back with it.
        await uow.conn.execute("insert into tests_batch.handled (establishment_id, outcome) values ($1, $2)",
                               event.data.establishment_id, event.data.outcome)
        if event.data.outcome == "poison":
            raise ValueError("this handler cannot process poison")
        handled.append(event.data.establishment_id)

    async with service.running():
        ours = [before.data.establishment_id, poison.data.establishment_id, after.data.establishment_id]

        async def parked():
            return [r for r in await read_all(infrastructure.kafka, "case.closed.dlq")
                    if r.headers.get("ce_id") == poison.id]

        [record] = await eventually(parked)
        assert record.headers["dlq_reason"].startswith("handler error: ValueError")
        assert record.headers["dlq_consumer_group"] == f"{group_name}.case.closed"
        rows = await service.pool.fetch(
            "select establishment_id, outcome, tx from tests_batch.handled"
            " where establishment_id = any($1::text[])", ours)
        assert sorted(r["outcome"] for r in rows) == ["first", "last"]  # the poison's row rolled back
        assert len({r["tx"] for r in rows}) == 1  # the batch's good events committed in ONE transaction
        # Distinct keys, so possibly distinct partitions: no order between them (the order test covers one key).
        assert sorted(e for e in handled if e in ours) == sorted([before.data.establishment_id,
                                                                  after.data.establishment_id])
        claims = await service.pool.fetch("select event_id from tests_batch.inbox where event_id = any($1::text[])",
                                          [before.id, poison.id, after.id])
        # The parked event holds no inbox claim, so a replay from the DLQ is handled.
        assert sorted(r["event_id"] for r in claims) == sorted([before.id, after.id])


async def test_a_header_value_that_is_not_utf8_is_parked_with_its_reason(running, infrastructure):
    bad, good = red_flag(f"est-{uuid.uuid4().hex[:8]}"), red_flag(f"est-{uuid.uuid4().hex[:8]}")
    await produce(infrastructure.kafka, [raw(bad, ce_source=b"\xff\xfe/not-utf8"), raw(good)])

    assert await eventually(lambda: cases_of(running, good.data.establishment_id))
    dead = await eventually(lambda: dead_letters(infrastructure.kafka, "redflag.raised", bad.key))
    record = {r.headers["dlq_consumer_group"]: r for r in dead}["referral.redflag.raised"]
    assert "not UTF-8" in record.headers["dlq_reason"] and "ce_source" in record.headers["dlq_reason"]
    assert record.headers["dlq_attempts"] == "0"
    assert record.value == bad.value()  # parked as received
    assert await cases_of(running, bad.data.establishment_id) == []


async def test_an_event_far_larger_than_its_type_allows_is_parked_not_handled(running, infrastructure):
    big, good = red_flag(f"est-{uuid.uuid4().hex[:8]}"), red_flag(f"est-{uuid.uuid4().hex[:8]}")
    # Still a valid event (JSON allows the whitespace), only half a megabyte of it (the limit is 256 KiB).
    padded = big.value() + b" " * (512 * 1024)
    await produce(infrastructure.kafka, [raw(big, value=padded), raw(good)])

    assert await eventually(lambda: cases_of(running, good.data.establishment_id))
    dead = await eventually(lambda: dead_letters(infrastructure.kafka, "redflag.raised", big.key))
    record = {r.headers["dlq_consumer_group"]: r for r in dead}["referral.redflag.raised"]
    assert "exceeds" in record.headers["dlq_reason"]
    assert len(record.value) == len(padded)
    assert await cases_of(running, big.data.establishment_id) == []


async def test_per_key_order_holds_across_batches_around_a_parked_event(infrastructure, tmp_path: Path):
    establishment, case = str(uuid.uuid4()), uuid.uuid4()  # the case is the subject, so the key
    events = [CloudEvent(source="/tests", data=CaseClosed(case_id=case, establishment_id=establishment,
                                                          outcome="poison" if i == 4 else f"step-{i}",
                                                          closed_at=datetime.now(UTC))) for i in range(10)]
    await produce(infrastructure.kafka, [raw(e) for e in events])  # one key: one partition, in this order
    settings = Settings(OTEL_SERVICE_NAME="tests-order", PATHWAYS_CONSUMER_BATCH_MAX_RECORDS=3)
    service = Service(f"tests-order-{uuid.uuid4().hex[:6]}", schema="tests_order", migrations=tmp_path,
                      description="tests", settings=settings)
    handled: list[str] = []

    @service.consumers.on(CaseClosed, title="records the order", description="test handler")
    async def handle(event: CloudEvent[CaseClosed], uow) -> None:
        if event.data.establishment_id == establishment:
            if event.data.outcome == "poison":
                raise Unprocessable("poison")
            handled.append(event.data.outcome)

    async with service.running():
        expected = [f"step-{i}" for i in range(10) if i != 4]
        await eventually(lambda: _async(len(handled) >= len(expected)))
        assert handled == expected


async def test_a_batch_whose_offsets_were_never_committed_is_redelivered_without_a_second_effect(
        infrastructure, tmp_path: Path, monkeypatch, caplog):
    """As if the process died between the database commit and the offset commit."""
    (tmp_path / "001_effects.sql").write_text("create table {schema}.effects (event_id text not null);")
    events = [closed_case(f"crash-{i}") for i in range(3)]
    await produce(infrastructure.kafka, [raw(e) for e in events])
    name = f"tests-crash-{uuid.uuid4().hex[:6]}"

    def build() -> Service:
        service = Service(name, schema="tests_crash", migrations=tmp_path, description="tests")

        @service.consumers.on(CaseClosed, title="records effects", description="test handler")
        async def handle(event: CloudEvent[CaseClosed], uow) -> None:
            await uow.conn.execute("insert into tests_crash.effects values ($1)", event.id)

        return service

    async def effects(service: Service) -> dict[str, int]:
        rows = await service.pool.fetch("select event_id, count(*) as n from tests_crash.effects"
                                        " where event_id = any($1::text[]) group by event_id", [e.id for e in events])
        return {r["event_id"]: r["n"] for r in rows}

    async def never_commit(self) -> None:  # the offset commit never happens
        await asyncio.Event().wait()

    monkeypatch.setattr(KafkaAckableMessage, "ack", never_commit)
    first = build()
    async with first.running():
        await eventually(lambda: _has_all(effects(first), len(events)))
    monkeypatch.undo()

    caplog.set_level(logging.INFO, logger="pathways_runtime.consumer")
    second = build()  # the same group: it resumes from the last committed offset, before the batch
    async with second.running():
        marker = closed_case("after the crash")
        await produce(infrastructure.kafka, [raw(marker)])

        async def marker_handled():
            return await second.pool.fetchval("select count(*) from tests_crash.effects where event_id = $1",
                                              marker.id)

        await eventually(marker_handled)
        assert await effects(second) == {e.id: 1 for e in events}  # redelivered, no second effect
    skipped = {getattr(r, "event_id", None) for r in caplog.records if r.getMessage() == "duplicate event skipped"}
    assert {e.id for e in events} <= skipped  # the batch WAS read again


async def _async(value):
    return value


async def _has_all(counts, n: int) -> bool:
    return len(await counts) == n


class _CountingPool:
    """The service's pool, counting the connections the consumer pipeline takes (one per transaction)."""

    def __init__(self, pool) -> None:
        self._pool, self.acquired = pool, 0

    def acquire(self):
        self.acquired += 1
        return self._pool.acquire()

    def __getattr__(self, name):
        return getattr(self._pool, name)


async def test_events_a_subscriber_does_not_want_are_acknowledged_without_a_transaction(infrastructure,
                                                                                      tmp_path: Path):
    unwanted = [closed_case("nobody wants this") for _ in range(5)]
    wanted = closed_case("wanted")
    name = f"tests-wants-{uuid.uuid4().hex[:6]}"
    service = Service(name, schema="tests_wants", migrations=tmp_path, description="tests")
    handled: list[str] = []

    async def wants(event: CloudEvent) -> bool:
        return event.data.outcome == "wanted"

    @service.consumers.on(CaseClosed, title="wants some", description="test handler", wants=wants)
    async def handle(event: CloudEvent[CaseClosed], uow) -> None:
        handled.append(event.id)

    async with service.running():
        counting = _CountingPool(service.pool)
        service._pool = counting  # the pipeline takes its pool per batch; the relay keeps its own
        await produce(infrastructure.kafka, [raw(e) for e in unwanted])

        # The unwanted events were read and acknowledged.
        await eventually(lambda: read_by_group(infrastructure.kafka, f"{name}.case.closed", "case.closed",
                                               {e.id for e in unwanted}))
        assert counting.acquired == 0  # no transaction, no inbox claim, no handler
        assert handled == []
        # Control: a wanted event is handled through the pipeline's transaction, so the count can move.
        await produce(infrastructure.kafka, [raw(wanted)])
        await eventually(lambda: _async(handled == [wanted.id]))
        assert counting.acquired == 1
        claims = await service.pool.fetch("select event_id from tests_wants.inbox where consumer_group = $1",
                                          f"{name}.case.closed")
        assert [r["event_id"] for r in claims] == [wanted.id]


async def test_a_handler_leaving_its_unit_of_work_uncommitted_leaves_no_effect(infrastructure, tmp_path: Path):
    """On the pipeline the handler's first block rides on the event's savepoint: leaving it without
    commit must still undo what it wrote, and a second block commits on a savepoint of its own."""
    (tmp_path / "001_rows.sql").write_text("create table {schema}.rows (event_id text not null, block text not null);")
    event = closed_case("two blocks")
    service = Service(f"tests-uow-{uuid.uuid4().hex[:6]}", schema="tests_uow", migrations=tmp_path,
                      description="tests")
    done = asyncio.Event()

    @service.consumers.on(CaseClosed, title="two blocks", description="test handler")
    async def handle(e: CloudEvent[CaseClosed], uow) -> None:
        if e.id != event.id:
            return
        async with uow:  # left without commit: rolled back
            await uow.conn.execute("insert into tests_uow.rows values ($1, 'first')", e.id)
        async with uow:
            await uow.conn.execute("insert into tests_uow.rows values ($1, 'second')", e.id)
            await uow.commit()
        async with uow:  # a later block left without commit is rolled back too, alone
            await uow.conn.execute("insert into tests_uow.rows values ($1, 'third')", e.id)
        done.set()

    async with service.running():
        await produce(infrastructure.kafka, [raw(event)])
        await asyncio.wait_for(done.wait(), 30)

        async def rows():
            return [r["block"] for r in await service.pool.fetch(
                "select block from tests_uow.rows where event_id = $1", event.id)]

        assert await eventually(rows) == ["second"]
