"""Heartbeats: which long-running loop stopped making progress, for /readyz (issue 14)."""

import pytest

from pathways_runtime.heartbeat import Heartbeats

pytestmark = pytest.mark.unit


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_loop_is_overdue_once_it_misses_its_interval_and_fine_again_when_it_beats():
    clock = Clock()
    beats = Heartbeats(clock=clock)
    beat = beats.loop("outbox-relay", within=10)
    clock.now += 10
    assert beats.overdue() == {}  # the first interval is the loop's time to start
    clock.now += 1
    assert beats.overdue() == {"outbox-relay": "no heartbeat for 11 s (expected every 10 s)"}
    beat()
    assert beats.overdue() == {}


def test_a_loop_beating_by_name_gets_the_default_interval():
    clock = Clock()
    beats = Heartbeats(default_within=60, clock=clock)
    beats.beat("consumer:inspection.submitted")
    assert "consumer:inspection.submitted" in beats
    clock.now += 61
    assert list(beats.overdue()) == ["consumer:inspection.submitted"]


def test_a_stopped_loop_is_overdue_at_once_until_it_beats_and_a_finished_one_is_forgotten():
    clock = Clock()
    beats = Heartbeats(clock=clock)
    beats.expect("delivery-worker", within=60)
    beats.stopped("delivery-worker", "ConnectionDoesNotExistError()")
    assert beats.overdue() == {"delivery-worker": "stopped: ConnectionDoesNotExistError()"}
    beats.beat("delivery-worker")
    assert beats.overdue() == {}
    beats.forget("delivery-worker")
    clock.now += 1000
    assert beats.overdue() == {}
