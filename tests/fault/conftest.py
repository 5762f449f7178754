"""Fixtures of the fault suite: a system of its own per test, and a webhook receiver."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from pathways_runtime.broker import ensure_topics
from pathways_runtime.embedded import EmbeddedKafka
from pathways_runtime.settings import Settings
from support import WebhookReceiver

from processes import System, fresh_database, system_env


@pytest.fixture
def receiver() -> Iterator[WebhookReceiver]:
    rx = WebhookReceiver()
    yield rx
    rx.close()


@pytest.fixture
async def broker(infrastructure, tmp_path: Path) -> AsyncIterator[EmbeddedKafka]:
    """A broker of the test's own: its topics hold this test's records only."""
    with EmbeddedKafka(log_dir=tmp_path / "logs") as kafka:
        await ensure_topics(Settings(KAFKA_BOOTSTRAP_SERVERS=kafka.bootstrap_servers))
        yield kafka


@pytest.fixture
def service_env() -> dict[str, dict[str, str]]:
    """Extra environment of single services, by name, from their first start: none (a test module may
    override this fixture, e.g. to arm a fail point in one service)."""
    return {}


@pytest.fixture
async def system(infrastructure, broker: EmbeddedKafka, tmp_path: Path,
                 service_env: dict[str, dict[str, str]]) -> AsyncIterator[System]:
    database_url = await fresh_database(infrastructure.database_url, f"fault_{uuid.uuid4().hex[:8]}")
    system = System(system_env(broker.bootstrap_servers, database_url, tmp_path), tmp_path,
                    overrides={name: dict(env) for name, env in service_env.items()})
    system.start_all()
    try:
        yield system
    finally:
        system.stop()
