"""The notification service's unit of work: its repositories on the unit's connection."""

from __future__ import annotations

import asyncpg

from pathways_notification.adapters.repository import (
    DeliveryRepository, RestrictionRepository, SubscriptionRepository,
)
from pathways_runtime.uow import PostgresUnitOfWork


class NotificationUnitOfWork(PostgresUnitOfWork):
    subscriptions: SubscriptionRepository
    deliveries: DeliveryRepository
    restrictions: RestrictionRepository

    def bind(self, conn: asyncpg.Connection) -> None:
        self.subscriptions = SubscriptionRepository(conn)
        self.deliveries = DeliveryRepository(conn)
        self.restrictions = RestrictionRepository(conn)
