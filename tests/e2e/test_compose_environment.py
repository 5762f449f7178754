"""The three services as processes with the environment docker-compose.yml gives them, on a
SASL/SCRAM Apache Kafka broker enforcing deploy/kafka/acls.yaml: each runs as its own principal,
and an inspection still reaches a department's webhook. ``make test-kafka`` only.

Only what names a place or a secret is replaced (the brokers' and PostgreSQL's addresses, the
passwords, the keys); the principals, the SASL mechanism and protocol are the compose file's.
"""

from __future__ import annotations

import base64
import os
import secrets
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import yaml

from pathways_cli import stack
from pathways_cli.kafka_admin import apply_acls
from pathways_runtime.acl_config import load_acls
from pathways_runtime.auth import Role
from pathways_runtime.broker import ensure_topics
from pathways_runtime.embedded import EmbeddedApacheKafka, free_port
from pathways_runtime.settings import Settings
from pathways_runtime.topic_config import load_topics

from processes import fresh_database
from support import TEST_JWT_SECRET, WebhookReceiver, bearer, eventually, only_on_apache_kafka

pytestmark = [pytest.mark.e2e, only_on_apache_kafka]
ROOT = Path(__file__).resolve().parents[2]
COMPOSE = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
ACLS = load_acls(ROOT / "deploy" / "kafka" / "acls.yaml")
SERVICES = ("inspection", "referral", "notification")


def compose_environment(service: str, *, kafka: str, database_url: str, password: str) -> dict[str, str]:
    env = {k: str(v) for k, v in COMPOSE["services"][service]["environment"].items()}
    places_and_secrets = {
        "KAFKA_BOOTSTRAP_SERVERS": kafka, "DATABASE_URL": database_url, "KAFKA_SASL_PASSWORD": password,
        "PATHWAYS_JWT_SECRET": TEST_JWT_SECRET,
        "PATHWAYS_FIELD_KEY": base64.b64encode(secrets.token_bytes(32)).decode(),
    }
    assert places_and_secrets.keys() <= env.keys()
    env |= places_and_secrets
    env.pop("OTEL_EXPORTER_OTLP_ENDPOINT", None)  # spans to the trace folder instead of a collector
    env.pop("SMTP_HOST", None)
    return env


@pytest.fixture(scope="module")
async def composed(infrastructure, tmp_path_factory) -> Iterator[dict[str, str]]:
    state = tmp_path_factory.mktemp("compose-env")
    users = {user: secrets.token_urlsafe(16) for user in ACLS.principals}
    with EmbeddedApacheKafka(data_dir=state / "kafka", log_dir=state / "logs", scram_users=users,
                             super_users=ACLS.super_users) as broker:
        admin = Settings(KAFKA_BOOTSTRAP_SERVERS=broker.bootstrap_servers, KAFKA_SECURITY_PROTOCOL="SASL_PLAINTEXT",
                         KAFKA_SASL_MECHANISM="SCRAM-SHA-512", KAFKA_SASL_USERNAME="admin",
                         KAFKA_SASL_PASSWORD=users["admin"])
        await ensure_topics(admin, load_topics(ROOT / "deploy" / "kafka" / "topics.yaml"), replication=1)
        apply_acls(admin, ACLS)
        database_url = await fresh_database(infrastructure.database_url, "pathways_compose_env")
        started = []
        for name in SERVICES:
            svc = stack.ServiceProcess(name, f"pathways_{name}", free_port())
            env = dict(os.environ) | compose_environment(name, kafka=broker.bootstrap_servers,
                                                         database_url=database_url, password=users[name])
            env |= {"PORT": str(svc.port), "PATHWAYS_TRACE_DIR": str(state / "traces")}
            log = (state / "logs" / f"{name}.log").open("ab")
            started.append((svc, subprocess.Popen([sys.executable, "-m", svc.module], env=env, stdout=log,
                                                  stderr=subprocess.STDOUT)))
        try:
            stack.wait_ready(started, timeout=120)
            yield {svc.name: svc.url for svc, _ in started}
        finally:
            stack.stop_services(started)


async def test_each_service_runs_as_its_compose_principal_and_an_inspection_reaches_a_webhook(composed):
    for name in SERVICES:
        assert COMPOSE["services"][name]["environment"]["KAFKA_SASL_USERNAME"] == name
    inspector, labor = bearer(Role.INSPECTOR, "health-department"), bearer(Role.INSPECTOR, "labor-standards")
    receiver = WebhookReceiver()
    est = f"est-{uuid.uuid4().hex[:8]}"
    try:
        async with httpx.AsyncClient(timeout=10) as http:
            sub = await http.post(f"{composed['notification']}/subscriptions",
                                  headers=bearer(Role.DEPARTMENT, "labor-standards"),
                                  json={"department": "labor-standards", "role": "labor",
                                        "event_types": ["case.opened"], "url": receiver.url + "/pathways"})
            assert sub.status_code == 201, sub.text
            registered = await http.post(f"{composed['inspection']}/establishments", headers=inspector, json={
                "id": est, "license_number": f"LIC-{est}", "name": "Harbor Nail Salon", "license_type": "food",
                "license_status": "active", "area": "Ward 5", "jurisdiction": "metro-county"})
            assert registered.status_code == 201, registered.text
            for token, program, code in ((inspector, "food_establishment", "VUL-LIVING-ON-SITE"),
                                         (labor, "labor_standards_site_visit", "LAB-WAGE-THEFT")):
                recorded = await http.post(f"{composed['inspection']}/inspections", headers=token, json={
                    "establishment_id": est, "program": program, "reason": "routine",
                    "inspected_on": "2026-11-03", "result": "conditional", "indicator_codes": [code]})
                assert recorded.status_code == 201, recorded.text

        async def delivered():
            return [r for r in receiver.received if r.json()["data"]["establishment_id"] == est]

        # inspection (redflag.raised) → referral (case.opened) → notification (webhook), each as itself
        assert await eventually(delivered, timeout=90)
    finally:
        receiver.close()
