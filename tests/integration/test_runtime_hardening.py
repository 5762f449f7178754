"""The runtime's protections on the real services (issue 14): body limits, readiness that tells the truth."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from pathways_runtime.auth import Role
from pathways_runtime.embedded import EmbeddedKafka
from pathways_runtime.http import MiB
from pathways_runtime.service import Service
from pathways_runtime.settings import Settings
from support import bearer, eventually

pytestmark = pytest.mark.integration
INSPECTOR = bearer(Role.INSPECTOR, "health-department")
OPS = bearer(Role.OPS, "ops")


async def test_a_50_mb_inspection_is_refused_with_413_and_healthz_still_answers(running):
    body = b'{"establishment_id": "' + b"x" * (50 * MiB) + b'"}'
    response = await running.inspection.post("/inspections", content=body,
                                             headers=INSPECTOR | {"content-type": "application/json"})
    assert response.status_code == 413
    assert (await running.inspection.get("/healthz")).status_code == 200


async def test_the_registry_import_takes_bodies_larger_than_the_default_limit(running):
    # Over the 1 MiB default, under the import's own limit: it reaches the import, which names the problem.
    body = "not_a_registry_column\n" + "x\n" * MiB
    response = await running.inspection.post("/establishments/import", content=body.encode(),
                                             headers=OPS | {"content-type": "text/csv"})
    assert response.status_code == 422, response.text
    assert "missing required columns" in response.text


def _probe_service(name: str, tmp_path, kafka: str) -> Service:
    settings = Settings(KAFKA_BOOTSTRAP_SERVERS=kafka, OTEL_SERVICE_NAME=name, PATHWAYS_OUTBOX_POLL_SECONDS=0.5)
    return Service(name, schema=name.replace("-", "_"), migrations=tmp_path, description="tests", settings=settings)


async def _readyz(client: httpx.AsyncClient) -> httpx.Response:
    return await client.get("/readyz")


async def test_readyz_names_a_loop_that_stopped_beating_or_keeps_failing_and_recovers(infrastructure, tmp_path):
    service = _probe_service("tests-heartbeat", tmp_path, infrastructure.kafka)
    healthy, stuck_forever = asyncio.Event(), asyncio.Event()

    @service.background(heartbeat_seconds=0.5)
    async def stuck_worker(svc: Service) -> None:
        svc.heartbeat("stuck_worker")
        await stuck_forever.wait()  # e.g. waiting on a connection PostgreSQL dropped: never beats again

    @service.background(heartbeat_seconds=30)
    async def flaky_worker(svc: Service) -> None:
        if not healthy.is_set():
            raise ConnectionError("the database connection was lost")
        while True:
            svc.heartbeat("flaky_worker")
            await asyncio.sleep(0.1)

    app = service.app()
    async with service.running(), httpx.AsyncClient(transport=httpx.ASGITransport(app), base_url="http://p") as http:
        async def both_overdue():
            response = await _readyz(http)
            overdue = response.json().get("overdue", {})
            return response if {"stuck_worker", "flaky_worker"} <= set(overdue) else None

        response = await eventually(both_overdue, timeout=30)
        assert response.status_code == 503
        assert response.json()["checks"]["database"] is True
        assert "no heartbeat" in response.json()["overdue"]["stuck_worker"]
        assert "ConnectionError" in response.json()["overdue"]["flaky_worker"]

        healthy.set()  # the database is back: the restarted loop runs and beats

        async def only_the_stuck_one():
            overdue = (await _readyz(http)).json()["overdue"]
            return set(overdue) == {"stuck_worker"}

        await eventually(only_the_stuck_one, timeout=60)
        stuck_forever.set()


async def test_readyz_stays_ready_while_the_broker_is_down_and_work_goes_to_the_outbox(infrastructure, tmp_path):
    with EmbeddedKafka(log_dir=tmp_path) as broker:
        service = _probe_service("tests-ready-outage", tmp_path, broker.bootstrap_servers)
        client = httpx.AsyncClient(transport=httpx.ASGITransport(service.app()), base_url="http://p")
        async with service.running(), client as http:
            await eventually(lambda: _is_ready(http), timeout=30)
            broker.pause()
            try:
                async def broker_reported_down():
                    response = await _readyz(http)
                    return response if response.json()["checks"]["broker"] is False else None

                response = await eventually(broker_reported_down, timeout=30)
                assert response.status_code == 200 and response.json()["ready"] is True
            finally:
                broker.resume()


async def _is_ready(http: httpx.AsyncClient) -> bool:
    return (await _readyz(http)).status_code == 200


async def test_stopping_is_bounded_when_a_connection_is_never_given_back(infrastructure, tmp_path, caplog):
    # A SIGTERM'd service must exit within its grace period (the fault suite gives 20 s, Kubernetes 30 s).
    # Here something outside the service's own loops holds a pooled connection and never lets go: the
    # pool's graceful close would wait for it forever. Stopping has a deadline instead; the step that
    # overran is logged with what every task was doing, and the pool is closed under the holder.
    settings = Settings(KAFKA_BOOTSTRAP_SERVERS=infrastructure.kafka, OTEL_SERVICE_NAME="tests-stop",
                        PATHWAYS_SHUTDOWN_SECONDS=0.5)
    service = Service("tests-stop", schema="tests_stop", migrations=tmp_path, description="tests",
                      settings=settings)
    held = asyncio.Event()

    async def holds_a_connection_forever() -> None:
        async with service.pool.acquire():
            held.set()
            await asyncio.Event().wait()

    async with service.running():
        holder = asyncio.create_task(holds_a_connection_forever(), name="holds-a-connection")
        await asyncio.wait_for(held.wait(), 10)
        stopping_started = asyncio.get_running_loop().time()
    took = asyncio.get_running_loop().time() - stopping_started

    assert took < 5, f"stopping took {took:.1f} s"
    overran = [r for r in caplog.records if getattr(r, "step", None) == "the database pool"]
    assert overran, [r.getMessage() for r in caplog.records]
    holder_line = [line for line in overran[0].tasks if line.startswith("holds-a-connection:")]
    assert holder_line and "holds_a_connection_forever" in holder_line[0], overran[0].tasks
    holder.cancel()
    await asyncio.gather(holder, return_exceptions=True)
