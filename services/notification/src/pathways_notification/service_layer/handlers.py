"""The notification service's use cases, one handler per command.

- ``subscribe``: a department's webhook or mailbox, for the department and role its token is granted;
- ``fan_out``: every event a department may subscribe to becomes one delivery per matching subscription;
- ``restrict_contact``: nothing more about a case on which someone must not be contacted, and what was
  waiting about it is cancelled;
- ``deliver_batch``: one attempt at each of a subscription's due deliveries (the oldest of each subject),
  sent at once, and what their answers mean; ``deliver_one`` is a batch of one;
- ``replay_delivery`` / ``replay_subscription``: parked deliveries back in the queue, same ids.

A delivery is recorded only when the subscription's filter matches and its
role receives something of this event type; redaction itself happens at send
time, so a policy tightened later also covers what is still waiting.
"""

from __future__ import annotations

import asyncio
import base64
import logging
import secrets
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

from pathways_contracts.events import NotificationDelivered, NotificationFailed
from pathways_notification.domain.backoff import retry_at
from pathways_notification.domain.filters import Filter, matches
from pathways_contracts.grants import Grants, load_grants
from pathways_notification.domain.model import Attempt, NewDelivery, PendingDelivery, RecordedAttempt, Subscription
from pathways_notification.domain.outcome import Outcome, decide
from pathways_notification.domain.redaction import receives
from pathways_notification.service_layer.commands import (
    DeliverBatch, DeliverOne, FanOut, ReplayDelivery, ReplaySubscription, RestrictContact, Subscribe,
)
from pathways_notification.service_layer.subscription_table import SubscriptionTable
from pathways_notification.service_layer.unit_of_work import NotificationUnitOfWork
from pathways_runtime import metrics
from pathways_runtime.auth import Role
from pathways_runtime.backoff import Backoff
from pathways_runtime.errors import Conflict, Forbidden, InvalidCommand, NotFound, Problem

log = logging.getLogger(__name__)

Send = Callable[[PendingDelivery], Awaitable[Attempt]]


class DestinationRefused(Exception):
    """A webhook URL that resolves where webhooks may not go (raised by a ``CheckDestination``)."""


class CheckDestination(Protocol):
    async def __call__(self, url: str) -> None:
        """Raise ``DestinationRefused`` when ``url`` may not receive webhooks."""


@dataclass(frozen=True)
class Created:
    id: uuid.UUID
    secret: str | None  # the webhook signing secret, shown once; None for email


@dataclass(frozen=True)
class Retries:
    """How long a failing delivery keeps being tried: attempts before it is parked, and the wait between."""

    max_attempts: int
    backoff: Backoff


def new_secret() -> str:
    return "whsec_" + base64.b64encode(secrets.token_bytes(24)).decode()


# --- subscribe ---------------------------------------------------------------------------------------

async def subscribe(cmd: Subscribe, uow: NotificationUnitOfWork, check_destination: CheckDestination,
                    grants: Grants | None = None, changed: Callable[[], None] = lambda: None) -> Created:
    """``changed`` is told once the subscription is committed (this process's table reloads at once)."""
    department, role = _subscriber(cmd, grants or load_grants())
    if cmd.channel == "webhook":
        try:
            await check_destination(cmd.target())
        except DestinationRefused as exc:
            raise InvalidCommand.field("url", f"refused: {exc}") from None
    secret = new_secret() if cmd.channel == "webhook" else None
    sub = Subscription(
        id=uuid.uuid4(), department=department, role=role, event_types=tuple(cmd.event_types),
        channel=cmd.channel, target=cmd.target(), secret=secret,
        filter=Filter(jurisdictions=frozenset(cmd.jurisdictions), min_level=cmd.min_level,
                      categories=frozenset(cmd.categories), programs=frozenset(cmd.programs)))
    async with uow:
        await uow.subscriptions.add(sub)
        await uow.commit()
    changed()
    return Created(sub.id, secret)


def _subscriber(cmd: Subscribe, grants: Grants) -> tuple[str, str]:
    """(department, role) of the new subscription: from the token, or, for operations, from the request."""
    if cmd.caller_role == Role.OPS:
        missing = [Problem(("body", name), "operations must name the department and its role", "missing")
                   for name in ("department", "role") if getattr(cmd, name) is None]
        if missing:
            raise InvalidCommand(missing)
        return cmd.department, str(cmd.role)  # type: ignore[return-value]
    granted = grants.role_of(cmd.caller_org)
    if granted is None:
        raise Forbidden(f"no notification role is granted to {cmd.caller_org!r}; operations can subscribe it")
    if cmd.department is not None and cmd.department != cmd.caller_org:
        raise Forbidden(f"a department subscribes as itself ({cmd.caller_org!r}), not as {cmd.department!r}")
    if cmd.role is not None and cmd.role != granted:
        raise Forbidden(f"{cmd.caller_org!r} subscribes with its granted role {granted.value!r},"
                        f" not {cmd.role.value!r}")
    return cmd.caller_org, str(granted)


