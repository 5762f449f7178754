"""The end-to-end bench's sustain rule and ladder: which steps count as sustained, and when climbing stops."""

from __future__ import annotations

import pytest

from pathways_cli.bench_e2e import Skipped, Step, climb, highest_sustained, judge, summary

pytestmark = pytest.mark.unit


def a_step(rate: float = 100.0, **changes) -> Step:
    step = Step(rate=rate, seconds=10, subscriptions=1, offered=int(rate * 10), acknowledged=int(rate * 10),
                expected_deliveries=int(rate * 10), delivered=int(rate * 10), offered_per_second=rate,
                delivered_per_second=rate, webhook_p99_halves_ms=[80.0, 90.0])
    for name, value in changes.items():
        setattr(step, name, value)
    return step


def test_a_step_delivered_in_full_at_the_offered_rate_with_steady_latency_is_sustained():
    assert judge(a_step()) == (True, "sustained")


@pytest.mark.parametrize(("changes", "reason"), [
    ({"rejected": 3}, "3 of 1000 inspections not acknowledged"),
    ({"delivered": 990}, "10 of 1000 deliveries late"),
    ({"delivered_per_second": 94.0}, "delivered 94.0/s of 100.0/s offered"),
    ({"webhook_p99_halves_ms": [80.0, 171.0]}, "p99 grew through the step: 80.0 ms in its first half, 171.0 ms"),
])
def test_a_step_is_not_sustained_when_it_loses_rate_deliveries_or_latency(changes, reason):
    sustained, why = judge(a_step(**changes))
    assert not sustained
    assert why.startswith(reason)


def test_latency_within_the_growth_margin_still_counts_as_steady():
    assert judge(a_step(webhook_p99_halves_ms=[80.0, 170.0]))[0]  # 1.5 × 80 + 50 = 170


async def test_the_ladder_stops_after_the_first_step_not_sustained_and_reports_the_rest_skipped():
    ran: list[float] = []

    async def run(rate: float) -> Step:
        ran.append(rate)
        step = a_step(rate, delivered_per_second=min(rate, 250.0))
        step.sustained, step.verdict = judge(step)
        return step

    steps = await climb([10, 100, 500, 1000, 2000], 10, run)

    assert ran == [10, 100, 500]
    assert [type(s) for s in steps] == [Step, Step, Step, Skipped, Skipped]
    assert steps[3] == Skipped(1000, 10, "not run: 500/s was not sustained")
    assert highest_sustained(steps) == 100


async def test_refining_halves_the_gap_between_the_last_rate_sustained_and_the_first_not():
    ran: list[float] = []

    async def run(rate: float) -> Step:  # a system that carries 250/s
        ran.append(rate)
        step = a_step(rate, delivered_per_second=min(rate, 250.0))
        step.sustained, step.verdict = judge(step)
        return step

    steps = await climb([10, 100, 500, 1000], 1, run, refine=2)

    assert ran == [10, 100, 500, 300, 200]  # 300 not sustained, 200 sustained
    assert [s.rate for s in steps if isinstance(s, Skipped)] == [1000]
    assert highest_sustained(steps) == 200


async def test_refining_a_ladder_whose_first_step_fails_looks_below_it():
    async def run(rate: float) -> Step:  # carries 4/s
        step = a_step(rate, delivered_per_second=min(rate, 4.0))
        step.sustained, step.verdict = judge(step)
        return step

    steps = await climb([10, 100], 50, run, refine=3)
    assert [s.rate for s in steps if isinstance(s, Step)] == [10, 5, 2, 4]  # 5 fails, 2 holds, 4 holds
    assert highest_sustained(steps) == 4


async def test_a_ladder_with_no_sustained_step_has_no_highest_rate():
    async def run(rate: float) -> Step:
        step = a_step(rate, rejected=1)
        step.sustained, step.verdict = judge(step)
        return step

    steps = await climb([10, 100], 50, run)
    assert [type(s) for s in steps] == [Step, Skipped]
    assert highest_sustained(steps) is None
    assert summary({"ladders": [{"subscriptions": 50, "highest_sustained_per_second": None}]}) == [
        "highest sustained with 50 subscription(s): none inspections/s"]


def test_the_cpu_column_counts_the_bench_process_itself():
    # The generator and the receiver share the machine with the system: their CPU is part of the picture.
    import time

    from pathways_cli.bench_e2e import BENCH, cpu_by_process, cpu_ms_since

    before = cpu_by_process({})
    spun = time.process_time()
    while time.process_time() - spun < 0.05:
        pass
    assert cpu_ms_since(before, {}, per=1)[BENCH] >= 50


def test_a_process_cpu_keeps_what_its_exited_children_spent():
    # PostgreSQL's backends come and go: one that exits between two readings must not take its CPU along.
    import os
    import subprocess
    import sys

    from pathways_cli.bench_e2e import cpu_seconds

    # The child burns 0.3 s by its own clock; /proc counts it in sampled clock ticks, which can come out a
    # tick or two short, so 0.2 s is asked for. Without the reaped children the figure stays near 0.
    before = cpu_seconds(os.getpid())
    subprocess.run([sys.executable, "-c", "import time\nt = time.process_time()\n"
                    "while time.process_time() - t < 0.3: pass"], check=True)
    assert cpu_seconds(os.getpid()) - before >= 0.2
