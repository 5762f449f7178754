"""Crashes at an exact point (issue 15): a service started with ``PATHWAYS_FAIL_POINT`` SIGKILLs itself mid-stream

- at ``consumer.after_commit``: a consumed batch's transaction committed, its offsets not; the restarted service
  reads the batch again and its inbox must skip every event of it;
- at ``relay.after_publish``: the broker acknowledged an outbox batch, its rows are not yet deleted; the
  restarted relay publishes the batch again and the consumers' inboxes must absorb the copies.

Each service that consumes (inspection: ``inspection.submitted``, which the workload sends for some
establishments; referral; notification) is crashed at the first, each service with an outbox relay at the
second. The test proves the process died by SIGKILL at that point (exit -9, the fail point's line in the marker
file and in the crashed process's stderr, and the redelivery or republication seen after the restart),
restarts it without the fail point, and the checker must find nothing lost, nothing duplicated, order kept.
"""

from __future__ import annotations

import asyncio
import subprocess
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import pytest

from fault.checker import Workload, check, subscribe
from pathways_runtime.failpoints import CONSUMER_AFTER_COMMIT, MARKER, RELAY_AFTER_PUBLISH
from processes import System
from support import announce, read_all

pytestmark = pytest.mark.fault
# What each service publishes through its relay (the workload's part of it): the republished batch is here.
PUBLISHED = {
    "inspection": ("inspection.completed", "redflag.raised", "redflag.escalated", "inspection.scheduled"),
    "referral": ("case.opened", "referral.created"),
    "notification": ("notification.delivered", "notification.failed"),
}


@dataclass(frozen=True)
class FailPointCase:
    victim: str
    point: str
    hit: int  # late enough to be mid-stream, early enough that the workload is still running

    def __str__(self) -> str:
        return f"{self.victim}-{self.point}"


CASES = [  # the hit counts events through the point (not batches, which depend on timing): a place mid-stream
    FailPointCase("inspection", CONSUMER_AFTER_COMMIT, 6),  # of 24 inspection.submitted
    FailPointCase("referral", CONSUMER_AFTER_COMMIT, 2),  # of the red flags of 6 establishments
    FailPointCase("notification", CONSUMER_AFTER_COMMIT, 30),  # of ~100 subscribed events
    FailPointCase("inspection", RELAY_AFTER_PUBLISH, 40),  # of ~110 events published
    FailPointCase("referral", RELAY_AFTER_PUBLISH, 4),  # of the cases and referrals
    FailPointCase("notification", RELAY_AFTER_PUBLISH, 30),  # of ~100 notification.delivered
]


@pytest.fixture(params=CASES, ids=str)
def case(request) -> FailPointCase:
    return request.param


@pytest.fixture
def marker(tmp_path: Path) -> Path:
    return tmp_path / "fail-point.marker"


@pytest.fixture
def service_env(case: FailPointCase, marker: Path) -> dict[str, dict[str, str]]:
    """The victim starts armed (overrides conftest's fixture: the system fixture starts it so)."""
    return {case.victim: {"PATHWAYS_FAIL_POINT": f"{case.point}:{case.hit}",
                          "PATHWAYS_FAIL_POINT_MARKER": str(marker)}}


async def _exit_code(process: subprocess.Popen, timeout: float) -> int:
    """Wait (polling, with a deadline) until ``process`` exits; its return code."""
    deadline = time.monotonic() + timeout
    while process.poll() is None:
        if time.monotonic() > deadline:
            raise TimeoutError(f"the fail point was not reached within {timeout:.0f}s")
        await asyncio.sleep(0.05)
    return process.returncode


async def _republished(kafka: str, topics: tuple[str, ...]) -> int:
    """Records on ``topics`` carrying an event id seen before: the same event published again."""
    ids = Counter()
    for topic in topics:
        ids.update(record.headers["ce_id"] for record in await read_all(kafka, topic, timeout=30))
    return sum(n - 1 for n in ids.values())


async def test_a_service_crashed_at_a_fail_point_loses_and_duplicates_nothing(system: System, receiver, broker,
                                                                              case: FailPointCase, marker: Path):
    await subscribe(system.url("notification"), receiver)
    workload = Workload(system.url("inspection"), kafka=broker.bootstrap_servers)
    await workload.register()
    armed = system.instances[case.victim].process
    crashed: dict[str, int] = {}

    async def fault() -> None:
        crashed["exit"] = await _exit_code(armed, timeout=120)
        crashed["acked"], crashed["delivered"] = len(workload.acked), len(receiver.received)
        await asyncio.to_thread(system.restart, case.victim, {})  # without the fail point

    started = time.monotonic()
    await workload.run_until_done(during=asyncio.ensure_future(fault()))
    report = await check(broker.bootstrap_servers, workload, receiver)

    # What a crash there leaves, seen after the restart: the batch read again (each event of it skipped by the
    # inbox), or published again (absorbed by the consumers' inboxes: the checker counts no duplicate).
    if case.point == CONSUMER_AFTER_COMMIT:
        again = system.log(case.victim, ".restarted").count('"duplicate event skipped"')
        proof = f"{again} redelivered events skipped by its inbox"
    else:
        again = await _republished(broker.bootstrap_servers, PUBLISHED[case.victim])
        proof = f"{again} events published again"
    planned = workload.establishments * workload.per_key
    announce("fail point %s:%d in %s (exit %s with %d of %d acknowledged, %d delivered; %s; %.0fs): %s",
             case.point, case.hit, case.victim, crashed["exit"], crashed["acked"], planned, crashed["delivered"],
             proof, time.monotonic() - started, report.summary())

    # It died by SIGKILL, at that point, on that hit, once, mid-stream; and was restarted without it.
    start, end = f"{MARKER} {case.point} reached (", f" events, at least {case.hit}): SIGKILL {case.victim} pid {armed.pid}"
    assert crashed["exit"] == -9, f"{case.victim} exited with {crashed['exit']}, not by SIGKILL"
    [line] = marker.read_text().splitlines()
    assert line.startswith(start) and line.endswith(end), line
    assert line in system.log(case.victim)
    assert MARKER not in system.log(case.victim, ".restarted")
    assert crashed["acked"] > 0 and (crashed["acked"] < planned or crashed["delivered"] < planned), (
        f"not mid-stream: {crashed['acked']} of {planned} acknowledged, {crashed['delivered']} delivered")
    assert again > 0, f"no sign of the crashed batch after the restart ({proof})"
    report.assert_clean()
