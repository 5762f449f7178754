"""asyncpg pool and plain-SQL migrations, one PostgreSQL schema per service.

Migrations are files ``NNN_description.sql`` in a service's migrations folder,
applied in order at start-up, each in its own transaction, under an advisory
lock so that two replicas starting together do not race. ``{schema}`` in a
file is replaced with the service's schema name.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg

log = logging.getLogger(__name__)

_NAME = re.compile(r"^(\d{3})_[a-z0-9_]+\.sql$")
_RUNTIME_MIGRATIONS = Path(__file__).parent / "migrations"


class PooledConnection(asyncpg.Connection):
    """A pooled connection whose release costs no round trip unless it held session state.

    asyncpg resets every connection given back to its pool with ``CLOSE ALL; UNLISTEN *; RESET ALL;
    SELECT pg_advisory_unlock_all()``: one more round trip per transaction, the most frequent
    statement the system sent (measured with pg_stat_statements: one per BEGIN). Pathways opens no
    cursor outside a transaction and sets no session variable; LISTEN and session advisory locks are
    the only session state it holds, and whoever takes them says so (``add_listener`` does by itself,
    ``holds_session_state()`` for a lock), so only those connections are reset. An open transaction
    and the listener callbacks are always cleared by asyncpg itself.
    """

    _holds_session_state = False

    def holds_session_state(self) -> None:
        """This connection took session state (an advisory lock): reset it fully when released."""
        self._holds_session_state = True

    async def add_listener(self, channel, callback):  # noqa: ANN001 (asyncpg's signature)
        self.holds_session_state()
        await super().add_listener(channel, callback)

    def get_reset_query(self) -> str:
        if not self._holds_session_state:
            return ""
        self._holds_session_state = False
        return super().get_reset_query()


async def create_pool(database_url: str, max_size: int = 10) -> asyncpg.Pool:
    return await asyncpg.create_pool(database_url, min_size=1, max_size=max_size, command_timeout=30,
                                     connection_class=PooledConnection)


@contextlib.asynccontextmanager
async def listening(pool: asyncpg.Pool, channel: str) -> AsyncIterator[tuple[asyncpg.Connection, asyncio.Event]]:
    """A pooled connection LISTENing on ``channel``; the event is set on each NOTIFY.

    The listener is removed before the connection goes back to the pool.
    """
    wake = asyncio.Event()

    def notified(*_: object) -> None:
        wake.set()

    async with pool.acquire() as conn:
        await conn.add_listener(channel, notified)
        try:
            yield conn, wake
        finally:
            await conn.remove_listener(channel, notified)


async def wait_woken(wake: asyncio.Event, seconds: float) -> None:
    """Until ``wake`` is set (a NOTIFY) or ``seconds`` pass; then clear it for the next wake-up.

    ``asyncio.timeout``, not ``wait_for``: on Python 3.11 ``wait_for`` returns instead of raising when its
    task is cancelled as the wake-up arrives, and a loop that lost its cancellation so held up its
    service's stop for ever.
    """
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(seconds):
            await wake.wait()
    wake.clear()


def _migration_files(folder: Path) -> list[tuple[str, Path]]:
    files = []
    for path in sorted(folder.glob("*.sql")):
        if not _NAME.match(path.name):
            raise ValueError(f"migration file {path} must be named NNN_description.sql")
        files.append((path.stem, path))
    return files


async def migrate(pool: asyncpg.Pool, schema: str, folder: Path | None) -> list[str]:
    """Apply the runtime's tables (outbox, inbox) and the service's migrations; return what ran."""
    if not re.fullmatch(r"[a-z_][a-z0-9_]*", schema):
        raise ValueError(f"bad schema name {schema!r}")
    steps = [(f"runtime_{name}", path) for name, path in _migration_files(_RUNTIME_MIGRATIONS)]
    if folder is not None:
        steps += _migration_files(folder)
    applied: list[str] = []
    async with pool.acquire() as conn:
        conn.holds_session_state()
        await conn.execute("select pg_advisory_lock(hashtext($1))", f"migrate:{schema}")
        try:
            await conn.execute(f"create schema if not exists {schema}")
            await conn.execute(
                f"create table if not exists {schema}.schema_migrations"
                " (version text primary key, applied_at timestamptz not null default now())"
            )
            done = {r["version"] for r in await conn.fetch(f"select version from {schema}.schema_migrations")}
            for version, path in steps:
                if version in done:
                    continue
                async with conn.transaction():
                    await conn.execute(path.read_text().replace("{schema}", schema))
                    await conn.execute(f"insert into {schema}.schema_migrations (version) values ($1)", version)
                applied.append(version)
        finally:
            await conn.execute("select pg_advisory_unlock(hashtext($1))", f"migrate:{schema}")
    if applied:
        log.info("migrations applied", extra={"schema": schema, "versions": applied})
    return applied
