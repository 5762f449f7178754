"""Network faults through Toxiproxy: 500 ms of latency, then connection resets, between the services and
the broker, and between the services and PostgreSQL, under load. Every service reaches both only through
the proxies (the broker advertises its proxy's address), so every connection suffers the fault."""

from __future__ import annotations

import asyncio
import tempfile
from pathlib import Path

import pytest

from fault.checker import Workload, check, subscribe
from pathways_runtime.broker import ensure_topics
from pathways_runtime.embedded import EmbeddedKafka, EmbeddedPostgres, free_port
from pathways_runtime.settings import Settings
from processes import System, system_env
from support import announce
from toxiproxy import toxiproxy_server

pytestmark = pytest.mark.fault


@pytest.mark.parametrize("link", ["broker", "database"])
async def test_latency_and_connection_resets_lose_and_duplicate_nothing(infrastructure, receiver, tmp_path: Path,
                                                                        link: str):
    broker_port = free_port()
    with toxiproxy_server(tmp_path / "logs") as toxiproxy, \
            tempfile.TemporaryDirectory(prefix="pathways-fault-pg-") as data, \
            EmbeddedPostgres(Path(data) / "pg", log_dir=tmp_path / "logs") as pg:
        to_broker = toxiproxy.proxy("broker", f"127.0.0.1:{broker_port}")
        to_database = toxiproxy.proxy("database", f"127.0.0.1:{pg.port}")
        with EmbeddedKafka(port=broker_port, log_dir=tmp_path / "logs", advertised=to_broker.address) as kafka:
            await ensure_topics(Settings(KAFKA_BOOTSTRAP_SERVERS=to_broker.address))
            database_url = pg.url.replace(f":{pg.port}/", f":{to_database.port}/")
            system = System(system_env(to_broker.address, database_url, tmp_path), tmp_path)
            system.start_all()
            try:
                await subscribe(system.url("notification"), receiver)
                workload = Workload(system.url("inspection"))
                await workload.register()
                proxy = to_broker if link == "broker" else to_database

                async def fault() -> None:
                    while len(workload.acked) < 20:
                        await asyncio.sleep(0.05)
                    latency = proxy.add("latency", latency=500, jitter=50)
                    while len(workload.acked) < 50:
                        await asyncio.sleep(0.05)
                    proxy.remove(latency)
                    for _ in range(3):  # three cuts: every open connection is reset, new ones refused a moment
                        proxy.enabled(False)
                        await asyncio.sleep(1.0)
                        proxy.enabled(True)
                        await asyncio.sleep(2.0)

                await workload.run_until_done(during=asyncio.ensure_future(fault()))
                report = await check(to_broker.address, workload, receiver, timeout=180)
                announce("network faults on the %s link (500 ms latency, 3 resets): %s", link,
                            report.summary())
                report.assert_clean()
            finally:
                system.stop()
        assert kafka  # the broker outlived the test's checks
