"""Events from the bus, translated to the notification service's commands."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from pathways_contracts import CloudEvent
from pathways_contracts.events import CaseContactRestricted
from pathways_notification.service_layer import handlers
from pathways_notification.service_layer.commands import FanOut, RestrictContact
from pathways_notification.service_layer.subscription_table import SubscriptionTable
from pathways_notification.service_layer.unit_of_work import NotificationUnitOfWork
from pathways_runtime.outbox import current_traceparent


def on_event(subscriptions: SubscriptionTable) -> Callable[[CloudEvent, NotificationUnitOfWork], Awaitable[None]]:
    """The consumer of every subscribable event, fanning out against the service's subscription table."""

    async def fan_out(event: CloudEvent, uow: NotificationUnitOfWork) -> None:
        await handlers.fan_out(FanOut.of(event, current_traceparent()), uow, subscriptions)

    return fan_out


def wanted_by_a_subscription(subscriptions: SubscriptionTable) -> Callable[[CloudEvent], Awaitable[bool]]:
    """The consumer pipeline's filter: an event no subscription wants is acknowledged without a transaction."""

    async def wanted(event: CloudEvent) -> bool:
        if not await subscriptions.for_type(event.type):  # the common case costs no serialisation
            return False
        return bool(await handlers.subscribers_of(subscriptions, event.type, event.data.model_dump(mode="json")))

    return wanted


async def on_contact_restricted(event: CloudEvent[CaseContactRestricted], uow: NotificationUnitOfWork) -> None:
    data = event.data
    await handlers.restrict_contact(
        RestrictContact(case_id=data.case_id, restricted=data.restricted, changed_at=data.changed_at), uow)
