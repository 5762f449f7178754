"""Sending one delivery over its channel: the redacted structured CloudEvent to a webhook or a mailbox."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable

import aiohttp
from opentelemetry import context as otel_context
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

from pathways_notification.adapters import email, webhook
from pathways_notification.domain.destinations import AddressPolicy
from pathways_notification.domain.envelope import structured_event
from pathways_notification.domain.model import Attempt, PendingDelivery
from pathways_notification.settings import NotificationSettings


class ChannelSender:
    """Sends a delivery over its channel; webhooks through one keep-alive HTTP pool per subscription.

    A pool per subscription (an aiohttp session), as large as a lane's batch: a lane never waits for
    connections that another subscription's slow receiver holds, and each pool stays small (httpcore's
    pool bookkeeping grew with the square of its connections: one shared 512-connection pool spent a
    quarter of the delivery worker's CPU there). An idle pool holds no socket once its connections'
    keep-alive expired.
    """

    BODIES_KEPT = 4096  # encoded bodies of recent (event, role) pairs

    def __init__(self, settings: NotificationSettings, policy: Callable[[], AddressPolicy]) -> None:
        self._pools: dict[uuid.UUID, aiohttp.ClientSession] = {}
        # An event goes to every subscription that wants it, redacted for each one's role: the subscriptions
        # of one role get the same body, redacted and encoded once (an event id names one event's data).
        self._bodies: dict[tuple[str, str], bytes] = {}
        self._settings = settings
        self._policy = policy  # read per attempt: an operator's allow-list applies to what is still waiting

    def _session(self, subscription_id: uuid.UUID) -> aiohttp.ClientSession:
        if (session := self._pools.get(subscription_id)) is None:
            session = self._pools[subscription_id] = webhook.new_session(self._settings.delivery_batch_size)
        return session

    def _body(self, delivery: PendingDelivery) -> bytes:
        key = (delivery.event_id, delivery.role)
        if (body := self._bodies.get(key)) is None:
            if len(self._bodies) >= self.BODIES_KEPT:
                del self._bodies[next(iter(self._bodies))]  # the oldest
            body = self._bodies[key] = webhook.encoded(structured_event(delivery))
        return body

    async def aclose(self) -> None:
        pools, self._pools = list(self._pools.values()), {}
        await asyncio.gather(*(session.close() for session in pools), return_exceptions=True)

    async def __call__(self, delivery: PendingDelivery) -> Attempt:
        # The attempt joins the trace of the event it delivers (the receiver gets a traceparent header).
        parent = TraceContextTextMapPropagator().extract({"traceparent": delivery.traceparent or ""})
        token = otel_context.attach(parent)
        try:
            if delivery.channel == "email":
                return await email.send(self._settings.email, delivery.target, str(delivery.id),
                                        delivery.event_type, structured_event(delivery))
            return await webhook.post(self._session(delivery.subscription_id), delivery.target, delivery.secret,
                                      str(delivery.id), self._body(delivery),
                                      timeout=self._settings.delivery_timeout_seconds, policy=self._policy())
        finally:
            otel_context.detach(token)
