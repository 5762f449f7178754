"""What the notification service keeps: subscriptions, and deliveries of one event to one subscription."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from pathways_notification.domain.filters import Filter


@dataclass(frozen=True)
class Subscription:
    id: uuid.UUID
    department: str
    role: str
    event_types: tuple[str, ...]
    channel: str  # "webhook" or "email"
    target: str  # the webhook URL or the mailbox
    secret: str | None  # the webhook signing secret; None for email
    filter: Filter = field(default_factory=Filter)
    active: bool = True


@dataclass(frozen=True)
class NewDelivery:
    """One event, as it was on the bus, for one subscription; redaction happens at send time."""

    subscription_id: uuid.UUID
    event_id: str
    event_type: str
    subject: str
    source: str
    time: datetime
    body: dict[str, Any]
    traceparent: str | None
    id: uuid.UUID = field(default_factory=uuid.uuid4)


@dataclass(frozen=True)
class PendingDelivery:
    """The oldest waiting delivery of a subscription, with what sending it needs."""

    id: uuid.UUID
    subscription_id: uuid.UUID
    event_id: str
    event_type: str
    subject: str
    source: str
    time: datetime
    body: dict[str, Any]
    traceparent: str | None
    attempts: int
    next_attempt_at: datetime
    department: str
    role: str
    channel: str
    target: str
    secret: str | None
    case_restricted: bool  # a restriction recorded after this delivery was: it must not go out

    def facts(self, attempts: int) -> dict[str, Any]:
        """The fields ``notification.delivered`` and ``notification.failed`` share."""
        return dict(delivery_id=self.id, subscription_id=self.subscription_id, department=self.department,
                    channel=self.channel, source_event_id=self.event_id, source_event_type=self.event_type,
                    attempts=attempts)


@dataclass(frozen=True)
class Attempt:
    """One try at sending: the receiver's code (HTTP status or SMTP reply; None: no answer), latency, error."""

    status_code: int | None
    latency_ms: int
    error: str | None
    asked_wait_seconds: float | None = None  # the receiver's Retry-After on a 503 or 429, when it sent one

    @property
    def ok(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300

    def reason(self) -> str:
        return self.error or f"HTTP {self.status_code}"


@dataclass(frozen=True)
class RecordedAttempt:
    """An attempt of a batch and what it means for its delivery, as the batch records it."""

    delivery_id: uuid.UUID
    attempt: Attempt
    attempts: int  # the delivery's attempts so far, this one included
    outcome: str  # delivered, retry, parked or unsubscribed
    next_attempt_at: datetime | None = None  # a retry's; None leaves the delivery's as it is
