"""Environmental health: on a red flag at a licensed establishment, schedule a follow-up inspection by calling
the inspection service (``POST {INSPECTION_URL}/follow-ups``).

The call carries the event id as ``Idempotency-Key``: should the handler's
transaction roll back after the call (and the event be retried), the
inspection service recognises the second request as the same one.
"""

from __future__ import annotations

import os
from datetime import date, timedelta
from pathlib import Path

import httpx

from pathways_consumer_kit import Context, DepartmentConsumer
from pathways_contracts.events import RedFlagRaised
from pathways_contracts.vocab import Level

DEPARTMENT = "health"
MIGRATIONS = Path(__file__).parent / "migrations"
FOLLOW_UP_DAYS = {Level.URGENT: 2, Level.RED_FLAG: 14}  # how soon an inspector goes back


class FollowUpRefused(RuntimeError):
    """The inspection service did not accept the request: the kit retries, then parks the event."""


def follow_up_request(event: RedFlagRaised) -> dict | None:
    """The body of ``POST /follow-ups`` for this red flag; None for a concern (the routine schedule covers it)."""
    days = FOLLOW_UP_DAYS.get(event.level)
    if days is None:
        return None
    due_on = event.raised_at.date() + timedelta(days=days)
    return {"establishment_id": event.establishment_id, "reason": "follow_up", "due_on": due_on.isoformat(),
            "red_flag_id": str(event.red_flag_id), "requested_by": DEPARTMENT}


def follow_up_handler(inspection_url: str, token: str | None, client: httpx.AsyncClient | None = None):
    async def on_red_flag(event: RedFlagRaised, ctx: Context) -> None:
        request = follow_up_request(event)
        if request is None:
            return
        due_on = date.fromisoformat(request["due_on"])
        headers = {"Idempotency-Key": ctx.event.id} | ({"Authorization": f"Bearer {token}"} if token else {})
        async with _client(client) as http:
            response = await http.post(f"{inspection_url}/follow-ups", json=request, headers=headers, timeout=10)
        if not response.is_success:
            raise FollowUpRefused(f"inspection service answered {response.status_code}: {response.text[:200]}")
        await ctx.conn.execute(
            f"insert into {ctx.schema}.follow_ups (red_flag_id, establishment_id, due_on, status_code)"
            " values ($1, $2, $3, $4) on conflict do nothing",
            event.red_flag_id, event.establishment_id, due_on, response.status_code)

    return on_red_flag


class _client:
    """The given client (tests, connection reuse) or a short-lived one."""

    def __init__(self, given: httpx.AsyncClient | None) -> None:
        self._given, self._own = given, None

    async def __aenter__(self) -> httpx.AsyncClient:
        if self._given is not None:
            return self._given
        self._own = httpx.AsyncClient()
        return self._own

    async def __aexit__(self, *exc: object) -> None:
        if self._own is not None:
            await self._own.aclose()


def build(inspection_url: str | None = None, token: str | None = None, **options) -> DepartmentConsumer:
    url = inspection_url or os.environ.get("INSPECTION_URL", "http://127.0.0.1:8001")
    consumer = DepartmentConsumer(DEPARTMENT, migrations=MIGRATIONS, **options)
    consumer.on(RedFlagRaised)(follow_up_handler(url, token or os.environ.get("INSPECTION_TOKEN")))
    return consumer


def main() -> None:
    build().run()
