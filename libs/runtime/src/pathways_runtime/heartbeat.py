"""Heartbeats: whether each long-running loop of a service is still making progress.

A process can answer HTTP while the loop that does its real work is stuck (waiting forever on a
connection PostgreSQL dropped) or dead (an exception ended its task). ``/readyz`` asks the
service's ``Heartbeats`` which loops are overdue and answers 503 naming them, so an orchestrator
restarts the process instead of leaving deliveries pending for hours.

How a loop takes part (the relay, each consumer, each background task)::

    beat = service.heartbeats.loop("delivery-worker", within=60)  # expected at least every 60 s
    while True:
        beat()                     # each turn, also an idle one (a poll that found nothing)
        await do_one_round()       # a turn that can block must time out within ``within``

``service.heartbeat(name)`` beats a loop by name (registering it with the default interval,
``PATHWAYS_HEARTBEAT_SECONDS``, the first time). A background task registered with
``@service.background(heartbeat_seconds=...)`` is expected to beat under its function's name;
any background task or the relay that ends with an error is reported as stopped until it is
restarted. Beat on progress the loop *should* make, not on success: a relay retrying against a
broker that is down still beats (the outbox keeps accepting work; that is not a reason to restart).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass


@dataclass
class _Loop:
    within: float
    last: float
    stopped: str | None = None


class Heartbeats:
    def __init__(self, default_within: float = 60.0, clock: Callable[[], float] = time.monotonic) -> None:
        self.default_within = default_within
        self._clock = clock
        self._loops: dict[str, _Loop] = {}

    def expect(self, name: str, within: float | None = None) -> None:
        """From now on, loop ``name`` must beat at least every ``within`` seconds (the first one included)."""
        self._loops[name] = _Loop(within if within is not None else self.default_within, self._clock())

    def loop(self, name: str, within: float | None = None) -> Callable[[], None]:
        """Expect loop ``name`` and return its beat function."""
        self.expect(name, within)
        return lambda: self.beat(name)

    def beat(self, name: str) -> None:
        loop = self._loops.get(name)
        if loop is None:
            self.expect(name)
        else:
            loop.last, loop.stopped = self._clock(), None

    def stopped(self, name: str, reason: str) -> None:
        """The loop's task ended by an error: overdue at once, until it beats again (a restart)."""
        loop = self._loops.setdefault(name, _Loop(self.default_within, self._clock()))
        loop.stopped = reason

    def forget(self, name: str) -> None:
        """The loop finished its work on purpose: nothing more is expected of it."""
        self._loops.pop(name, None)

    def overdue(self) -> dict[str, str]:
        """Each loop that stopped or has not beaten within its interval, with why."""
        now = self._clock()
        late: dict[str, str] = {}
        for name, loop in self._loops.items():
            if loop.stopped is not None:
                late[name] = f"stopped: {loop.stopped}"
            elif (silent := now - loop.last) > loop.within:
                late[name] = f"no heartbeat for {silent:.0f} s (expected every {loop.within:g} s)"
        return late

    def __contains__(self, name: str) -> bool:
        return name in self._loops
