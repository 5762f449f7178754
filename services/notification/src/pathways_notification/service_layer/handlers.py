"""Every event a department may subscribe to becomes one delivery per matching subscription."""

from __future__ import annotations

from pathways_contracts import Event
from pathways_notification.adapters import repository as repo
from pathways_runtime.consumer import Handling
from pathways_runtime.outbox import current_traceparent


async def on_event(data: Event, h: Handling) -> None:
    for sub in await repo.matching_subscriptions(h.conn, h.event.type):
        await repo.add_delivery(h.conn, sub["id"], h.event.id, h.event.type, h.event.subject,
                                data.model_dump(mode="json"), current_traceparent())
