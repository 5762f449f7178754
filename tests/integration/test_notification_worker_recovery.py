"""Issue 14 item 1: deliveries stalled after a PostgreSQL restart until the process was restarted by hand.

The delivery worker runs here against a PostgreSQL of its own (so restarting it
disturbs no other service of the session), sending to a real HTTP receiver. The
server is restarted (fast shutdown, started again) and its backends are
terminated from another connection; deliveries must resume by themselves.
The poll fallback is made longer than the test's deadline, so only a LISTEN
that was re-established can wake the worker.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import tempfile
import uuid
from datetime import UTC, datetime
from pathlib import Path

import asyncpg
import pytest

from pathways_notification.adapters import wake
from pathways_notification.adapters.repository import SubscriptionRepository
from pathways_notification.adapters.senders import ChannelSender
from pathways_notification.bootstrap import bootstrap
from pathways_notification.domain.destinations import AddressPolicy
from pathways_notification.service_layer import handlers
from pathways_notification.service_layer.commands import FanOut, Subscribe
from pathways_notification.service_layer.delivery import DeliveryWorker
from pathways_notification.service_layer.subscription_table import SubscriptionTable
from pathways_notification.service_layer.unit_of_work import NotificationUnitOfWork
from pathways_notification.settings import NotificationSettings
from pathways_runtime import db
from pathways_runtime.auth import Role
from pathways_runtime.embedded import EmbeddedPostgres
from support import eventually

pytestmark = pytest.mark.integration
MIGRATIONS = Path(bootstrap.__code__.co_filename).parent / "migrations"


@pytest.fixture
def own_postgres(tmp_path):
    with tempfile.TemporaryDirectory(prefix="pathways-tests-pg-") as data:
        pg = EmbeddedPostgres(Path(data) / "pg", log_dir=tmp_path / "logs").start()
        try:
            yield pg
        finally:
            pg.stop()


def fast_restart(pg: EmbeddedPostgres) -> None:
    """Fast shutdown (SIGINT: sessions are cut, as an operator's restart does), then start again."""
    pg._process.send_signal(signal.SIGINT)  # noqa: SLF001 (EmbeddedPostgres.stop is a smart shutdown)
    pg._process.wait(30)  # noqa: SLF001
    pg.start()


def red_flag(jurisdiction: str) -> FanOut:
    return FanOut(event_id=str(uuid.uuid4()), event_type="redflag.raised", subject="est-1",
                  source="/tests/inspection", time=datetime.now(UTC),
                  data={"red_flag_id": str(uuid.uuid4()), "establishment_id": "est-1", "jurisdiction": jurisdiction,
                        "level": "urgent", "categories": ["sex"]})


async def until_it_works(step):
    """Run ``step`` until the database answers again (the test's own calls see the outage too)."""
    async def attempt():
        try:
            return await step() or True
        except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError):
            return None

    return await eventually(attempt, timeout=60)


async def test_deliveries_resume_by_themselves_after_postgresql_restarts(own_postgres, receiver):
    settings = NotificationSettings(delivery_poll_seconds=3600, delivery_stall_seconds=3600,
                                    delivery_base_seconds=0.05, delivery_cap_seconds=0.2)
    pool = await db.create_pool(own_postgres.url, 4)
    await db.migrate(pool, "notification", MIGRATIONS)

    def uow() -> NotificationUnitOfWork:
        return NotificationUnitOfWork(pool, schema="notification", source="/pathways/notification")

    table = SubscriptionTable(lambda: SubscriptionRepository(pool).all_active())
    worker = DeliveryWorker(uow, lambda: wake.listening(pool, table.invalidate), settings)
    policy = AddressPolicy.from_settings(["127.0.0.0/8"], [])

    async def allowed(url: str) -> None:
        return None

    # The sender as the service builds it (one aiohttp session per subscription), closed when done.
    sender = ChannelSender(settings, lambda: policy)
    running = asyncio.create_task(worker.run(sender))
    try:
        await handlers.subscribe(Subscribe.model_validate({
            "event_types": ["redflag.raised"], "url": receiver.url, "department": "city-police",
            "role": "police", "caller_role": Role.OPS, "caller_org": "ops"}), uow(), allowed)
        await handlers.fan_out(red_flag("before"), uow(), table)
        await eventually(lambda: _count(receiver, 1))

        await asyncio.to_thread(fast_restart, own_postgres)
        await until_it_works(lambda: handlers.fan_out(red_flag("after-restart"), uow(), table))
        await eventually(lambda: _count(receiver, 2), timeout=60)

        # And a LISTEN backend terminated from another connection (what an operator's kill looks like).
        admin = await asyncpg.connect(own_postgres.url)
        try:
            killed = await admin.fetchval(
                "select count(pg_terminate_backend(pid)) from pg_stat_activity"
                " where datname = current_database() and pid <> pg_backend_pid()"
                " and query ilike 'listen%'")
            assert killed >= 1
        finally:
            await admin.close()
        await until_it_works(lambda: handlers.fan_out(red_flag("after-kill"), uow(), table))
        await eventually(lambda: _count(receiver, 3), timeout=60)

        assert [d.json()["data"]["jurisdiction"] for d in receiver.received] == [
            "before", "after-restart", "after-kill"]
        assert not running.done() and worker.last_pass is not None
    finally:
        running.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await running
        await worker.stop()
        await sender.aclose()
        await pool.close()


async def _count(receiver, n: int) -> bool:
    return len(receiver.received) >= n
