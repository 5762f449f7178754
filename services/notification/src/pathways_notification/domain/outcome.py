"""What one delivery attempt means for the delivery and its subscription."""

from __future__ import annotations

from enum import StrEnum

from pathways_notification.domain.backoff import MAX_ATTEMPTS, is_last

GONE = 410  # the receiver's way of saying "stop sending": the subscription unsubscribes itself


class Outcome(StrEnum):
    DELIVERED = "delivered"
    UNSUBSCRIBED = "unsubscribed"
    RETRY = "retry"
    PARKED = "parked"
    CANCELLED = "cancelled"  # never sent: the case became restricted after the delivery was recorded


def decide(status_code: int | None, attempts: int, max_attempts: int = MAX_ATTEMPTS, *,
           channel: str = "webhook") -> Outcome:
    """The outcome after attempt number ``attempts`` answered ``status_code`` (None: no answer).

    ``status_code`` is an HTTP status for webhooks and an SMTP reply code for
    email; 2xx is success in both, and 410 is not an SMTP code, so only a
    webhook receiver can unsubscribe this way.
    """
    if status_code is not None and 200 <= status_code < 300:
        return Outcome.DELIVERED
    if status_code == GONE and channel == "webhook":
        return Outcome.UNSUBSCRIBED
    return Outcome.PARKED if is_last(attempts, max_attempts) else Outcome.RETRY
