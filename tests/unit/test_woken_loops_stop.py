"""A loop that sleeps until woken must stop when cancelled, even when the wake-up comes at the same moment.

On Python 3.11 ``asyncio.wait_for`` returns the awaited result instead of raising when the outer task is
cancelled just as the inner wait completes: the cancellation is lost. A relay (or the delivery worker)
that slept that way kept running after the service began to stop, so stopping waited for it forever (the
fault suite saw notification outlive its 20 s SIGTERM grace while deliveries were being recorded, each
record waking its relay). Both now sleep with ``db.wait_woken``; each is cancelled here exactly as
the wake-up arrives.
"""

from __future__ import annotations

import asyncio

import pytest

from pathways_notification.adapters.wake import Wake
from pathways_runtime.db import wait_woken

pytestmark = pytest.mark.unit


async def _cancelled_as_woken(sleep, wake: asyncio.Event) -> bool:
    """Whether ``sleep()`` ends cancelled when the wake-up and the cancellation come in the same instant."""
    task = asyncio.create_task(sleep())
    for _ in range(3):  # the sleep is now waiting on the event
        await asyncio.sleep(0)
    wake.set()
    task.cancel()
    try:
        await asyncio.wait_for(task, 1)
    except asyncio.CancelledError:
        return True
    return False


async def test_the_wake_up_sleep_of_the_outbox_relay_honours_a_cancellation_that_comes_with_a_wake_up():
    wake = asyncio.Event()  # the relay sleeps with db.wait_woken on the event db.listening sets
    assert await _cancelled_as_woken(lambda: wait_woken(wake, 30), wake)


async def test_the_delivery_worker_wait_honours_a_cancellation_that_comes_with_a_notify():
    wake = Wake(conn=None)  # type: ignore[arg-type] (wait only uses the event)
    assert await _cancelled_as_woken(lambda: wake.wait(30), wake._event)
