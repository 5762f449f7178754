"""The three services running in this process against the session's broker and PostgreSQL.

Their HTTP APIs are called through ``httpx`` on the ASGI apps; everything
else (database, outbox relay, consumers) is the real thing over the wire.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass

import httpx
import pytest

from support import WebhookReceiver


@pytest.fixture
def receiver() -> Iterator[WebhookReceiver]:
    """A real HTTP receiver for one test, answering 204 unless told otherwise."""
    rx = WebhookReceiver()
    yield rx
    rx.close()


@dataclass
class Running:
    inspection: httpx.AsyncClient
    referral: httpx.AsyncClient
    notification: httpx.AsyncClient
    services: dict


def _inspection():
    from pathways_inspection.app import create_app

    app = create_app()
    return app.state.service, app


def _referral():
    from pathways_referral.app import create_app

    app = create_app()
    return app.state.service, app


def _notification():
    from pathways_notification.app import create_app
    from pathways_notification.bootstrap import bootstrap
    from pathways_notification.settings import NotificationSettings

    # The tests' webhook receivers listen on this machine: loopback is allowed explicitly, as an operator would.
    settings = NotificationSettings(OTEL_SERVICE_NAME="notification", webhook_allowed_networks=["127.0.0.0/8"])
    app = create_app(bootstrap(settings))
    return app.state.service, app


@pytest.fixture(scope="session")
async def running(infrastructure) -> AsyncIterator[Running]:
    built = {"inspection": _inspection(), "referral": _referral(), "notification": _notification()}
    async with contextlib.AsyncExitStack() as stack:
        for service, _ in built.values():
            await stack.enter_async_context(service.running())
        clients = [await stack.enter_async_context(
            httpx.AsyncClient(transport=httpx.ASGITransport(app), base_url=f"http://{name}"))
            for name, (_, app) in built.items()]
        yield Running(*clients, services={name: service for name, (service, _) in built.items()})
