"""Composition root of the notification service."""

from pathlib import Path

import httpx

from pathways_contracts import registry
from pathways_contracts.events import NotificationDelivered, NotificationFailed
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

# Its own outcomes are not re-notified: that would loop.
SUBSCRIBABLE = sorted(t for t in registry() if not t.startswith("notification."))


def _register() -> None:
    from pathways_notification.service_layer.handlers import on_event

    service.consumers.on_each([registry()[t] for t in SUBSCRIBABLE], title="Notify subscribers",
                              description="Records one delivery per matching subscription for every event.",
                              )(on_event)


@service.background
async def deliver(svc: Service) -> None:
    from pathways_notification.service_layer.delivery import DeliveryWorker

    async with httpx.AsyncClient() as client:
        await DeliveryWorker(svc.pool, client).run()


_register()
