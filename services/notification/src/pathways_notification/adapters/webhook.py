"""Webhook delivery over HTTP: a structured-mode CloudEvent, signed in the Standard Webhooks header style.

Deliveries go through aiohttp, one keep-alive session per subscription (``new_session``). httpx cost
about three times as much CPU per POST (request building, httpcore's pool bookkeeping, a readability
check of every pooled socket, an SSL context per client, the OpenTelemetry hook): it was 43 % of the
service's busy time.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from datetime import UTC, datetime
from urllib.parse import urlsplit

import aiohttp
import orjson
from opentelemetry import trace
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator
from yarl import URL

from pathways_notification.domain.backoff import asked_wait
from pathways_notification.domain.destinations import AddressPolicy
from pathways_notification.domain.envelope import STRUCTURED_CONTENT_TYPE
from pathways_notification.domain.model import Attempt
from pathways_notification.adapters.destinations import Refused, Unresolved, checked_address, host_and_port

__all__ = ["Attempt", "new_session", "post", "signature_headers"]

# Resolved to the service's provider once telemetry started (a proxy until then: nothing happens at import).
_tracer = trace.get_tracer(__name__)
_propagator = TraceContextTextMapPropagator()
KEEPALIVE_SECONDS = 5.0  # as httpx's pools did: an idle subscription soon holds no socket


def new_session(max_connections: int) -> aiohttp.ClientSession:
    """A subscription's pool: a lane sends its whole batch at once, so the batch's connections fit, and stay
    open for the next batch. No cookies (every delivery stands alone), no proxy from the environment."""
    connector = aiohttp.TCPConnector(limit=max_connections, keepalive_timeout=KEEPALIVE_SECONDS)
    return aiohttp.ClientSession(connector=connector, cookie_jar=aiohttp.DummyCookieJar(), trust_env=False)


def signature_headers(secret: str, msg_id: str, body: bytes, timestamp: int | None = None) -> dict[str, str]:
    """``webhook-id``, ``webhook-timestamp`` and ``webhook-signature`` (v1, HMAC-SHA256)."""
    ts = str(timestamp if timestamp is not None else int(time.time()))
    key = base64.b64decode(secret.removeprefix("whsec_"))
    digest = hmac.new(key, f"{msg_id}.{ts}.".encode() + body, hashlib.sha256).digest()
    return {"webhook-id": msg_id, "webhook-timestamp": ts,
            "webhook-signature": "v1," + base64.b64encode(digest).decode()}


async def post(session: aiohttp.ClientSession, url: str, secret: str | None, delivery_id: str,
               event: dict | bytes, timeout: float = 10.0, policy: AddressPolicy | None = None) -> Attempt:
    """One attempt: POST ``event`` (a structured CloudEvent, or its ``encoded`` body) to ``url``.

    With a ``policy``, the host is resolved and checked now, before every attempt, and the request goes
    to the checked address (the Host header keeps the name, and TLS sends it and verifies the certificate
    against it). A pooled connection is one to that same address and name: the pool is keyed by both.
    """
    body = event if isinstance(event, bytes) else encoded(event)
    headers = {"content-type": STRUCTURED_CONTENT_TYPE}
    if secret:
        headers |= signature_headers(secret, delivery_id, body)
    started = time.perf_counter()
    target, tls_name = url, None
    if policy is not None:
        try:
            address = await checked_address(url, policy)
        except (Refused, Unresolved) as exc:
            return Attempt(None, _ms(started), f"not sent: {exc}")
        original = URL(url)
        headers["host"] = original.host_port_subcomponent or ""
        target, tls_name = str(original.with_host(str(address))), host_and_port(url)[0]
    # A client span per attempt, and its traceparent for the receiver: the attempt shows in `pathways trace`
    # under the event it delivers (the caller attached the event's trace), and the receiver can join it.
    # Started by hand and never made current (nothing below reads it): start_as_current_span's context
    # manager and the context switch cost a quarter of the span.
    span = _tracer.start_span("POST", kind=trace.SpanKind.CLIENT, attributes={
        "http.request.method": "POST", "url.full": _shown(url)})
    try:
        _propagator.inject(headers, context=trace.set_span_in_context(span))
        attempt = await _send(session, target, body, headers, timeout, tls_name, started)
        if attempt.status_code is not None:
            span.set_attribute("http.response.status_code", attempt.status_code)
        if not attempt.ok:
            span.set_status(trace.StatusCode.ERROR, attempt.reason()[:200])
    finally:
        span.end()
    return attempt


def encoded(event: dict) -> bytes:
    """The body of a webhook: the structured CloudEvent as compact JSON (UTF-8)."""
    return orjson.dumps(event, default=str)


async def _send(session: aiohttp.ClientSession, target: str, body: bytes, headers: dict[str, str], timeout: float,
                tls_name: str | None, started: float) -> Attempt:
    # Connecting and each read have the timeout; waiting for a pooled connection has none: lanes of other
    # subscriptions never share this pool, and a batch fits it. Redirects are not followed (as httpx did
    # not): a 3xx is the receiver's answer, and following it would go to an address nobody checked.
    limits = aiohttp.ClientTimeout(total=None, connect=None, sock_connect=timeout, sock_read=timeout)
    try:
        async with session.post(target, data=body, headers=headers, timeout=limits, allow_redirects=False,
                                server_hostname=tls_name) as response:
            # Read to the end either way, so the connection goes back to the pool for the next batch.
            answer = await response.read()
            if 200 <= response.status < 300:
                return Attempt(response.status, _ms(started), None)
            return Attempt(response.status, _ms(started), answer.decode(response.get_encoding(), "replace")[:500],
                           asked_wait(response.status, response.headers.get("retry-after"), datetime.now(UTC)))
    except (aiohttp.ClientError, TimeoutError) as exc:
        # Shaped like httpx's repr (ConnectError('...')), with aiohttp's message: its repr holds the whole
        # connection key.
        return Attempt(None, _ms(started), f"{type(exc).__name__}({str(exc)!r})")


def _shown(url: str) -> str:
    """The URL as a span shows it: no credentials and no query (a receiver may put a token in either)."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc.rpartition('@')[2]}{parts.path}"


def _ms(started: float) -> int:
    return int((time.perf_counter() - started) * 1000)
