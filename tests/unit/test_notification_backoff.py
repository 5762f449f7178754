"""Delivery backoff: exponential, full jitter, capped; reproducible with a seeded random."""

import random
from datetime import UTC, datetime, timedelta

import pytest

from pathways_notification.domain.backoff import (
    MAX_ATTEMPTS, asked_wait, backoff_seconds, is_last, next_attempt_at, retry_at,
)
from pathways_runtime.backoff import Backoff

pytestmark = pytest.mark.unit

NOW = datetime(2026, 11, 21, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize("attempt, ceiling", [(1, 1.0), (2, 2.0), (3, 4.0), (10, 512.0), (11, 600.0), (500, 600.0)])
def test_wait_is_drawn_between_zero_and_the_capped_exponential_ceiling(attempt, ceiling):
    rng = random.Random(7)
    waits = [backoff_seconds(attempt, base=1.0, cap=600.0, rng=rng) for _ in range(500)]
    assert all(0 <= w <= ceiling for w in waits)
    assert max(waits) > 0.9 * ceiling  # full jitter reaches up to the ceiling ...
    assert min(waits) < 0.1 * ceiling  # ... and down towards zero


def test_same_seed_same_schedule():
    def schedule(seed):
        rng = random.Random(seed)
        return [next_attempt_at(n, NOW, base=0.5, cap=30, rng=rng) for n in range(1, MAX_ATTEMPTS)]

    assert schedule(42) == schedule(42)
    assert schedule(42) != schedule(43)


def test_next_attempt_is_after_now_by_the_drawn_wait():
    wait = backoff_seconds(4, base=2.0, cap=60.0, rng=random.Random(1))
    assert next_attempt_at(4, NOW, base=2.0, cap=60.0, rng=random.Random(1)) == NOW + timedelta(seconds=wait)
    assert NOW <= NOW + timedelta(seconds=wait) <= NOW + timedelta(seconds=16)


def test_the_last_attempt_parks():
    assert not is_last(MAX_ATTEMPTS - 1)
    assert is_last(MAX_ATTEMPTS)
    assert is_last(2, max_attempts=2)


def test_attempts_count_from_one():
    with pytest.raises(ValueError):
        backoff_seconds(0)


@pytest.mark.parametrize("status, header, seconds", [
    (503, "30", 30.0), (429, " 5 ", 5.0), (503, "0", 0.0),
    (503, "Sat, 21 Nov 2026 12:02:00 GMT", 120.0),  # an HTTP date: from now
    (503, "Sat, 21 Nov 2026 11:00:00 GMT", 0.0),  # already past
    (503, "-5", None), (503, "1.5", None), (503, "²", None), (503, "tomorrow", None), (503, "", None),
    (503, None, None), (500, "30", None), (200, "30", None), (None, "30", None),
])
def test_a_retry_after_is_read_only_from_a_503_or_429_and_only_when_it_parses(status, header, seconds):
    assert asked_wait(status, header, NOW) == seconds


def test_a_retry_waits_at_least_what_the_receiver_asked_but_no_longer_than_the_cap():
    backoff = Backoff(base=1.0, cap=600.0, rng=random.Random(3))
    assert retry_at(backoff, 1, NOW, 300.0) == NOW + timedelta(seconds=300)  # longer than the draw (≤ 1 s)
    assert retry_at(backoff, 1, NOW, 10 ** 9) == NOW + timedelta(seconds=600)  # held to the cap
    assert NOW <= retry_at(backoff, 1, NOW, None) <= NOW + timedelta(seconds=1)  # not asked: the draw
    # Asked for less than the draw: the draw stands (the backoff still spreads a crowd of retries).
    late = Backoff(base=500.0, cap=600.0, rng=random.Random(3))
    drawn = Backoff(base=500.0, cap=600.0, rng=random.Random(3)).next_at(1, NOW)
    assert retry_at(late, 1, NOW, 0.0) == drawn
