"""Composition root of the notification service: ``bootstrap(settings)`` builds it; importing starts nothing."""

from __future__ import annotations

import logging
from pathlib import Path


from pathways_contracts import registry
from pathways_contracts.events import CaseContactRestricted, NotificationDelivered, NotificationFailed
from pathways_notification.adapters import destinations, wake
from pathways_notification.adapters.senders import ChannelSender
from pathways_notification.domain.destinations import AddressPolicy
from pathways_notification.entrypoints.events import on_contact_restricted, on_event, wanted_by_a_subscription
from pathways_notification.adapters.repository import SubscriptionRepository
from pathways_notification.service_layer.delivery import DeliveryWorker
from pathways_notification.service_layer.subscription_table import SubscriptionTable
from pathways_notification.service_layer.handlers import DestinationRefused
from pathways_notification.service_layer.unit_of_work import NotificationUnitOfWork
from pathways_notification.settings import NotificationSettings
from pathways_runtime.service import Service

log = logging.getLogger(__name__)

# Its own outcomes are not re-notified: that would loop. A case's contact restriction is an internal
# instruction to this service, read by its own handler, never a delivery.
INTERNAL = frozenset({CaseContactRestricted.event_type})


def subscribable() -> list[str]:
    return sorted(t for t in registry() if not t.startswith("notification.") and t not in INTERNAL)


class NotificationService(Service):
    """The runtime's Service, plus what the notification API needs beside it."""

    settings: NotificationSettings
    delivery_worker: DeliveryWorker
    subscriptions: SubscriptionTable
    address_policy: AddressPolicy

    async def check_destination(self, url: str) -> None:
        """Refuse a webhook URL resolving where webhooks may not go; a name that does not resolve yet is
        checked again before each attempt."""
        try:
            await destinations.checked_address(url, self.address_policy)
        except destinations.Refused as exc:
            raise DestinationRefused(str(exc)) from None
        except destinations.Unresolved as exc:
            log.info("webhook host does not resolve yet; it is checked before each attempt",
                     extra={"reason": str(exc)})


def bootstrap(settings: NotificationSettings | None = None) -> NotificationService:
    settings = settings or NotificationSettings(OTEL_SERVICE_NAME="notification")
    service = NotificationService(
        "notification", schema="notification", migrations=Path(__file__).parent / "migrations",
        description="Delivers every department's subscribed events to its webhook, redacted for its role.",
        settings=settings, unit_of_work=NotificationUnitOfWork)
    service.address_policy = AddressPolicy.from_settings(settings.allowed_networks(),
                                                         settings.webhook_denied_endpoints)
    service.declare_publisher(NotificationDelivered, title="notification.delivered",
                              description="A department received an event.")
    service.declare_publisher(NotificationFailed, title="notification.failed",
                              description="A delivery was parked after its last attempt.")
    service.subscriptions = SubscriptionTable(lambda: SubscriptionRepository(service.pool).all_active(),
                                              settings.subscription_refresh_seconds)
    service.consumers.on_each([registry()[t] for t in subscribable()], title="Notify subscribers",
                              description="Records one delivery per matching subscription for every event.",
                              wants=wanted_by_a_subscription(service.subscriptions))(on_event(service.subscriptions))
    service.consumers.on(CaseContactRestricted, title="Stop notifying about a case",
                         description="Someone on the case must not be contacted: nothing more about the case is "
                                     "delivered, and what was waiting is cancelled.")(on_contact_restricted)

    # Each pass of the worker beats its heartbeat: /readyz names it overdue when none came for
    # delivery_stall_seconds (a stuck or dead loop), so an orchestrator restarts the process.
    worker = DeliveryWorker(service.uow, lambda: wake.listening(service.pool, service.subscriptions.invalidate),
                            settings, beat=lambda: service.heartbeat("deliver"))  # type: ignore[arg-type]
    service.delivery_worker = worker

    @service.background(heartbeat_seconds=settings.delivery_stall_seconds)
    async def deliver(svc: Service) -> None:
        allowed = settings.allowed_networks()
        if allowed:
            # Said out loud: webhooks may reach these non-public networks (development: a local receiver).
            log.warning("WEBHOOKS MAY REACH NON-PUBLIC NETWORKS: %s%s", ", ".join(allowed),
                        " (development mode)" if not settings.webhook_allowed_networks else "",
                        extra={"allowed_networks": allowed})
        sender = ChannelSender(settings, lambda: service.address_policy)
        try:
            await worker.run(sender)
        finally:
            await worker.stop()
            await sender.aclose()

    return service
