"""`pathways bench`: how fast the kit replays a topic, beside the raw aiokafka consume rate of the same run.

1. Produce N ``redflag.raised`` CloudEvents onto a fresh topic (confluent-kafka, batched).
2. Raw: aiokafka on assigned partitions, a ``getmany`` loop, records counted and dropped.
3. Kit, decode and dispatch: the same read, then what the kit does with each record before the
   database: decode the CloudEvent headers, validate the data against its contract model, build the
   handler's context and call a no-op handler through ``DepartmentConsumer``'s dispatch.
4. Kit, full path, on a smaller N: a real ``DepartmentConsumer`` (FastStream batch subscriber, one
   transaction, one inbox claim and one offset commit per batch, a savepoint per event) with a no-op handler. Only when the
   bench started its own broker: the kit reads the topic named after the event type, which on a shared
   cluster is live data.

The embedded broker (and PostgreSQL) are started here when ``KAFKA_BOOTSTRAP_SERVERS`` (``DATABASE_URL``)
is unset.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import secrets
import tempfile
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import typer
from aiokafka import AIOKafkaConsumer, TopicPartition
from confluent_kafka import Producer

from pathways_contracts import CloudEvent, TopicSpec, decode
from pathways_contracts.events import RedFlagRaised
from pathways_runtime import serve
from pathways_runtime.broker import ensure_topics, partitions_of
from pathways_runtime.settings import Settings

EVENT_TYPE = RedFlagRaised.event_type
PARTITIONS = 4


@dataclass(frozen=True)
class Figure:
    name: str
    events: int
    seconds: float

    @property
    def rate(self) -> float:
        return self.events / self.seconds if self.seconds else float("inf")


def sample_event(i: int) -> CloudEvent:
    data = RedFlagRaised(red_flag_id=uuid.uuid4(), establishment_id=f"est-{i % 5000}", jurisdiction="bench",
                         level="red_flag", score=6.5, categories=["labor"], dimensions=["criminal_operation"],
                         indicator_codes=["LAB-WAGE-THEFT", "LAB-EXCESSIVE-HOURS", "OPS-DEBT-BONDAGE"],
                         contributing_inspection_ids=[uuid.uuid4(), uuid.uuid4()],
                         departments=["labor-standards", "health-department"], rules_version="v1",
                         raised_at=datetime.now(UTC))
    return CloudEvent(data, source="/pathways/bench")


def produce(bootstrap: str, topic: str, count: int) -> Figure:
    """Headers and value of one real event, a fresh ce_id per record (the inbox needs distinct ids)."""
    template = sample_event(0)
    value, headers = template.value(), template.headers()
    producer = Producer({"bootstrap.servers": bootstrap, "enable.idempotence": False, "linger.ms": 20,
                         "batch.size": 1_000_000, "queue.buffering.max.messages": 500_000, "acks": "1"})
    started = time.perf_counter()
    for i in range(count):
        record_headers = [(k, (str(uuid.uuid4()) if k == "ce_id" else v).encode()) for k, v in headers.items()]
        while True:
            try:
                producer.produce(topic, value, key=f"est-{i % 5000}".encode(), headers=record_headers)
                break
            except BufferError:  # local queue full: let the client send, then try again
                producer.poll(0.05)
        if i % 10_000 == 0:
            producer.poll(0)
    producer.flush()
    return Figure("produce (confluent-kafka)", count, time.perf_counter() - started)


async def _read(bootstrap: str, topic: str, count: int, on_batch) -> Figure:
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False,
                                fetch_max_bytes=64 * 1024 * 1024, max_partition_fetch_bytes=16 * 1024 * 1024)
    await consumer.start()
    try:
        partitions = await partitions_of(consumer, topic)
        consumer.assign(partitions)
        await consumer.seek_to_beginning(*partitions)
        seen, started = 0, time.perf_counter()
        while seen < count:
            for records in (await consumer.getmany(timeout_ms=1000, max_records=10_000)).values():
                await on_batch(records)
                seen += len(records)
        return seen, time.perf_counter() - started
    finally:
        await consumer.stop()


async def raw_rate(bootstrap: str, topic: str, count: int) -> Figure:
    async def drop(records) -> None:
        return None

    seen, seconds = await _read(bootstrap, topic, count, drop)
    return Figure("raw aiokafka getmany", seen, seconds)


async def kit_decode_dispatch_rate(bootstrap: str, topic: str, count: int) -> Figure:
    from pathways_consumer_kit import Context, DepartmentConsumer
    from types import SimpleNamespace

    kit = DepartmentConsumer("bench")

    @kit.on(RedFlagRaised)
    async def no_op(event: RedFlagRaised, ctx: Context) -> None:
        return None

    no_database = SimpleNamespace(conn=None)  # the handler's context names a connection; this bench has none

    async def decode_and_dispatch(records) -> None:
        for record in records:
            event = decode(record.headers, record.value, expected_type=EVENT_TYPE)
            await kit._dispatch(event, no_database)

    seen, seconds = await _read(bootstrap, topic, count, decode_and_dispatch)
    return Figure("kit decode + validate + dispatch (no database)", seen, seconds)


async def kit_full_rate(settings: Settings, count: int) -> Figure:
    """A real DepartmentConsumer; the clock runs from the first handled event to the last (not the group join)."""
    from pathways_consumer_kit import Context, DepartmentConsumer

    kit = DepartmentConsumer(f"bench-{uuid.uuid4().hex[:6]}", settings=settings)
    stamps: list[float] = []
    done = asyncio.Event()

    @kit.on(RedFlagRaised)
    async def no_op(event: RedFlagRaised, ctx: Context) -> None:
        stamps.append(time.perf_counter())
        if len(stamps) >= count:
            done.set()

    async with kit.running():
        await asyncio.wait_for(done.wait(), timeout=max(120, count / 50))
    return Figure("kit full path (FastStream batches, inbox in PostgreSQL, savepoint per event)", len(stamps),
                  stamps[-1] - stamps[0])


@contextlib.contextmanager
def infrastructure(need_database: bool, broker: str = "tansu") -> Iterator[tuple[str, str | None, bool]]:
    """(bootstrap, database url, whether the broker is ours); starts what the environment does not name."""
    from pathways_runtime.embedded import EmbeddedPostgres, embedded_broker

    with contextlib.ExitStack() as stack:
        folder = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="pathways-bench-")))
        bootstrap = os.environ.get("KAFKA_BOOTSTRAP_SERVERS")
        own_broker = bootstrap is None
        if own_broker:
            bootstrap = stack.enter_context(embedded_broker(broker, data_dir=folder / "kafka")).bootstrap_servers
        database = os.environ.get("DATABASE_URL")
        if database is None and need_database and own_broker:
            database = stack.enter_context(EmbeddedPostgres(folder / "pg")).url
        yield bootstrap, database, own_broker


def ratio_line(kit: Figure, raw: Figure) -> str:
    return f"  ratio {kit.name} / raw: {kit.rate / raw.rate:.3f}"


def bench(ctx: typer.Context,
          events: int = typer.Option(1_000_000, "--events", help="Events on the topic for raw and kit replay."),
          full_events: int = typer.Option(5_000, "--full-events",
                                          help="Events through the kit's full database path (0 to skip)."),
          broker: str = typer.Option("tansu", "--broker",
                                     help="The embedded broker: tansu, kafka (Apache Kafka), or both, side by side."),
          as_json: bool = typer.Option(False, "--json", help="Print the figures as one JSON object.")) -> None:
    """Replay throughput of the consumer kit beside the raw aiokafka consume rate, measured in the same run."""
    if ctx.invoked_subcommand is not None:  # `pathways bench e2e`: only the subcommand runs
        return
    kinds = ["tansu", "kafka"] if broker == "both" else [broker]
    if not set(kinds) <= {"tansu", "kafka"}:
        raise typer.BadParameter("tansu, kafka or both", param_hint="--broker")
    # On the loop a department consumer runs on (DepartmentConsumer.run): uvloop when installed.
    runs = {kind: serve.run(_bench(events, full_events, kind)) for kind in kinds}
    if as_json:
        print(json.dumps({kind: {f.name: {"events": f.events, "seconds": round(f.seconds, 3),
                                          "per_second": round(f.rate)} for f in figures}
                          for kind, figures in runs.items()} if len(runs) > 1 else
                         {f.name: {"events": f.events, "seconds": round(f.seconds, 3), "per_second": round(f.rate)}
                          for f in runs[kinds[0]]}))
        return
    if len(runs) > 1:
        print(f"{'':70s} " + "".join(f"{kind + ' /s':>14s}" for kind in kinds))
        for name in [f.name for f in runs[kinds[0]]]:
            rates = [next((f.rate for f in runs[kind] if f.name == name), float("nan")) for kind in kinds]
            print(f"{name:70s} " + "".join(f"{rate:>14,.0f}" for rate in rates))
        return
    figures = runs[kinds[0]]
    for figure in figures:
        print(f"{figure.name:70s} {figure.events:>9,d} events  {figure.seconds:8.2f} s  {figure.rate:>12,.0f} /s")
    raw = next(f for f in figures if f.name.startswith("raw"))
    for kit in (f for f in figures if f.name.startswith("kit")):
        print(ratio_line(kit, raw))


async def _bench(events: int, full_events: int, broker: str = "tansu") -> list[Figure]:
    os.environ.setdefault("PATHWAYS_CONSUMER_SESSION_TIMEOUT_MS", "6000")  # a quick group join on Tansu
    # The kit serves no HTTP, but a service refuses to start without a signing secret: a throwaway one.
    os.environ.setdefault("PATHWAYS_JWT_SECRET", secrets.token_urlsafe(48))
    # FastStream's access log writes two lines per event: it would measure the terminal, not the kit.
    for name in ("faststream.access", "faststream.access.kafka"):  # FastStream sets the child's level itself
        logging.getLogger(name).disabled = True
    with infrastructure(need_database=full_events > 0, broker=broker) as (bootstrap, database, own_broker):
        settings = Settings(kafka_bootstrap_servers=bootstrap, **({"database_url": database} if database else {}))
        topic = f"bench.{uuid.uuid4().hex[:8]}.{EVENT_TYPE}"
        await ensure_topics(settings, [TopicSpec(topic, PARTITIONS, "pathways bench")])
        print(f"broker {bootstrap} ({f'embedded {broker}, started by the bench' if own_broker else 'from the environment'});"
              f" topic {topic}, {PARTITIONS} partitions", flush=True)
        figures = [await asyncio.to_thread(produce, bootstrap, topic, events)]
        print(f"produced {events:,d} events", flush=True)
        figures.append(await raw_rate(bootstrap, topic, events))
        figures.append(await kit_decode_dispatch_rate(bootstrap, topic, events))
        if full_events and own_broker and database:
            await ensure_topics(settings, [TopicSpec(EVENT_TYPE, PARTITIONS, "")])
            await asyncio.to_thread(produce, bootstrap, EVENT_TYPE, full_events)
            figures.append(await kit_full_rate(settings, full_events))
        elif full_events:
            print("full kit path skipped: it reads the live redflag.raised topic, so it runs only on the bench's"
                  " own embedded broker (unset KAFKA_BOOTSTRAP_SERVERS)")
        return figures
