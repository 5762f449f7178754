"""Reads of the notification API, with who may see what: a department its own, operations everything."""

from __future__ import annotations

import uuid
from typing import Any

from pathways_notification.service_layer.unit_of_work import NotificationUnitOfWork
from pathways_runtime.auth import Principal, Role
from pathways_runtime.errors import NotFound


def _may_see(who: Principal, department: str) -> bool:
    return who.role == Role.OPS or who.org == department


async def subscription(uow: NotificationUnitOfWork, subscription_id: uuid.UUID, who: Principal) -> dict[str, Any]:
    async with uow:
        found = await uow.subscriptions.view(subscription_id)
    if found is None or not _may_see(who, found["department"]):
        raise NotFound(f"no subscription {subscription_id}")
    return found


async def deliveries(uow: NotificationUnitOfWork, who: Principal, *, status: str | None,
                     subscription_id: uuid.UUID | None, cursor: int | None, limit: int,
                     ) -> tuple[list[dict[str, Any]], int | None]:
    """A page of deliveries, newest first, and the cursor of the next page (None: this was the last)."""
    department = None if who.role == Role.OPS else who.org
    async with uow:
        return await uow.deliveries.page(status=status, subscription_id=subscription_id, department=department,
                                         before=cursor, limit=limit)


async def attempts(uow: NotificationUnitOfWork, delivery_id: uuid.UUID, who: Principal) -> list[dict[str, Any]]:
    async with uow:
        found = await uow.deliveries.view(delivery_id)
        if found is None or not _may_see(who, found["department"]):
            raise NotFound(f"no delivery {delivery_id}")
        return await uow.deliveries.attempts_of(delivery_id)
