"""When to try a failed delivery again: the runtime's one backoff policy (exponential, full jitter, capped).

Only the delivery defaults live here; the policy itself is ``pathways_runtime.backoff``,
shared with every other loop that retries.
"""

from __future__ import annotations

import random
from datetime import datetime

from pathways_runtime.backoff import _RNG, Backoff

MAX_ATTEMPTS = 6  # the sixth failure parks the delivery and publishes notification.failed
BASE_SECONDS = 1.0
CAP_SECONDS = 600.0


def backoff_seconds(attempt: int, base: float = BASE_SECONDS, cap: float = CAP_SECONDS,
                    rng: random.Random = _RNG) -> float:
    """The wait after failed attempt number ``attempt`` (1 for the first failure)."""
    return Backoff(base, cap, rng).delay(attempt)


def next_attempt_at(attempt: int, now: datetime, base: float = BASE_SECONDS, cap: float = CAP_SECONDS,
                    rng: random.Random = _RNG) -> datetime:
    return Backoff(base, cap, rng).next_at(attempt, now)


def is_last(attempt: int, max_attempts: int = MAX_ATTEMPTS) -> bool:
    """Whether failed attempt number ``attempt`` was the last one allowed (the delivery is parked)."""
    return attempt >= max_attempts