# --- fan out -----------------------------------------------------------------------------------------

async def fan_out(cmd: FanOut, uow: NotificationUnitOfWork, subscriptions: SubscriptionTable) -> int:
    """Record one delivery per subscription that wants the event; return how many.

    Subscriptions come from the in-memory table: an event no subscription wants costs no query and
    no transaction of its own, however many subscriptions there are.
    """
    wanted = await subscribers_of(subscriptions, cmd.event_type, cmd.data)
    if not wanted:
        return 0
    async with uow:
        if await _about_a_restricted_case(uow, cmd.data):
            return 0
        await uow.deliveries.add([
            NewDelivery(subscription_id=sub.id, event_id=cmd.event_id, event_type=cmd.event_type,
                        subject=cmd.subject, source=cmd.source, time=cmd.time, body=cmd.data,
                        traceparent=cmd.traceparent) for sub in wanted])
        await uow.commit()
    return len(wanted)


async def subscribers_of(subscriptions: SubscriptionTable, event_type: str, data: dict[str, Any]) -> list[Subscription]:
    """The active subscriptions that want this event (from the in-memory table: no query)."""
    return [sub for sub in await subscriptions.for_type(event_type) if wants(sub, event_type, data)]


def wants(sub: Subscription, event_type: str, data: dict[str, Any]) -> bool:
    return (sub.active and event_type in sub.event_types and receives(sub.role, event_type)
            and matches(sub.filter, event_type, data))


async def _about_a_restricted_case(uow: NotificationUnitOfWork, data: dict[str, Any]) -> bool:
    """Someone on the event's case must not be contacted: nothing about the case goes out."""
    case_id = data.get("case_id")
    return case_id is not None and await uow.restrictions.is_restricted(str(case_id))


# --- restrict contact --------------------------------------------------------------------------------

async def restrict_contact(cmd: RestrictContact, uow: NotificationUnitOfWork) -> int:
    """Record the case's flag (a later change wins); a restriction cancels what waits; return how many."""
    cancelled = 0
    async with uow:
        applied = await uow.restrictions.record(cmd.case_id, cmd.restricted, cmd.changed_at)
        if applied and cmd.restricted:
            cancelled = await uow.deliveries.cancel_about_case(cmd.case_id)
        await uow.commit()
    if cancelled:
        log.info("case restricted: waiting deliveries cancelled",
                 extra={"case_id": str(cmd.case_id), "cancelled": cancelled})
    return cancelled


# --- deliver -----------------------------------------------------------------------------------------

async def deliver_one(cmd: DeliverOne, uow: NotificationUnitOfWork, send: Send, retries: Retries,
                      now: Callable[[], datetime] = lambda: datetime.now(UTC)) -> Outcome | None:
    """One attempt at the subscription's oldest due delivery; None when nothing was due."""
    outcomes = await deliver_batch(DeliverBatch(subscription_id=cmd.subscription_id, limit=1), uow, send,
                                   retries, now)
    return outcomes[0] if outcomes else None


@dataclass(frozen=True)
class _Sent:
    delivery: PendingDelivery
    attempt: Attempt
    attempts: int  # this attempt's number
    outcome: Outcome


async def deliver_batch(cmd: DeliverBatch, uow: NotificationUnitOfWork, send: Send, retries: Retries,
                        now: Callable[[], datetime] = lambda: datetime.now(UTC)) -> list[Outcome]:
    """One attempt at each due delivery of the batch, all at once; their outcomes, oldest first ([]: none due).

    The attempts happen between two units of work, outside any transaction (a slow receiver holds no
    database connection); the second records every attempt and outcome of the batch in one transaction.
    A delivery about a case restricted since it was recorded is cancelled, never sent.
    """
    async with uow:
        batch = await uow.deliveries.due(cmd.subscription_id, now(), cmd.limit)
    if not batch:
        return []
    restricted = [d for d in batch if d.case_restricted]
    to_send = [d for d in batch if not d.case_restricted]
    sent = [_Sent(d, attempt, d.attempts + 1,
                  decide(attempt.status_code, d.attempts + 1, retries.max_attempts, channel=d.channel))
            for d, attempt in zip(to_send, await asyncio.gather(*(_attempt(send, d) for d in to_send)),
                                  strict=True)]
    async with uow:
        # Recorded just before the restriction committed, so its cancel did not see them.
        for d in restricted:
            await uow.deliveries.cancel(d.id)
        at = now()
        await uow.deliveries.record_outcomes([
            RecordedAttempt(s.delivery.id, s.attempt, s.attempts, str(s.outcome),
                            retry_at(retries.backoff, s.attempts, at, s.attempt.asked_wait_seconds)
                            if s.outcome is Outcome.RETRY else None)
            for s in sent])
        for s in sent:  # one event per delivered or parked delivery (the contract), in the batch's order
            if s.outcome is Outcome.DELIVERED:
                await uow.emit(NotificationDelivered(**s.delivery.facts(s.attempts), delivered_at=at))
            elif s.outcome is Outcome.PARKED:
                await uow.emit(NotificationFailed(**s.delivery.facts(s.attempts), last_error=s.attempt.reason(),
                                                  failed_at=at))
        # A 410 last: it cancels what still waits, which must not undo what the rest of the batch recorded.
        for subscription_id in {s.delivery.subscription_id for s in sent if s.outcome is Outcome.UNSUBSCRIBED}:
            await _unsubscribe(uow, subscription_id)
        await uow.commit()
    _report(cmd.subscription_id, sent, len(restricted))
    outcomes = {s.delivery.id: s.outcome for s in sent} | {d.id: Outcome.CANCELLED for d in restricted}
    return [outcomes[d.id] for d in batch]


