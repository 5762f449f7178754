"""Sending one delivery over its channel: the redacted structured CloudEvent to a webhook or a mailbox."""

from __future__ import annotations

from collections.abc import Callable

import httpx
from opentelemetry import context as otel_context
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

from pathways_notification.adapters import email, webhook
from pathways_notification.domain.destinations import AddressPolicy
from pathways_notification.domain.envelope import structured_event
from pathways_notification.domain.model import Attempt, PendingDelivery
from pathways_notification.settings import NotificationSettings


class ChannelSender:
    def __init__(self, client: httpx.AsyncClient, settings: NotificationSettings,
                 policy: Callable[[], AddressPolicy]) -> None:
        self._client = client
        self._settings = settings
        self._policy = policy  # read per attempt: an operator's allow-list applies to what is still waiting

    async def __call__(self, delivery: PendingDelivery) -> Attempt:
        # The attempt joins the trace of the event it delivers (the receiver gets a traceparent header).
        parent = TraceContextTextMapPropagator().extract({"traceparent": delivery.traceparent or ""})
        token = otel_context.attach(parent)
        try:
            event = structured_event(delivery)
            if delivery.channel == "email":
                return await email.send(self._settings.email, delivery.target, str(delivery.id),
                                        delivery.event_type, event)
            return await webhook.post(self._client, delivery.target, delivery.secret, str(delivery.id), event,
                                      timeout=self._settings.delivery_timeout_seconds, policy=self._policy())
        finally:
            otel_context.detach(token)
