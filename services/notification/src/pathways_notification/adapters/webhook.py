"""Webhook delivery over HTTP, signed in the Standard Webhooks header style."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from dataclasses import dataclass

import httpx


def signature_headers(secret: str, msg_id: str, body: bytes, timestamp: int | None = None) -> dict[str, str]:
    """``webhook-id``, ``webhook-timestamp`` and ``webhook-signature`` (v1, HMAC-SHA256)."""
    ts = str(timestamp if timestamp is not None else int(time.time()))
    key = base64.b64decode(secret.removeprefix("whsec_"))
    digest = hmac.new(key, f"{msg_id}.{ts}.".encode() + body, hashlib.sha256).digest()
    return {"webhook-id": msg_id, "webhook-timestamp": ts,
            "webhook-signature": "v1," + base64.b64encode(digest).decode()}


@dataclass(frozen=True)
class Attempt:
    status_code: int | None
    latency_ms: int
    error: str | None

    @property
    def ok(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


async def post(client: httpx.AsyncClient, url: str, secret: str | None, delivery_id: str, payload: dict,
               timeout: float = 10.0) -> Attempt:
    body = json.dumps(payload, separators=(",", ":"), default=str).encode()
    headers = {"content-type": "application/json"}
    if secret:
        headers |= signature_headers(secret, delivery_id, body)
    started = time.perf_counter()
    try:
        response = await client.post(url, content=body, headers=headers, timeout=timeout)
    except httpx.HTTPError as exc:
        return Attempt(None, _ms(started), repr(exc))
    return Attempt(response.status_code, _ms(started), None if response.is_success else response.text[:500])


def _ms(started: float) -> int:
    return int((time.perf_counter() - started) * 1000)