def _report(subscription_id: uuid.UUID, sent: list[_Sent], cancelled: int) -> None:
    """Metrics and logs of a recorded batch: one INFO line for the batch, and one for each attempt that did
    not deliver (what an operator looks into). A delivered attempt's own line is DEBUG: a JSON line costs
    about 70 µs of CPU, as much as the rest of recording the attempt, and every attempt is in the attempt
    log (``GET /deliveries/{id}/attempts``) and the metrics anyway."""
    latencies: dict[tuple[str, Outcome], list[float]] = {}
    for s in sent:
        latencies.setdefault((s.delivery.channel, s.outcome), []).append(s.attempt.latency_ms / 1000)
        level = logging.DEBUG if s.outcome is Outcome.DELIVERED else logging.INFO
        if log.isEnabledFor(level):
            log.log(level, "delivery attempt", extra={
                "delivery_id": str(s.delivery.id), "subscription_id": str(s.delivery.subscription_id),
                "attempt": s.attempts, "status_code": s.attempt.status_code, "latency_ms": s.attempt.latency_ms,
                "outcome": str(s.outcome)})
    for (channel, outcome), seconds in latencies.items():
        metrics.deliveries(channel, str(outcome), seconds)
    outcomes = Counter(str(s.outcome) for s in sent)
    if cancelled:
        outcomes[str(Outcome.CANCELLED)] = cancelled
    log.info("delivery batch recorded", extra={
        "subscription_id": str(subscription_id), "outcomes": dict(outcomes),
        "latency_ms_max": max((s.attempt.latency_ms for s in sent), default=0)})


async def _attempt(send: Send, delivery: PendingDelivery) -> Attempt:
    """``send``, with a sender's unexpected error as a failed attempt: the rest of the batch is still recorded."""
    try:
        return await send(delivery)
    except Exception as exc:  # noqa: BLE001 (the senders answer every receiver's failure as an Attempt)
        log.exception("delivery attempt failed unexpectedly", extra={"delivery_id": str(delivery.id)})
        return Attempt(None, 0, f"not sent: {exc!r}")


async def _unsubscribe(uow: NotificationUnitOfWork, subscription_id: uuid.UUID) -> None:
    """The receiver answered 410: the subscription is deactivated and what still waits for it cancelled."""
    await uow.subscriptions.deactivate(subscription_id)
    cancelled = await uow.deliveries.cancel_pending_of(subscription_id)
    log.warning("receiver answered 410: subscription deactivated",
                extra={"subscription_id": str(subscription_id), "cancelled": cancelled})


# --- replay ------------------------------------------------------------------------------------------

async def replay_delivery(cmd: ReplayDelivery, uow: NotificationUnitOfWork) -> list[uuid.UUID]:
    """Put one parked delivery back in the queue (same id, so the receiver can drop a duplicate)."""
    async with uow:
        found = await uow.deliveries.view(cmd.delivery_id)
        if found is None:
            raise NotFound(f"no delivery {cmd.delivery_id}")
        replayed = await uow.deliveries.replay_parked(delivery_id=cmd.delivery_id)
        if not replayed:
            raise Conflict(f"delivery {cmd.delivery_id} is {found['status']}, or its subscription is inactive;"
                           " only parked deliveries of active subscriptions are replayed")
        await uow.commit()
    return replayed


async def replay_subscription(cmd: ReplaySubscription, uow: NotificationUnitOfWork) -> list[uuid.UUID]:
    """Put every parked delivery of a subscription back in the queue."""
    async with uow:
        if await uow.subscriptions.get(cmd.subscription_id) is None:
            raise NotFound(f"no subscription {cmd.subscription_id}")
        replayed = await uow.deliveries.replay_parked(subscription_id=cmd.subscription_id)
        await uow.commit()
    return replayed
