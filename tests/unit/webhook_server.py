"""A real aiohttp server on this machine for the webhook tests, and a session as the service makes one:
the tests send on the path production takes (``webhook.post`` through ``webhook.new_session``)."""

from __future__ import annotations

import asyncio
import contextlib
import ssl
from collections.abc import AsyncIterator

import aiohttp
from aiohttp import web

from pathways_notification.adapters import webhook


class Receiver:
    """An aiohttp server on loopback that records each request, with the address it came in on."""

    def __init__(self) -> None:
        self.requests: list[dict] = []
        self.status, self.delay, self.answer, self.location = 204, 0.0, b"", None
        self.headers: dict[str, str] = {}  # sent with every answer

    async def handle(self, request: web.Request) -> web.Response:
        body = await request.read()
        self.requests.append({"path": request.path, "headers": dict(request.headers), "body": body,
                              "local": request.transport.get_extra_info("sockname")[0]})
        await asyncio.sleep(self.delay)
        headers = self.headers | ({"location": self.location} if self.location else {})
        return web.Response(status=self.status, body=self.answer, headers=headers)


@contextlib.asynccontextmanager
async def serving(address: str = "127.0.0.1", tls: ssl.SSLContext | None = None) -> AsyncIterator[tuple[Receiver, int]]:
    receiver = Receiver()
    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", receiver.handle)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, address, 0, ssl_context=tls)
    await site.start()
    try:
        yield receiver, runner.addresses[0][1]
    finally:
        await runner.cleanup()


@contextlib.asynccontextmanager
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    client = webhook.new_session(4)
    try:
        yield client
    finally:
        await client.close()
