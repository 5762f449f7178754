"""Screening throughput: inspections recorded and screened per second, with cross-department fusion.

A registry of establishments with a year of inspections from several
departments is loaded into a real PostgreSQL (COPY, so loading is not what is
measured); then new inspections go through the service's own use case
(``record_inspection`` on the service's unit of work: store, outbox, fusion
query, screening, decision, follow-ups) from concurrent connections. It lives
in the CLI, not in the service package: the service ships no benchmark. The pure screening function is timed
on its own too, to show where the time goes.
"""

from __future__ import annotations

import asyncio
import random
import statistics
import time
import uuid
from datetime import date, timedelta

import asyncpg

from pathways_contracts.catalog import load_catalog
from pathways_contracts.vocab import Program
from pathways_inspection.bootstrap import bootstrap
from pathways_inspection.domain import screening
from pathways_inspection.service_layer.commands import RecordInspection
from pathways_inspection.service_layer.recording import record_inspection
from pathways_inspection.settings import InspectionSettings
from pathways_runtime import db
from pathways_runtime.service import Service

DEPARTMENTS = {Program.MASSAGE: "health", Program.FOOD: "health", Program.LODGING: "health",
               Program.LABOR: "labor-standards", Program.RENTAL_HOUSING: "housing"}
AS_OF = date(2026, 11, 1)


def _codes_for(program: Program, rng: random.Random) -> list[str]:
    """Most inspections see nothing; some see one or two indicators the program may record."""
    allowed = [i.code for i in load_catalog().for_program(program) if i.code != screening.MINOR_CODE]
    k = rng.choices([0, 1, 2], weights=[85, 12, 3])[0]
    return sorted(rng.sample(allowed, k))


async def load(pool: asyncpg.Pool, establishments: int, history_per: float, seed: int) -> int:
    """The registry and a year of history; returns the number of inspections loaded."""
    rng = random.Random(seed)
    ids = [f"B-{n:06d}" for n in range(establishments)]
    programs = list(Program)
    registry = [(i, f"L{i}", f"Business {i}", rng.choice(programs).value, "active", None, None,
                 f"Ward {n % 12}", "bench") for n, i in enumerate(ids)]
    history = []
    for i in ids:
        for _ in range(int(history_per) + (rng.random() < history_per % 1)):
            program = rng.choice(programs)
            history.append((uuid.uuid4(), i, DEPARTMENTS[program], program.value, "routine",
                            AS_OF - timedelta(days=rng.randrange(365)), "pass", _codes_for(program, rng),
                            "bench"))
    async with pool.acquire() as conn:
        await conn.copy_records_to_table("establishments", schema_name="inspection", records=registry,
                                         columns=["id", "license_number", "name", "license_type",
                                                  "license_status", "license_expiry", "address", "area",
                                                  "jurisdiction"])
        await conn.copy_records_to_table("inspections", schema_name="inspection", records=history,
                                         columns=["id", "establishment_id", "department", "program", "reason",
                                                  "inspected_on", "result", "indicator_codes", "recorded_by"])
        await conn.execute("analyze inspection.establishments; analyze inspection.inspections")
    return len(history)


async def screen_many(service: Service, pool: asyncpg.Pool, establishments: int, count: int, concurrency: int,
                      seed: int) -> list[float]:
    """Record ``count`` new inspections through the service path; the latency of each, in seconds."""
    rng = random.Random(seed + 1)
    queue: asyncio.Queue = asyncio.Queue()
    for _ in range(count):
        program = rng.choice(list(Program))
        queue.put_nowait((f"B-{rng.randrange(establishments):06d}", program, _codes_for(program, rng)))
    latencies: list[float] = []

    async def worker() -> None:
        while not queue.empty():
            establishment_id, program, codes = queue.get_nowait()
            started = time.perf_counter()
            uow = service.unit_of_work_class(pool, schema=service.schema, source=service.source)
            await record_inspection(RecordInspection(
                establishment_id=establishment_id, department=DEPARTMENTS[program], program=program,
                reason="routine", inspected_on=AS_OF, result="pass", indicator_codes=codes, recorded_by="bench"), uow)
            latencies.append(time.perf_counter() - started)

    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return latencies


def pure_screening_rate(observations_per: int = 4, runs: int = 20_000) -> float:
    """Assessments per second of the pure function alone (no database)."""
    rng = random.Random(3)
    rules, catalog = screening.load_rules(), load_catalog()
    cases = []
    for _ in range(200):
        obs = []
        for _ in range(observations_per):
            program = rng.choice(list(Program))
            obs.append(screening.Observation(uuid.uuid4(), DEPARTMENTS[program], program,
                                             AS_OF - timedelta(days=rng.randrange(365)),
                                             tuple(_codes_for(program, rng))))
        cases.append(obs)
    started = time.perf_counter()
    for n in range(runs):
        screening.screen(cases[n % len(cases)], rules, catalog, AS_OF)
    return runs / (time.perf_counter() - started)


async def run(database_url: str, establishments: int = 100_000, history_per: float = 3.0, count: int = 5_000,
              concurrency: int = 8, seed: int = 42) -> dict:
    service = bootstrap(InspectionSettings(database_url=database_url))  # its unit of work; nothing connects
    pool = await db.create_pool(database_url, max_size=concurrency + 2)
    try:
        await db.migrate(pool, "inspection", service.migrations)
        started = time.perf_counter()
        history = await load(pool, establishments, history_per, seed)
        load_seconds = time.perf_counter() - started
        started = time.perf_counter()
        latencies = await screen_many(service, pool, establishments, count, concurrency, seed)
        elapsed = time.perf_counter() - started
        flags = await pool.fetchval("select count(*) from inspection.red_flags")
    finally:
        await pool.close()
    ordered = sorted(latencies)
    return {
        "establishments": establishments, "history_inspections": history, "fusion_window_days": 365,
        "load_seconds": round(load_seconds, 2), "screened": count, "concurrency": concurrency,
        "seconds": round(elapsed, 3), "inspections_per_second": round(count / elapsed, 1),
        "latency_ms_p50": round(statistics.median(ordered) * 1000, 2),
        "latency_ms_p95": round(ordered[int(len(ordered) * 0.95) - 1] * 1000, 2),
        "latency_ms_max": round(ordered[-1] * 1000, 2),
        "red_flags_open": flags,
        "pure_assessments_per_second": round(pure_screening_rate(), 0),
    }
