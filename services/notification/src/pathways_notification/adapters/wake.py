"""LISTEN for the delivery worker's wake-ups on a connection of its own, noticing when it is lost.

A LISTEN connection that dies (the server restarted, the backend was
terminated) does not raise anywhere: it just never delivers another NOTIFY.
``Wake.lost`` says so, so the worker listens again instead of relying on its
poll alone, or on nothing.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

import asyncpg

from collections.abc import Callable

from pathways_notification.adapters.repository import SUBSCRIPTIONS_CHANNEL, WAKE_CHANNEL
from pathways_runtime.db import wait_woken


class Wake:
    def __init__(self, conn: asyncpg.Connection) -> None:
        self._conn = conn
        self._event = asyncio.Event()

    def notified(self, *_: object) -> None:
        self._event.set()

    @property
    def lost(self) -> bool:
        return self._conn.is_closed()

    async def wait(self, timeout: float) -> None:
        """Until a NOTIFY, the connection's loss, or ``timeout`` seconds."""
        await wait_woken(self._event, timeout)


@contextlib.asynccontextmanager
async def listening(pool: asyncpg.Pool, subscriptions_changed: Callable[[], None] = lambda: None,
                    ) -> AsyncIterator[Wake]:
    """LISTEN for deliveries to send and for subscription changes (``subscriptions_changed`` is called)."""
    conn = await pool.acquire()
    wake = Wake(conn)

    def changed(*_: object) -> None:
        subscriptions_changed()

    try:
        await conn.add_listener(WAKE_CHANNEL, wake.notified)
        await conn.add_listener(SUBSCRIPTIONS_CHANNEL, changed)
        conn.add_termination_listener(wake.notified)  # wake the worker at once when the connection dies
        subscriptions_changed()  # what changed while nobody listened (a new or a re-established connection)
        yield wake
    finally:
        with contextlib.suppress(Exception):  # a dead connection cannot unlisten; the pool replaces it
            if not conn.is_closed():
                await conn.remove_listener(WAKE_CHANNEL, wake.notified)
                await conn.remove_listener(SUBSCRIPTIONS_CHANNEL, changed)
            conn.remove_termination_listener(wake.notified)
        await pool.release(conn)
