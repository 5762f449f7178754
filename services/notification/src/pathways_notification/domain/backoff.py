"""When to try a failed delivery again: exponential backoff with full jitter, capped.

Full jitter (a uniform draw between zero and the exponential ceiling) spreads
the retries of many deliveries that failed together, for instance when one
receiver came back after an outage, so they do not all return at once.
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta

MAX_ATTEMPTS = 6  # the sixth failure parks the delivery and publishes notification.failed
BASE_SECONDS = 1.0
CAP_SECONDS = 600.0

_RNG = random.Random()


def backoff_seconds(attempt: int, base: float = BASE_SECONDS, cap: float = CAP_SECONDS,
                    rng: random.Random = _RNG) -> float:
    """The wait after failed attempt number ``attempt`` (1 for the first failure)."""
    return rng.uniform(0, _ceiling(attempt, base, cap))


def next_attempt_at(attempt: int, now: datetime, base: float = BASE_SECONDS, cap: float = CAP_SECONDS,
                    rng: random.Random = _RNG) -> datetime:
    return now + timedelta(seconds=backoff_seconds(attempt, base, cap, rng))


def is_last(attempt: int, max_attempts: int = MAX_ATTEMPTS) -> bool:
    """Whether failed attempt number ``attempt`` was the last one allowed (the delivery is parked)."""
    return attempt >= max_attempts


def _ceiling(attempt: int, base: float, cap: float) -> float:
    if attempt < 1:
        raise ValueError(f"attempts count from 1, got {attempt}")
    # Past 2**63 the cap has long been reached; stop before the power overflows a float.
    return cap if attempt > 64 else min(cap, base * 2 ** (attempt - 1))
