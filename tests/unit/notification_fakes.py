"""In-memory repositories for the notification service's use cases, behind a FakeUnitOfWork.

They implement the methods of adapters/repository.py with the same meaning (the
SQL's), over plain dicts, so every use case runs in microseconds.
"""

from __future__ import annotations

import dataclasses
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from pathways_notification.domain.model import Attempt, NewDelivery, PendingDelivery, RecordedAttempt, Subscription
from pathways_notification.service_layer.subscription_table import SubscriptionTable
from pathways_runtime.testing import FakeUnitOfWork

EPOCH = datetime(2026, 1, 1, tzinfo=UTC)


@dataclass
class StoredDelivery:
    new: NewDelivery
    seq: int
    status: str = "pending"
    attempts: int = 0
    next_attempt_at: datetime = EPOCH
    last_error: str | None = None
    delivered_at: datetime | None = None


@dataclass
class Tables:
    subscriptions: dict[uuid.UUID, Subscription] = field(default_factory=dict)
    deliveries: dict[uuid.UUID, StoredDelivery] = field(default_factory=dict)
    attempts: list[tuple[uuid.UUID, Attempt, str]] = field(default_factory=list)
    restricted: dict[uuid.UUID, tuple[bool, datetime]] = field(default_factory=dict)
    wakes: int = 0


class FakeSubscriptions:
    def __init__(self, t: Tables) -> None:
        self.t = t

    async def add(self, sub: Subscription) -> None:
        self.t.subscriptions[sub.id] = sub

    async def get(self, subscription_id: uuid.UUID) -> Subscription | None:
        return self.t.subscriptions.get(subscription_id)

    async def view(self, subscription_id: uuid.UUID) -> dict[str, Any] | None:
        sub = self.t.subscriptions.get(subscription_id)
        return None if sub is None else {k: v for k, v in dataclasses.asdict(sub).items() if k != "secret"}

    async def all_active(self) -> list[Subscription]:
        return [s for s in self.t.subscriptions.values() if s.active]

    async def deactivate(self, subscription_id: uuid.UUID) -> None:
        self.t.subscriptions[subscription_id] = dataclasses.replace(self.t.subscriptions[subscription_id],
                                                                    active=False)


