"""The active subscriptions, in memory, by event type: fan-out reads no table per event (issue 10).

Loaded once, and again when they change: every change commits a NOTIFY that
the service's listener turns into ``invalidate()`` (on every replica), the
process that made the change invalidates at once, and a reload at least every
``max_age_seconds`` covers a notification lost with its connection. A table
a moment stale cannot send to a subscription that was deactivated meanwhile:
recording a delivery checks the subscription is still active, in the same
statement.
"""

from __future__ import annotations

import asyncio
import time
from collections import defaultdict
from collections.abc import Awaitable, Callable

from pathways_notification.domain.model import Subscription

Load = Callable[[], Awaitable[list[Subscription]]]


class SubscriptionTable:
    def __init__(self, load: Load, max_age_seconds: float = 30.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._load = load
        self._max_age = max_age_seconds
        self._clock = clock
        self._by_type: dict[str, list[Subscription]] = {}
        self._loaded_at: float | None = None
        self._changes = 0  # bumped by every invalidate(), so one that comes during a load is not lost
        self._lock = asyncio.Lock()
        self.loads = 0  # how many times the table was read from the database

    def invalidate(self) -> None:
        self._changes += 1
        self._loaded_at = None

    def _fresh(self) -> bool:
        return self._loaded_at is not None and self._clock() - self._loaded_at < self._max_age

    async def for_type(self, event_type: str) -> list[Subscription]:
        if not self._fresh():
            async with self._lock:
                if not self._fresh():
                    await self._reload()
        return self._by_type.get(event_type, [])

    async def _reload(self) -> None:
        started, changes = self._clock(), self._changes
        by_type: dict[str, list[Subscription]] = defaultdict(list)
        for sub in await self._load():
            if sub.active:
                for event_type in sub.event_types:
                    by_type[event_type].append(sub)
        self._by_type = dict(by_type)
        # Changed while loading: what was read may predate the change, so stay stale and read again.
        self._loaded_at = started if changes == self._changes else None
        self.loads += 1
