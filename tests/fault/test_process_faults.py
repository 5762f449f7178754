"""Process faults under load: each service killed (SIGKILL) or stopped (SIGTERM) mid-stream, a replica
joining and leaving (a consumer-group rebalance). One workload, one checker (see checker.py): each test
says what it did to which process, and fails on any acknowledged inspection lost, any effect duplicated,
any per-key order broken."""

from __future__ import annotations

import asyncio

import pytest

from fault.checker import Workload, check, subscribe
from processes import NAMES, System
from support import announce

pytestmark = pytest.mark.fault
GRACE_SECONDS = 20  # what an orchestrator gives a stopping pod before SIGKILL (Kubernetes: 30)


async def _when_acked(workload: Workload, count: int, timeout: float = 60) -> None:
    """Wait until ``count`` inspections were acknowledged (a point mid-stream), with a deadline."""
    async def reached() -> None:
        while len(workload.acked) < count:
            await asyncio.sleep(0.05)

    await asyncio.wait_for(reached(), timeout)


async def _ready_workload(system: System, receiver) -> Workload:
    await subscribe(system.url("notification"), receiver)
    workload = Workload(system.url("inspection"))
    await workload.register()
    return workload


@pytest.mark.parametrize("victim", NAMES)
async def test_a_service_killed_mid_stream_loses_and_duplicates_nothing(system: System, receiver, broker, victim):
    workload = await _ready_workload(system, receiver)

    async def fault() -> None:
        await _when_acked(workload, 30)
        system.kill(victim)  # SIGKILL: whatever it had in hand is interrupted at an arbitrary point
        await asyncio.to_thread(system.restart, victim)

    await workload.run_until_done(during=asyncio.ensure_future(fault()))
    report = await check(broker.bootstrap_servers, workload, receiver)
    announce("SIGKILL %s: %s", victim, report.summary())
    report.assert_clean()


@pytest.mark.parametrize("victim", NAMES)
async def test_a_service_stopped_mid_stream_drains_within_its_grace_period(system: System, receiver, broker,
                                                                             victim):
    workload = await _ready_workload(system, receiver)
    took: list[float] = []

    async def fault() -> None:
        await _when_acked(workload, 30)
        took.append(await asyncio.to_thread(system.terminate, victim, GRACE_SECONDS))
        await asyncio.to_thread(system.restart, victim)

    await workload.run_until_done(during=asyncio.ensure_future(fault()))
    report = await check(broker.bootstrap_servers, workload, receiver)
    announce("SIGTERM %s (exited in %.1fs): %s", victim, took[0], report.summary())
    assert took[0] < GRACE_SECONDS
    report.assert_clean()


async def test_a_replica_joining_and_leaving_mid_stream_rebalances_without_loss(system: System, receiver, broker):
    """A second referral and notification instance join the consumer groups mid-stream and leave again."""
    workload = await _ready_workload(system, receiver)

    async def fault() -> None:
        await _when_acked(workload, 20)
        extras = [await asyncio.to_thread(system.add_instance, name) for name in ("referral", "notification")]
        await _when_acked(workload, 60)
        for extra in extras:
            extra.process.terminate()
            await asyncio.to_thread(extra.process.wait, GRACE_SECONDS)

    await workload.run_until_done(during=asyncio.ensure_future(fault()))
    report = await check(broker.bootstrap_servers, workload, receiver)
    announce("rebalance: %s", report.summary())
    report.assert_clean()
