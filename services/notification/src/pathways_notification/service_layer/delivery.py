"""The delivery worker: sends pending deliveries, one lane per subscription, and recovers by itself.

Deliveries are written by the consumer in its transaction (so no event is
lost); sending happens here, outside any Kafka partition or transaction, so
one slow or dead receiver never delays another.

A lane works in batches, because one delivery at a time capped a
subscription at one delivery per round trip to its receiver plus two
transactions, however fast the receiver: a lane takes up to
``delivery_batch_size`` due deliveries in one query, sends them at once, and
records every attempt and outcome in one transaction. Order is what a
receiver can rely on per subject (an establishment, a case: the key that
keeps its events in order on the bus), so a batch holds at most the oldest
pending delivery of each subject: a subject's deliveries still go out in
creation order, and a failing one holds back the later ones of its own
subject until it succeeds or is parked, but not the other subjects of the
subscription (one broken case no longer stalls a department's whole feed).

The loop is woken by NOTIFY and polls as a fallback. When the database goes
away (a restart, a terminated backend) every step fails; the loop then waits
with the runtime's backoff and starts again on fresh connections, LISTEN
included, so deliveries resume without a restart of the process. Each
completed pass beats the service's heartbeat for the worker: ``/readyz``
names it overdue when none came for longer than the service allows.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager

from pathways_notification.adapters.wake import Wake
from pathways_notification.domain.outcome import Outcome
from pathways_notification.service_layer import handlers
from pathways_notification.service_layer.commands import DeliverBatch
from pathways_notification.service_layer.unit_of_work import NotificationUnitOfWork
from pathways_notification.settings import NotificationSettings
from pathways_runtime.backoff import Backoff

log = logging.getLogger(__name__)
# Between two tries to reach a database that went away: quick at first, never more than 10 seconds.
RECONNECT = Backoff(base=0.2, cap=10.0)


class DeliveryWorker:
    def __init__(self, uow: Callable[[], NotificationUnitOfWork],
                 listen: Callable[[], AbstractAsyncContextManager[Wake]], settings: NotificationSettings,
                 beat: Callable[[], None] = lambda: None, clock: Callable[[], float] = time.monotonic) -> None:
        self._uow = uow
        self._beat = beat
        self._listen = listen
        self._settings = settings
        self._clock = clock
        self._lanes: dict[uuid.UUID, asyncio.Task] = {}
        self.last_pass: float | None = None  # when the last pass over due deliveries completed

    def retries(self) -> handlers.Retries:
        """Read on every decision, so settings changed on the running service apply at once."""
        s = self._settings
        return handlers.Retries(s.delivery_max_attempts, Backoff(s.delivery_base_seconds, s.delivery_cap_seconds))

    async def run(self, send: handlers.Send) -> None:
        failures = 0
        while True:
            try:
                async with self._listen() as wake:
                    while not wake.lost:
                        await self._start_lanes(send)
                        self.last_pass, failures = self._clock(), 0
                        self._beat()
                        await wake.wait(self._settings.delivery_poll_seconds)
                    log.warning("delivery worker: the LISTEN connection was lost; listening again")
            except asyncio.CancelledError:
                raise
            except Exception:  # noqa: BLE001 (the database went away: wait, then start over on fresh connections)
                failures += 1
                log.warning("delivery worker: database unavailable; retrying", exc_info=True,
                            extra={"failures": failures})
                await asyncio.sleep(RECONNECT.delay(failures))

    async def _start_lanes(self, send: handlers.Send) -> None:
        uow = self._uow()
        async with uow:
            due = await uow.deliveries.due_lanes()
        for sub in due:
            if sub not in self._lanes or self._lanes[sub].done():
                self._lanes[sub] = asyncio.create_task(self._drain_lane(sub, send))

    async def _drain_lane(self, subscription_id: uuid.UUID, send: handlers.Send) -> None:
        try:
            # Keep going while a batch delivers (or cancels) something; a batch of retries and parks ends
            # the lane for now.
            while True:
                cmd = DeliverBatch(subscription_id=subscription_id, limit=self._settings.delivery_batch_size)
                outcomes = await handlers.deliver_batch(cmd, self._uow(), send, self.retries())
                if not {Outcome.DELIVERED, Outcome.CANCELLED} & set(outcomes):
                    return
        except Exception:  # a lane must never die silently: the next pass starts it again
            log.exception("delivery lane failed", extra={"subscription_id": str(subscription_id)})

    async def stop(self) -> None:
        for task in self._lanes.values():
            task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.gather(*self._lanes.values(), return_exceptions=True)
