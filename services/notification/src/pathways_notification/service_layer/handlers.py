"""Every event a department may subscribe to becomes one delivery per matching subscription.

A delivery is recorded only when the subscription's filter matches and its
role receives something of this event type: redaction itself happens at send
time, so a policy tightened later also covers what is still waiting.
"""

from __future__ import annotations

from typing import Any

import asyncpg

from pathways_contracts import Event
from pathways_notification.adapters import repository as repo
from pathways_notification.domain.filters import matches
from pathways_notification.domain.redaction import receives
from pathways_runtime.consumer import Handling
from pathways_runtime.outbox import current_traceparent


async def on_event(data: Event, h: Handling) -> None:
    body = data.model_dump(mode="json")
    for sub in await repo.active_subscriptions_for(h.conn, h.event.type):
        if wants(sub, h.event.type, body):
            await repo.add_delivery(h.conn, sub["id"], h.event.id, h.event.type, h.event.subject, body,
                                    current_traceparent())


def wants(sub: asyncpg.Record, event_type: str, body: dict[str, Any]) -> bool:
    return receives(sub["role"], event_type) and matches(repo.subscription_filter(sub), event_type, body)
