"""Composition root of the notification service."""

from pathlib import Path

import httpx

from pathways_contracts import registry
from pathways_contracts.events import CaseContactRestricted, NotificationDelivered, NotificationFailed
from pathways_runtime.service import Service

service = Service(
    "notification",
    schema="notification",
    migrations=Path(__file__).parent / "migrations",
    description="Delivers every department's subscribed events to its webhook, redacted for its role.",
)
service.declare_publisher(NotificationDelivered, title="notification.delivered",
                          description="A department received an event.")
service.declare_publisher(NotificationFailed, title="notification.failed",
                          description="A delivery was parked after its last attempt.")

# Its own outcomes are not re-notified: that would loop. A case's contact restriction is an internal
# instruction to this service, read by its own handler, never a delivery.
INTERNAL = {CaseContactRestricted.event_type}
SUBSCRIBABLE = sorted(t for t in registry() if not t.startswith("notification.") and t not in INTERNAL)


def _register() -> None:
    from pathways_notification.service_layer.handlers import on_contact_restricted, on_event

    service.consumers.on_each([registry()[t] for t in SUBSCRIBABLE], title="Notify subscribers",
                              description="Records one delivery per matching subscription for every event.",
                              )(on_event)
    service.consumers.on(CaseContactRestricted, title="Stop notifying about a case",
                         description="Someone on the case must not be contacted: nothing more about the case is "
                                     "delivered, and what was waiting is cancelled.")(on_contact_restricted)


@service.background
async def deliver(svc: Service) -> None:
    from pathways_notification.service_layer.delivery import DeliveryWorker

    async with httpx.AsyncClient() as client:
        await DeliveryWorker(svc.pool, client).run()


_register()
