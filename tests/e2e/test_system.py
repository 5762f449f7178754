"""The system as `make run` runs it: three service processes over HTTP, Kafka and PostgreSQL.

An inspection recorded over HTTP becomes a red flag, a case, a referral and a
signed webhook delivery to a department's real HTTP receiver, and the whole
path is one trace across the three processes.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import asyncpg
import httpx
import pytest

from pathways_cli import ops, stack
from pathways_runtime.auth import Role
from pathways_runtime.broker import ensure_topics
from pathways_runtime.embedded import EmbeddedKafka, free_port
from pathways_runtime.settings import Settings
from support import WebhookReceiver, bearer, eventually

pytestmark = pytest.mark.e2e


@dataclass
class System:
    urls: dict[str, str]
    trace_dir: Path


async def _fresh_database(server_url: str, name: str) -> str:
    conn = await asyncpg.connect(server_url)
    try:
        await conn.execute(f'drop database if exists "{name}" with (force)')
        await conn.execute(f'create database "{name}"')
    finally:
        await conn.close()
    return server_url.rsplit("/", 1)[0] + f"/{name}"


@pytest.fixture(scope="module")
async def system(infrastructure, tmp_path_factory) -> Iterator[System]:
    # A broker and a database of its own, so the in-process services of the integration tests
    # (same consumer group names) cannot take its events.
    state = tmp_path_factory.mktemp("e2e")
    with EmbeddedKafka(log_dir=state / "logs") as kafka:
        database_url = await _fresh_database(infrastructure.database_url, "pathways_e2e")
        await ensure_topics(Settings(KAFKA_BOOTSTRAP_SERVERS=kafka.bootstrap_servers))
        env = dict(os.environ) | {
            "KAFKA_BOOTSTRAP_SERVERS": kafka.bootstrap_servers, "DATABASE_URL": database_url,
            "PATHWAYS_TRACE_DIR": str(state / "traces"), "INSPECTION_PORT": str(free_port()),
            "REFERRAL_PORT": str(free_port()), "NOTIFICATION_PORT": str(free_port())}
        started = stack.start_services(env, state)
        try:
            stack.wait_ready(started, timeout=120)
            yield System({svc.name: svc.url for svc, _ in started}, state / "traces")
        finally:
            stack.stop_services(started)


async def test_an_inspection_reaches_a_department_webhook_in_one_trace(system):
    inspector, labor = bearer(Role.INSPECTOR, "health-department"), bearer(Role.INSPECTOR, "labor-standards")
    receiver = WebhookReceiver()
    est = f"est-{uuid.uuid4().hex[:8]}"
    try:
        async with httpx.AsyncClient(timeout=10) as http:
            sub = await http.post(f"{system.urls['notification']}/subscriptions",
                                  headers=bearer(Role.DEPARTMENT, "labor-standards"),
                                  json={"department": "labor-standards", "role": "labor",
                                        "event_types": ["case.opened"], "url": receiver.url + "/pathways"})
            assert sub.status_code == 201, sub.text
            registered = await http.post(f"{system.urls['inspection']}/establishments", headers=inspector, json={
                "id": est, "license_number": f"LIC-{est}", "name": "Harbor Nail Salon", "license_type": "food",
                "license_status": "active", "area": "Ward 5", "jurisdiction": "metro-county"})
            assert registered.status_code == 201, registered.text
            for token, program, code in ((inspector, "food_establishment", "VUL-LIVING-ON-SITE"),
                                         (labor, "labor_standards_site_visit", "LAB-WAGE-THEFT")):
                recorded = await http.post(f"{system.urls['inspection']}/inspections", headers=token, json={
                    "establishment_id": est, "program": program, "reason": "routine",
                    "inspected_on": "2026-11-03", "result": "conditional", "indicator_codes": [code]})
                assert recorded.status_code == 201, recorded.text

        async def delivered():
            return [r for r in receiver.received if r.json()["data"]["establishment_id"] == est]

        delivery = (await eventually(delivered, timeout=60))[0]
    finally:
        receiver.close()

    trace_id = delivery.headers["traceparent"].split("-")[1]

    async def services_in_trace():
        spans = [s for s in ops.load_spans(system.trace_dir) if s["trace_id"] == trace_id]
        names = {s["service"] for s in spans}
        return spans if {"inspection", "referral", "notification"} <= names else None

    spans = await eventually(services_in_trace, timeout=30)
    assert ops.find_traces(spans, est) == [trace_id]  # `pathways trace <establishment>` finds it
    assert any(s["name"].startswith("POST /inspections") for s in spans)
