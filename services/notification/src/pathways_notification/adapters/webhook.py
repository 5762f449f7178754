"""Webhook delivery over HTTP: a structured-mode CloudEvent, signed in the Standard Webhooks header style."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time

import httpx

from pathways_notification.domain.destinations import AddressPolicy
from pathways_notification.domain.envelope import STRUCTURED_CONTENT_TYPE
from pathways_notification.domain.model import Attempt
from pathways_notification.adapters.destinations import Refused, Unresolved, checked_address, host_and_port

__all__ = ["Attempt", "client_limits", "post", "signature_headers"]


def client_limits(max_connections: int) -> httpx.Limits:
    """A subscription's pool: a lane sends its whole batch at once, so (unlike httpx's default of 100
    connections, 20 of them kept alive) the batch's connections fit, and stay open for the next batch."""
    return httpx.Limits(max_connections=max_connections, max_keepalive_connections=max_connections)


def signature_headers(secret: str, msg_id: str, body: bytes, timestamp: int | None = None) -> dict[str, str]:
    """``webhook-id``, ``webhook-timestamp`` and ``webhook-signature`` (v1, HMAC-SHA256)."""
    ts = str(timestamp if timestamp is not None else int(time.time()))
    key = base64.b64decode(secret.removeprefix("whsec_"))
    digest = hmac.new(key, f"{msg_id}.{ts}.".encode() + body, hashlib.sha256).digest()
    return {"webhook-id": msg_id, "webhook-timestamp": ts,
            "webhook-signature": "v1," + base64.b64encode(digest).decode()}


async def post(client: httpx.AsyncClient, url: str, secret: str | None, delivery_id: str, event: dict,
               timeout: float = 10.0, policy: AddressPolicy | None = None) -> Attempt:
    """One attempt: POST ``event`` (a structured CloudEvent) to ``url``.

    With a ``policy``, the host is resolved and checked now, and the request goes to the checked
    address (TLS still verifies the certificate against the host name).
    """
    body = json.dumps(event, separators=(",", ":"), default=str).encode()
    headers = {"content-type": STRUCTURED_CONTENT_TYPE}
    if secret:
        headers |= signature_headers(secret, delivery_id, body)
    started = time.perf_counter()
    request_url, extensions = httpx.URL(url), {}
    if policy is not None:
        try:
            address = await checked_address(url, policy)
        except (Refused, Unresolved) as exc:
            return Attempt(None, _ms(started), f"not sent: {exc}")
        host, _ = host_and_port(url)
        headers["host"] = request_url.netloc.decode()
        request_url = request_url.copy_with(host=str(address))
        extensions = {"sni_hostname": host}
    try:
        # No limit on waiting for a pooled connection: lanes of other subscriptions may hold them all, and
        # that is no failure of this receiver (connecting, writing and reading have the timeout).
        response = await client.post(request_url, content=body, headers=headers,
                                     timeout=httpx.Timeout(timeout, pool=None), extensions=extensions)
    except httpx.HTTPError as exc:
        return Attempt(None, _ms(started), repr(exc))
    return Attempt(response.status_code, _ms(started), None if response.is_success else response.text[:500])


def _ms(started: float) -> int:
    return int((time.perf_counter() - started) * 1000)
