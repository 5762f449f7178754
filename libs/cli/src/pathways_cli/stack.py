"""`pathways run`: the embedded PostgreSQL and broker, the topics, and the services.

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
from pathways_runtime.settings import Settings, installation_secret, new_field_key, new_jwt_secret
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
        ServiceProcess("insights", "pathways_insights", int(env.get("INSIGHTS_PORT", 8005))),
    ]


def console(env: Mapping[str, str] = os.environ) -> ServiceProcess:
    """The ops console (its own process, reading the three services over HTTP)."""
    return ServiceProcess("ops", "pathways_ops", int(env.get("OPS_PORT", 8004)))


def console_env(env: Mapping[str, str], started: list[tuple[ServiceProcess, subprocess.Popen]]) -> dict[str, str]:
    """``env`` plus where the console finds each service it watches."""
    return dict(env) | {f"PATHWAYS_{svc.name.upper()}_URL": svc.url for svc, _ in started}


DEV_IDENTITIES = {
    "INSPECTOR_TOKEN": (Role.INSPECTOR, "health-department"),
    "LABOR_INSPECTOR_TOKEN": (Role.INSPECTOR, "labor-standards"),
    "TRIAGE_TOKEN": (Role.TRIAGE, "mdt"),
    "AGENCY_TOKEN": (Role.AGENCY, "victim-services"),
    "DEPARTMENT_TOKEN": (Role.DEPARTMENT, "health-department"),
    "POLICE_TOKEN": (Role.DEPARTMENT, "police-department"),
    "OPS_TOKEN": (Role.OPS, "ops"),
    "RESEARCHER_TOKEN": (Role.RESEARCHER, "state-task-force"),
}


def token_for(secret: str, role: Role, org: str, *, subject: str | None = None, ttl_seconds: int = 12 * 3600) -> str:
    """A bearer token for any role and organisation (e.g. an agency id of the directory)."""
    return issue_token(secret, subject=subject or f"dev-{org}", role=role, org=org, ttl_seconds=ttl_seconds)


def dev_tokens(secret: str) -> dict[str, str]:
    return {name: token_for(secret, role, org) for name, (role, org) in DEV_IDENTITIES.items()}


def signing_secret(settings: Settings | None = None) -> str:
    """``PATHWAYS_JWT_SECRET`` when set, else this installation's generated secret (``.pathways/jwt.secret``).

    The services of ``pathways run`` are given the same value, so tokens printed here work against them.
    """
    settings = settings or Settings()
    if settings.jwt_secret and settings.jwt_secret.get_secret_value():
        return settings.jwt_secret.get_secret_value()
    return installation_secret(settings.state_dir, "jwt.secret", new_jwt_secret)


def service_secrets(settings: Settings, environ: Mapping[str, str] = os.environ) -> dict[str, str]:
    """The secrets the services of ``pathways run`` need: the operator's, else this installation's own.

    Generated at random on first run and kept under the state folder (mode 0600), so no constant of the
    source code signs a token or seals a person's details, and restarts keep what was sealed readable.
    """
    return {
        "PATHWAYS_JWT_SECRET": signing_secret(settings),
        "PATHWAYS_FIELD_KEY": environ.get("PATHWAYS_FIELD_KEY")
        or installation_secret(settings.state_dir, "field.key", new_field_key),
    }


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


def start_services(env: dict[str, str], state_dir: Path, which: list[ServiceProcess] | None = None,
                   ) -> list[tuple[ServiceProcess, subprocess.Popen]]:
    (state_dir / "logs").mkdir(parents=True, exist_ok=True)
    started = []
    for svc in services(env) if which is None else which:
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
