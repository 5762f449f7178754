"""The security suite attacks the services as processes, over HTTP, as an outsider would."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from pathways_runtime.broker import ensure_topics
from pathways_runtime.embedded import EmbeddedKafka
from pathways_runtime.settings import Settings

from processes import WITH_INSIGHTS, System, fresh_database, system_env


@pytest.fixture(scope="module")
async def broker(infrastructure, tmp_path_factory) -> AsyncIterator[EmbeddedKafka]:
    with EmbeddedKafka(log_dir=tmp_path_factory.mktemp("security-broker")) as kafka:
        await ensure_topics(Settings(KAFKA_BOOTSTRAP_SERVERS=kafka.bootstrap_servers))
        yield kafka


@pytest.fixture(scope="module")
async def system(infrastructure, broker: EmbeddedKafka, tmp_path_factory) -> AsyncIterator[System]:
    state: Path = tmp_path_factory.mktemp("security")
    database_url = await fresh_database(infrastructure.database_url, f"security_{uuid.uuid4().hex[:8]}")
    system = System(system_env(broker.bootstrap_servers, database_url, state), state)
    system.start_all(WITH_INSIGHTS)
    try:
        yield system
    finally:
        system.stop()


@pytest.fixture
def receiver():
    from support import WebhookReceiver

    rx = WebhookReceiver()
    yield rx
    rx.close()
