"""Delivery backoff: exponential, full jitter, capped; reproducible with a seeded random."""

import random
from datetime import UTC, datetime, timedelta

import pytest

from pathways_notification.domain.backoff import MAX_ATTEMPTS, backoff_seconds, is_last, next_attempt_at

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
