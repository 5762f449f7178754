"""One retry policy for every loop that waits after a failure: exponential backoff with full jitter, capped.

Full jitter (a uniform draw between zero and the exponential ceiling) spreads
the retries of many parties that failed together (deliveries to a receiver
that came back, loops reconnecting after a database restart) so they do not
all return at once.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta

_RNG = random.Random()


def ceiling(attempt: int, base: float, cap: float) -> float:
    """The most one may wait after failed attempt number ``attempt`` (1 for the first failure)."""
    if attempt < 1:
        raise ValueError(f"attempts count from 1, got {attempt}")
    # Past 2**63 the cap has long been reached; stop before the power overflows a float.
    return cap if attempt > 64 else min(cap, base * 2 ** (attempt - 1))


@dataclass(frozen=True)
class Backoff:
    """``delay(n)``: the wait after the n-th consecutive failure, drawn in ``[0, min(cap, base * 2**(n-1))]``."""

    base: float = 1.0
    cap: float = 600.0
    rng: random.Random = field(default=_RNG, compare=False, repr=False)

    def delay(self, attempt: int) -> float:
        return self.rng.uniform(0, ceiling(attempt, self.base, self.cap))

    def next_at(self, attempt: int, now: datetime) -> datetime:
        return now + timedelta(seconds=self.delay(attempt))