class FakeDeliveries:
    def __init__(self, t: Tables) -> None:
        self.t = t

    def _of(self, subscription_id: uuid.UUID) -> list[StoredDelivery]:
        return sorted((d for d in self.t.deliveries.values() if d.new.subscription_id == subscription_id),
                      key=lambda d: d.seq)

    async def add(self, deliveries: list[NewDelivery]) -> None:
        if not deliveries:
            return
        for new in deliveries:
            if any(d.new.event_id == new.event_id for d in self._of(new.subscription_id)):
                continue  # on conflict (subscription_id, event_id) do nothing
            if not self.t.subscriptions[new.subscription_id].active:
                continue  # deactivated since the caller's (in-memory) list was read
            self.t.deliveries[new.id] = StoredDelivery(new, seq=len(self.t.deliveries) + 1)
        await self.wake_worker()

    async def wake_worker(self) -> None:
        self.t.wakes += 1

    async def due_lanes(self) -> list[uuid.UUID]:
        now = datetime.now(UTC)
        return sorted({d.new.subscription_id for d in self.t.deliveries.values()
                       if d.status == "pending" and d.next_attempt_at <= now})

    async def due(self, subscription_id: uuid.UUID, now: datetime, limit: int) -> list[PendingDelivery]:
        sub = self.t.subscriptions[subscription_id]
        if not sub.active:
            return []
        heads: dict[str, StoredDelivery] = {}
        for d in self._of(subscription_id):
            if d.status == "pending":
                heads.setdefault(d.new.subject, d)  # the oldest pending one of each subject
        return [self._pending(sub, d) for d in sorted(heads.values(), key=lambda d: d.seq)
                if d.next_attempt_at <= now][:limit]

    def _pending(self, sub: Subscription, d: StoredDelivery) -> PendingDelivery:
        n = d.new
        case_id = n.body.get("case_id")
        restricted = case_id is not None and self.t.restricted.get(uuid.UUID(str(case_id)), (False,))[0]
        return PendingDelivery(
            id=n.id, subscription_id=n.subscription_id, event_id=n.event_id, event_type=n.event_type,
            subject=n.subject, source=n.source, time=n.time, body=n.body, traceparent=n.traceparent,
            attempts=d.attempts, next_attempt_at=d.next_attempt_at, department=sub.department, role=sub.role,
            channel=sub.channel, target=sub.target, secret=sub.secret, case_restricted=restricted)

    async def record_outcomes(self, recorded: list[RecordedAttempt]) -> None:
        for r in recorded:
            self.t.attempts.append((r.delivery_id, r.attempt, r.outcome))
            d = self.t.deliveries[r.delivery_id]
            d.attempts = r.attempts
            if r.outcome == "delivered":
                d.status, d.delivered_at = "delivered", datetime.now(UTC)
                continue
            d.last_error = r.attempt.reason()
            d.status = "parked" if r.outcome == "parked" else d.status
            d.next_attempt_at = r.next_attempt_at or d.next_attempt_at

    async def park(self, delivery_id: uuid.UUID, attempts: int, error: str) -> None:
        """A parked delivery, for a test to start from (the service parks through ``record_outcomes``)."""
        d = self.t.deliveries[delivery_id]
        d.status, d.attempts, d.last_error = "parked", attempts, error

    async def cancel(self, delivery_id: uuid.UUID) -> None:
        d = self.t.deliveries[delivery_id]
        if d.status == "pending":
            d.status = "cancelled"

    async def cancel_pending_of(self, subscription_id: uuid.UUID) -> int:
        waiting = [d for d in self._of(subscription_id) if d.status == "pending"]
        for d in waiting:
            d.status = "cancelled"
        return len(waiting)

    async def cancel_about_case(self, case_id: uuid.UUID) -> int:
        waiting = [d for d in self.t.deliveries.values()
                   if d.new.body.get("case_id") == str(case_id) and d.status in ("pending", "parked")]
        for d in waiting:
            d.status = "cancelled"
        return len(waiting)

    async def replay_parked(self, *, delivery_id: uuid.UUID | None = None,
                            subscription_id: uuid.UUID | None = None) -> list[uuid.UUID]:
        replayed = []
        for d in self.t.deliveries.values():
            if (d.status == "parked" and self.t.subscriptions[d.new.subscription_id].active
                    and delivery_id in (None, d.new.id) and subscription_id in (None, d.new.subscription_id)):
                d.status, d.attempts, d.next_attempt_at = "pending", 0, EPOCH
                replayed.append(d.new.id)
        if replayed:
            await self.wake_worker()
        return sorted(replayed)

    async def view(self, delivery_id: uuid.UUID) -> dict[str, Any] | None:
        d = self.t.deliveries.get(delivery_id)
        if d is None:
            return None
        sub = self.t.subscriptions[d.new.subscription_id]
        return {"id": d.new.id, "subscription_id": sub.id, "department": sub.department, "status": d.status,
                "attempts": d.attempts, "event_type": d.new.event_type, "subject": d.new.subject}

    def status(self, delivery_id: uuid.UUID) -> str:
        return self.t.deliveries[delivery_id].status


class FakeRestrictions:
    def __init__(self, t: Tables) -> None:
        self.t = t

    async def record(self, case_id: uuid.UUID, restricted: bool, changed_at: datetime) -> bool:
        known = self.t.restricted.get(case_id)
        if known is not None and known[1] >= changed_at:
            return False
        self.t.restricted[case_id] = (restricted, changed_at)
        return True

    async def is_restricted(self, case_id: str) -> bool:
        try:
            return self.t.restricted.get(uuid.UUID(case_id), (False,))[0]
        except ValueError:
            return False


class FakeNotificationUnitOfWork(FakeUnitOfWork):
    def __init__(self, tables: Tables | None = None) -> None:
        super().__init__(source="/pathways/notification")
        self.tables = tables or Tables()
        self.subscriptions = FakeSubscriptions(self.tables)
        self.deliveries = FakeDeliveries(self.tables)
        self.restrictions = FakeRestrictions(self.tables)
        # Reloaded on every read: these tests see every change at once (the table's own tests check caching).
        self.table = SubscriptionTable(self.subscriptions.all_active, max_age_seconds=0)
