"""Every event a department may subscribe to becomes one delivery per matching subscription.

A delivery is recorded only when the subscription's filter matches and its
role receives something of this event type: redaction itself happens at send
time, so a policy tightened later also covers what is still waiting.

Nothing is recorded about a case on which someone must not be contacted
(``case.contact_restricted``, read by its own handler), and a restriction
cancels what was still waiting about the case.
"""

from __future__ import annotations

import logging
from typing import Any

import asyncpg

from pathways_contracts import CloudEvent
from pathways_contracts.events import CaseContactRestricted
from pathways_notification.adapters import repository as repo
from pathways_notification.domain.filters import matches
from pathways_notification.domain.redaction import receives
from pathways_runtime.uow import PostgresUnitOfWork
from pathways_runtime.outbox import current_traceparent

log = logging.getLogger(__name__)


async def on_event(event: CloudEvent, uow: PostgresUnitOfWork) -> None:
    body = event.data.model_dump(mode="json")
    if await about_a_restricted_case(uow.conn, body):
        return
    for sub in await repo.active_subscriptions_for(uow.conn, event.type):
        if wants(sub, event.type, body):
            await repo.add_delivery(uow.conn, sub["id"], event.id, event.type, event.subject, body,
                                    current_traceparent())


async def about_a_restricted_case(conn: asyncpg.Connection, body: dict[str, Any]) -> bool:
    """Someone on the event's case must not be contacted: nothing about the case goes out."""
    case_id = body.get("case_id")
    return case_id is not None and await repo.case_restricted(conn, str(case_id))


async def on_contact_restricted(event: CloudEvent[CaseContactRestricted], uow: PostgresUnitOfWork) -> None:
    data = event.data
    applied = await repo.record_contact_restriction(uow.conn, data.case_id, data.restricted, data.changed_at)
    if applied and data.restricted:
        cancelled = await repo.cancel_case_deliveries(uow.conn, data.case_id)
        log.info("case restricted: waiting deliveries cancelled",
                 extra={"case_id": str(data.case_id), "cancelled": cancelled})


def wants(sub: asyncpg.Record, event_type: str, body: dict[str, Any]) -> bool:
    return receives(sub["role"], event_type) and matches(repo.subscription_filter(sub), event_type, body)
