"""HTTP API of the notification service: subscriptions, deliveries, replays.

Each route translates its request into a command (or a query) and calls its
handler; errors become status codes in the runtime's error handlers.
"""

from __future__ import annotations

import uuid
from typing import Literal

from fastapi import APIRouter, Depends, Query, Request, Response
from pydantic import BaseModel, Field

from pathways_notification.service_layer import handlers, queries
from pathways_notification.service_layer.commands import (
    ReplayDelivery, ReplaySubscription, Subscribe, SubscriptionRequest,
)
from pathways_notification.service_layer.unit_of_work import NotificationUnitOfWork
from pathways_runtime.auth import Principal, Role, require
from pathways_runtime.http import current_service, unit_of_work

router = APIRouter(tags=["subscriptions"])
DeliveryStatus = Literal["pending", "delivered", "parked", "cancelled"]
# The default is the old fixed cap, so a client that reads one page sees what it saw before pagination.
PAGE_SIZE, MAX_PAGE_SIZE = 500, 1000


class SubscriptionCreated(BaseModel):
    id: uuid.UUID
    secret: str | None = Field(description="The webhook signing secret. Shown once: store it now. None for email.")


class Replayed(BaseModel):
    replayed: list[uuid.UUID]


@router.post("/subscriptions", status_code=201, summary=(
    "Subscribe a webhook or mailbox. A department token subscribes its own org with the role its org is granted;"
    " operations name the department and role."))
async def subscribe(body: SubscriptionRequest, who: Principal = require(Role.DEPARTMENT, Role.OPS),
                    service=Depends(current_service),
                    uow: NotificationUnitOfWork = Depends(unit_of_work)) -> SubscriptionCreated:
    cmd = Subscribe.model_validate(body.model_dump() | {"caller_role": who.role, "caller_org": who.org})
    created = await handlers.subscribe(cmd, uow, service.check_destination,
                                       changed=service.subscriptions.invalidate)
    return SubscriptionCreated(id=created.id, secret=created.secret)


@router.get("/subscriptions/{subscription_id}", summary="One subscription (never its secret).")
async def get_subscription(subscription_id: uuid.UUID, who: Principal = require(Role.OPS, Role.DEPARTMENT),
                           uow: NotificationUnitOfWork = Depends(unit_of_work)) -> dict:
    return await queries.subscription(uow, subscription_id, who)


@router.get("/deliveries", tags=["deliveries"], summary=(
    "Deliveries, newest first; filter by status (pending, delivered, parked, cancelled). A page at a time:"
    " the `Link` header's rel=\"next\" URL gives the next page."))
async def list_deliveries(request: Request, response: Response, status: DeliveryStatus | None = None,
                          subscription_id: uuid.UUID | None = None,
                          cursor: int | None = Query(None, ge=1, le=2**63 - 1,  # a delivery sequence is a bigint
                                                      description="From a previous page's next link."),
                          limit: int = Query(PAGE_SIZE, ge=1, le=MAX_PAGE_SIZE),
                          who: Principal = require(Role.OPS, Role.DEPARTMENT),
                          uow: NotificationUnitOfWork = Depends(unit_of_work)) -> list[dict]:
    items, next_cursor = await queries.deliveries(uow, who, status=status, subscription_id=subscription_id,
                                                  cursor=cursor, limit=limit)
    if next_cursor is not None:
        response.headers["Link"] = f'<{request.url.include_query_params(cursor=next_cursor)}>; rel="next"'
    return items


@router.get("/deliveries/{delivery_id}/attempts", tags=["deliveries"],
            summary="Every attempt of a delivery: when, status code, latency, outcome, error.")
async def delivery_attempts(delivery_id: uuid.UUID, who: Principal = require(Role.OPS, Role.DEPARTMENT),
                            uow: NotificationUnitOfWork = Depends(unit_of_work)) -> list[dict]:
    return await queries.attempts(uow, delivery_id, who)


@router.post("/deliveries/replay", tags=["deliveries"],
             summary="Replay every parked delivery of a subscription (same delivery ids, fresh attempts).")
async def replay_subscription(subscription_id: uuid.UUID, _: Principal = require(Role.OPS),
                              uow: NotificationUnitOfWork = Depends(unit_of_work)) -> Replayed:
    return Replayed(replayed=await handlers.replay_subscription(
        ReplaySubscription(subscription_id=subscription_id), uow))


@router.post("/deliveries/{delivery_id}/replay", tags=["deliveries"],
             summary="Replay one parked delivery (same delivery id, so the receiver can drop a duplicate).")
async def replay_delivery(delivery_id: uuid.UUID, _: Principal = require(Role.OPS),
                          uow: NotificationUnitOfWork = Depends(unit_of_work)) -> Replayed:
    return Replayed(replayed=await handlers.replay_delivery(ReplayDelivery(delivery_id=delivery_id), uow))
