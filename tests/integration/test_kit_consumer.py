"""The department consumer kit on the real broker and PostgreSQL: typed handlers, the department's own schema,
idempotency, dead letters, replay from the beginning, graceful shutdown."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime
from pathlib import Path

import pytest
from aiokafka import AIOKafkaConsumer, TopicPartition

from pathways_consumer_kit import Context, DepartmentConsumer, publish
from pathways_contracts.events import RedFlagRaised
from support import eventually, read_all

pytestmark = pytest.mark.integration


def red_flag(establishment: str | None = None) -> RedFlagRaised:
    return RedFlagRaised(red_flag_id=uuid.uuid4(), establishment_id=establishment or f"est-{uuid.uuid4().hex[:8]}",
                         jurisdiction="kit-tests", level="red_flag", score=6.0, categories=["labor"],
                         dimensions=["criminal_operation"], indicator_codes=["LAB-WAGE-THEFT"],
                         contributing_inspection_ids=[uuid.uuid4()], departments=["labor-standards"],
                         rules_version="v1", raised_at=datetime.now(UTC))


def recording_consumer(tmp_path: Path, name: str, seen: list, **options) -> DepartmentConsumer:
    migrations = tmp_path / "migrations"
    migrations.mkdir(exist_ok=True)
    (migrations / "001_seen.sql").write_text(
        "create table {schema}.seen (event_id text primary key, establishment_id text not null);")
    consumer = DepartmentConsumer(name, migrations=migrations, **options)

    @consumer.on(RedFlagRaised)
    async def on_red_flag(event: RedFlagRaised, ctx: Context) -> None:
        seen.append(event)
        await ctx.conn.execute(f"insert into {ctx.schema}.seen values ($1, $2)", ctx.event.id, event.establishment_id)

    return consumer


async def rows(consumer: DepartmentConsumer, establishment: str) -> list:
    return await consumer.pool.fetch(f"select * from {consumer.schema}.seen where establishment_id = $1",
                                     establishment)


async def test_a_typed_handler_writes_to_the_departments_schema_once_per_event(infrastructure, tmp_path):
    seen: list = []
    consumer = recording_consumer(tmp_path, f"kit-{uuid.uuid4().hex[:6]}", seen)
    assert consumer.group == f"dept.{consumer.department}"
    data = red_flag()
    async with consumer.running():
        event = await publish(data)
        await eventually(lambda: rows(consumer, data.establishment_id))
        # The same event again (a redelivery): the inbox skips it.
        await _publish_again(event, infrastructure.kafka)
        await asyncio.sleep(1.5)
        assert [e.red_flag_id for e in seen if e.establishment_id == data.establishment_id] == [data.red_flag_id]
        assert isinstance(seen[-1], RedFlagRaised)


async def _publish_again(event, kafka: str) -> None:
    from aiokafka import AIOKafkaProducer

    from pathways_contracts import encode

    key, value, headers = encode(event)
    headers["traceparent"] = f"00-{uuid.uuid4().hex}-{uuid.uuid4().hex[:16]}-01"
    producer = AIOKafkaProducer(bootstrap_servers=kafka, enable_idempotence=False)
    await producer.start()
    await producer.send_and_wait(event.type, value, key=key, headers=[(k, v.encode()) for k, v in headers.items()])
    await producer.stop()


async def test_a_failing_handler_is_retried_then_parked_on_the_dead_letter_topic(infrastructure, tmp_path):
    consumer = DepartmentConsumer(f"kit-{uuid.uuid4().hex[:6]}")
    attempts: list = []
    data = red_flag()

    @consumer.on(RedFlagRaised)
    async def always_fails(event: RedFlagRaised, ctx: Context) -> None:
        if event.establishment_id == data.establishment_id:
            attempts.append(ctx.event.id)
            raise RuntimeError("the department's system is broken")

    async with consumer.running():
        event = await publish(data)

        async def parked():
            return [r for r in await read_all(infrastructure.kafka, "redflag.raised.dlq")
                    if r.headers.get("ce_id") == event.id]

        [dead] = await eventually(parked)
    assert dead.headers["dlq_consumer_group"] == consumer.group and "broken" in dead.headers["dlq_reason"]
    assert len(attempts) == int(dead.headers["dlq_attempts"]) >= 2


async def test_replay_from_the_beginning_reads_history_in_a_new_group(infrastructure, tmp_path):
    name = f"kit-{uuid.uuid4().hex[:6]}"
    data = red_flag()
    await publish(data)
    first: list = []
    async with recording_consumer(tmp_path, name, first).running() as consumer:
        await eventually(lambda: rows(consumer, data.establishment_id))
    again: list = []
    replaying = recording_consumer(tmp_path, name, again, replay_from_beginning=True)
    assert replaying.group.startswith(f"dept.{name}.replay-")
    async with replaying.running():
        await eventually(lambda: _async([e for e in again if e.establishment_id == data.establishment_id]))


async def _async(value):
    return value


async def test_stopping_waits_for_the_event_in_hand_and_commits_only_what_was_handled(infrastructure, tmp_path):
    consumer = DepartmentConsumer(f"kit-{uuid.uuid4().hex[:6]}")
    data, started, finished = red_flag(), asyncio.Event(), []

    @consumer.on(RedFlagRaised)
    async def slow(event: RedFlagRaised, ctx: Context) -> None:
        if event.establishment_id == data.establishment_id:
            started.set()
            await asyncio.sleep(1.0)
            finished.append(event.red_flag_id)

    async with consumer.running():
        event = await publish(data)
        await asyncio.wait_for(started.wait(), 30)
    assert finished == [data.red_flag_id]  # the stop waited for the handler
    record = next(r for r in await read_all(infrastructure.kafka, "redflag.raised") if r.headers["ce_id"] == event.id)
    committed = await _committed(infrastructure.kafka, consumer.group, record.partition)
    assert committed == record.offset + 1  # exactly past the handled event, not beyond what was read


async def _committed(kafka: str, group: str, partition: int) -> int | None:
    reader = AIOKafkaConsumer(bootstrap_servers=kafka, group_id=group, enable_auto_commit=False)
    await reader.start()
    try:
        return await reader.committed(TopicPartition("redflag.raised", partition))
    finally:
        await reader.stop()
