"""When to try a failed delivery again: the runtime's one backoff policy (exponential, full jitter, capped).

Only the delivery defaults live here; the policy itself is ``pathways_runtime.backoff``,
shared with every other loop that retries.
"""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime

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


# A receiver asks for a pause with these (RFC 9110: Retry-After on 503 and 429); other answers' headers
# are not a request to wait.
ASKS_TO_WAIT = frozenset({429, 503})


def asked_wait(status_code: int | None, retry_after: str | None, now: datetime) -> float | None:
    """The seconds a receiver asked to be left alone (``Retry-After``: delay-seconds or an HTTP-date), or None
    when it did not ask or the value cannot be read (then the usual backoff applies)."""
    if status_code not in ASKS_TO_WAIT or not retry_after:
        return None
    value = retry_after.strip()
    if value.isascii() and value.isdigit():
        return float(value)
    try:
        at = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, (at.astimezone(UTC) - now).total_seconds()) if at.tzinfo else None


def retry_at(backoff: Backoff, attempt: int, now: datetime, asked_seconds: float | None) -> datetime:
    """When to try again after failed attempt number ``attempt``: the backoff's draw, or later when the
    receiver asked for longer, but never later than the backoff's cap (a receiver cannot hold a delivery
    back for ever, and the attempt still counts towards parking it)."""
    drawn = backoff.next_at(attempt, now)
    if asked_seconds is None:
        return drawn
    return max(drawn, now + timedelta(seconds=min(asked_seconds, backoff.cap)))


def is_last(attempt: int, max_attempts: int = MAX_ATTEMPTS) -> bool:
    """Whether failed attempt number ``attempt`` was the last one allowed (the delivery is parked)."""
    return attempt >= max_attempts
