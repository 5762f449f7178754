"""PostgreSQL restarted under load, with a fast and with an immediate shutdown.

The system gets a PostgreSQL of its own (restarting the session's would disturb every other test).
During the outage the inspection API answers 503 with Retry-After (the workload retries, as a
department's system would); afterwards every loop — relays, consumers, the delivery worker —
must recover by itself: no process is restarted by the test.
"""

from __future__ import annotations

import asyncio
import tempfile
from pathlib import Path

import httpx
import pytest

from fault.checker import HEALTH, Workload, check, subscribe
from processes import System, system_env
from support import announce
from pathways_runtime.embedded import EmbeddedKafka, EmbeddedPostgres

pytestmark = pytest.mark.fault


@pytest.mark.parametrize("mode", ["fast", "immediate"])
async def test_postgres_restarted_under_load_loses_nothing_and_every_loop_recovers(broker: EmbeddedKafka, receiver,
                                                                                   tmp_path: Path, mode: str):
    with tempfile.TemporaryDirectory(prefix="pathways-fault-pg-") as data, \
            EmbeddedPostgres(Path(data) / "pg", log_dir=tmp_path / "logs") as pg:
        system = System(system_env(broker.bootstrap_servers, pg.url, tmp_path), tmp_path)
        system.start_all()
        try:
            await subscribe(system.url("notification"), receiver)
            workload = Workload(system.url("inspection"))
            await workload.register()
            statuses: list[int] = []

            async def fault() -> None:
                while len(workload.acked) < 30:
                    await asyncio.sleep(0.05)
                probe = {"establishment_id": workload.keys()[-1], "program": "food_establishment",
                         "reason": "routine", "inspected_on": "2026-11-03", "result": "pass", "indicator_codes": []}
                restart = asyncio.create_task(asyncio.to_thread(pg.restart, mode))
                async with httpx.AsyncClient(timeout=5) as http:  # what a caller sees meanwhile
                    while not restart.done():
                        try:
                            statuses.append((await http.post(f"{system.url('inspection')}/inspections",
                                                             headers=HEALTH, json=probe)).status_code)
                        except httpx.TransportError:
                            pass
                        await asyncio.sleep(0.05)
                await restart

            await workload.run_until_done(during=asyncio.ensure_future(fault()))
            report = await check(broker.bootstrap_servers, workload, receiver, timeout=120)
            announce("PostgreSQL %s restart: %s; statuses during it: %s", mode, report.summary(),
                        sorted(set(statuses)))
            assert 500 not in statuses, "an outage of the database is a 503 for the caller, never a 500"
            report.assert_clean()
        finally:
            system.stop()
