"""`pathways run`: the embedded PostgreSQL and broker, the topics, and the three services.

Each service runs as its own process, exactly as it would in production; only
the broker (Tansu, or Apache Kafka with ``--broker kafka``) and the database are embedded. Setting ``KAFKA_BOOTSTRAP_SERVERS``
or ``DATABASE_URL`` uses that Kafka or PostgreSQL instead of starting one.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

import httpx

from pathways_runtime.auth import Role, issue_token
from pathways_runtime.broker import ensure_topics, wait_for_kafka
from pathways_contracts import TOPICS
from pathways_runtime.settings import Settings
from pathways_runtime.topic_config import find_topics_file, load_topics


@dataclass(frozen=True)
class ServiceProcess:
    name: str
    module: str
    port: int

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


def services(env: Mapping[str, str] = os.environ) -> list[ServiceProcess]:
    return [
        ServiceProcess("inspection", "pathways_inspection", int(env.get("INSPECTION_PORT", 8001))),
        ServiceProcess("referral", "pathways_referral", int(env.get("REFERRAL_PORT", 8002))),
        ServiceProcess("notification", "pathways_notification", int(env.get("NOTIFICATION_PORT", 8003))),
    ]


DEV_IDENTITIES = {
    "INSPECTOR_TOKEN": (Role.INSPECTOR, "health-department"),
    "LABOR_INSPECTOR_TOKEN": (Role.INSPECTOR, "labor-standards"),
    "TRIAGE_TOKEN": (Role.TRIAGE, "mdt"),
    "AGENCY_TOKEN": (Role.AGENCY, "victim-services"),
    "DEPARTMENT_TOKEN": (Role.DEPARTMENT, "health-department"),
    "OPS_TOKEN": (Role.OPS, "ops"),
}


def dev_tokens(secret: str) -> dict[str, str]:
    return {name: issue_token(secret, subject=f"dev-{org}", role=role, org=org)
            for name, (role, org) in DEV_IDENTITIES.items()}


@contextlib.contextmanager
def embedded_infrastructure(state_dir: Path, settings: Settings, broker_kind: str = "tansu",
                            ) -> Iterator[tuple[str, str]]:
    """Yield (kafka bootstrap, database url): the configured ones, or embedded ones started here.

    ``broker_kind`` is ``tansu`` (topics in memory) or ``kafka`` (Apache Kafka, its log kept in
    ``state_dir/kafka`` so topics and events survive a restart).
    """
    from pathways_runtime.embedded import EmbeddedPostgres, embedded_broker

    with contextlib.ExitStack() as stack:
        kafka = os.environ.get("KAFKA_BOOTSTRAP_SERVERS")
        if not kafka:
            host, port = settings.kafka_bootstrap_servers.split(":")
            broker = stack.enter_context(embedded_broker(broker_kind, host=host, port=int(port),
                                                         log_dir=state_dir / "logs", data_dir=state_dir / "kafka"))
            kafka = broker.bootstrap_servers
        database = os.environ.get("DATABASE_URL")
        if not database:
            pg = stack.enter_context(EmbeddedPostgres(state_dir / "pg", port=int(os.environ.get("PG_PORT", 5432)),
                                                      log_dir=state_dir / "logs"))
            database = pg.url
        yield kafka, database


def prepare_topics(kafka: str, replication: int | None = 1, topics_file: Path | None = None) -> list[str]:
    """Create the missing topics as ``deploy/kafka/topics.yaml`` defines them (the contracts' list when
    no such file is at hand), with ``replication`` replacing the file's replication factor if given."""
    settings = Settings(KAFKA_BOOTSTRAP_SERVERS=kafka)
    topics_file = topics_file or find_topics_file()
    definitions = load_topics(topics_file) if topics_file else TOPICS

    async def go() -> list[str]:
        await wait_for_kafka(settings)
        return await ensure_topics(settings, definitions, replication=replication)

    return asyncio.run(go())


def start_services(env: dict[str, str], state_dir: Path) -> list[tuple[ServiceProcess, subprocess.Popen]]:
    (state_dir / "logs").mkdir(parents=True, exist_ok=True)
    started = []
    for svc in services(env):
        log = (state_dir / "logs" / f"{svc.name}.log").open("ab")
        proc = subprocess.Popen(
            [sys.executable, "-m", svc.module],
            env=env | {"PORT": str(svc.port), "OTEL_SERVICE_NAME": svc.name},
            stdout=log, stderr=subprocess.STDOUT,
        )
        started.append((svc, proc))
    return started


def wait_ready(started: list[tuple[ServiceProcess, subprocess.Popen]], timeout: float = 90) -> None:
    """Poll each service's /readyz until it answers 200, with a deadline."""
    deadline = time.monotonic() + timeout
    pending = {svc.name: (svc, proc) for svc, proc in started}
    while pending:
        for name, (svc, proc) in list(pending.items()):
            if proc.poll() is not None:
                raise RuntimeError(f"the {name} service exited with {proc.returncode}; see .pathways/logs/{name}.log")
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{svc.url}/readyz", timeout=2).status_code == 200:
                    del pending[name]
        if pending and time.monotonic() > deadline:
            raise TimeoutError(f"not ready after {timeout:.0f}s: {', '.join(pending)}")
        time.sleep(0.3)


def stop_services(started: list[tuple[ServiceProcess, subprocess.Popen]], timeout: float = 15) -> None:
    for _, proc in started:
        if proc.poll() is None:
            proc.terminate()
    deadline = time.monotonic() + timeout
    for _, proc in started:
        try:
            proc.wait(max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            proc.kill()
