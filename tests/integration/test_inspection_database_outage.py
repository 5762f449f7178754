"""PostgreSQL gone while inspections arrive (issue 14, item 2): the caller gets 503 with Retry-After, never a
500, nothing is half-written, and the service answers again by itself once PostgreSQL is back.

The outage is of a PostgreSQL of this test's own: stopping the session's would disturb the other services.
The inspection service here is built by its own bootstrap on that database and called through its HTTP app;
its broker side is not started (the session's inspection service owns the consumer group), so only the
database pool is opened, as ``Service.running`` opens it.
"""

from __future__ import annotations

import asyncio
import tempfile
import uuid
from pathlib import Path

import httpx
import pytest

from pathways_inspection.app import create_app
from pathways_inspection.bootstrap import bootstrap
from pathways_inspection.settings import InspectionSettings
from pathways_runtime import db
from pathways_runtime.auth import Role
from pathways_runtime.embedded import EmbeddedPostgres
from support import bearer

pytestmark = pytest.mark.integration
INSPECTOR = bearer(Role.INSPECTOR, "health-department")
OPS = bearer(Role.OPS, "ops")


async def test_post_inspections_during_a_postgresql_outage_is_503_with_retry_after(infrastructure):
    with tempfile.TemporaryDirectory(prefix="pathways-tests-pg-outage-") as folder:
        pg = await asyncio.to_thread(EmbeddedPostgres(Path(folder) / "pg").start)
        try:
            service = bootstrap(InspectionSettings(database_url=pg.url))
            # Two connections: a unit of work that failed to BEGIN and kept its connection would starve the rest.
            pool = await db.create_pool(pg.url, 2)
            await db.migrate(pool, service.schema, service.migrations)
            service._pool = pool  # what Service.running() does first, without its broker side
            app = create_app(service)
            # A 500 comes back as a response to count, not as an exception in the test.
            transport = httpx.ASGITransport(app, raise_app_exceptions=False)
            async with httpx.AsyncClient(transport=transport, base_url="http://inspection") as client:
                await _outage(client, pg, pool)
            await pool.close()
        finally:
            await asyncio.to_thread(pg.stop)


async def _outage(client: httpx.AsyncClient, pg: EmbeddedPostgres, pool) -> None:
    est = f"est-{uuid.uuid4().hex[:8]}"
    assert (await client.post("/establishments", headers=OPS, json={
        "id": est, "license_number": f"LIC-{est}", "name": "Outage Diner", "license_type": "food_establishment",
        "license_status": "active", "jurisdiction": "metro-county"})).status_code == 201
    inspection = {"establishment_id": est, "program": "food_establishment", "reason": "routine",
                  "inspected_on": "2026-11-02", "result": "pass"}
    statuses: list[int] = []
    stopped = asyncio.Event()

    async def inspector() -> None:
        """Inspections keep arriving while PostgreSQL stops: connections die in the middle of units of work."""
        while not stopped.is_set():
            response = await client.post("/inspections", headers=INSPECTOR, json=inspection)
            statuses.append(response.status_code)
            if response.status_code == 503:
                assert response.headers["retry-after"] == "2"

    traffic = [asyncio.create_task(inspector()) for _ in range(3)]
    await asyncio.to_thread(pg.stop)
    during = [await client.post("/inspections", headers=INSPECTOR, json=inspection) for _ in range(4)]
    stopped.set()
    await asyncio.gather(*traffic)
    assert [r.status_code for r in during] == [503] * 4
    assert during[0].headers["retry-after"] == "2"
    assert set(statuses) <= {201, 503}, statuses  # never a 500
    batch = await client.post("/inspections/batch", headers=INSPECTOR, json={"inspections": [inspection]})
    assert batch.status_code == 503
    assert (await client.get(f"/establishments/{est}", headers=INSPECTOR)).status_code == 503

    await asyncio.to_thread(pg.start)
    after = [await client.post("/inspections", headers=INSPECTOR, json=inspection) for _ in range(3)]
    assert [r.status_code for r in after] == [201, 201, 201], after[0].text
    # Nothing half-written: exactly the acknowledged inspections are stored, each with its one outbox row.
    accepted = statuses.count(201) + 3
    assert await pool.fetchval("select count(*) from inspection.inspections where establishment_id = $1",
                               est) == accepted
    assert await pool.fetchval("select count(*) from inspection.outbox where topic = 'inspection.completed'") == accepted
