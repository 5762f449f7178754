"""Past its bound on requests in flight a service answers 503 with Retry-After at once (shedding.py)."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import threading

import httpx
import pytest
from fastapi import APIRouter
from prometheus_client import REGISTRY
from pydantic import BaseModel

from pathways_runtime.auth import Role, issue_token
from pathways_runtime.service import Service
from pathways_runtime.settings import Settings
from support import eventually
from threaded_server import serving, status_line

pytestmark = pytest.mark.unit
SECRET = "unit-test-secret-of-at-least-32-bytes!"
AUTH = {"Authorization": f"Bearer {issue_token(SECRET, subject='s', role=Role.INSPECTOR, org='health')}"}


class Inspection(BaseModel):
    notes: str


def _app(limit: int, release: asyncio.Event | None = None, entered: list | None = None):
    router = APIRouter()

    @router.post("/hold")
    async def hold() -> dict:  # stays in flight until the test lets it go
        entered.append(1)
        await release.wait()
        return {"held": True}

    @router.post("/inspections")
    async def record(body: Inspection) -> dict:
        return {"length": len(body.notes)}

    @router.post("/fail")
    async def fail() -> dict:
        raise RuntimeError("a bug in a route")

    settings = Settings(_env_file=None, PATHWAYS_JWT_SECRET=SECRET, PATHWAYS_MAX_REQUESTS_IN_FLIGHT=limit)
    return Service("shedding", schema="shedding", migrations=None, description="", settings=settings).app(router)


def _shed_total() -> float:
    return REGISTRY.get_sample_value("pathways_http_requests_shed_total") or 0.0


@contextlib.asynccontextmanager
async def _client(app):
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://shedding") as client:
        yield client


async def test_a_request_past_the_bound_is_answered_503_at_once_and_probes_still_answer():
    release, entered = asyncio.Event(), []
    async with _client(_app(limit=2, release=release, entered=entered)) as client:
        held = [asyncio.create_task(client.post("/hold", headers=AUTH)) for _ in range(2)]
        await eventually(lambda: _count(entered, 2), timeout=5, interval=0.01)
        shed_before = _shed_total()

        refused = await client.post("/inspections", headers=AUTH, json={"notes": "x"})
        assert refused.status_code == 503
        assert refused.headers["retry-after"] == "1"
        assert "overloaded: 2 requests are in flight" in refused.json()["detail"]
        assert _shed_total() == shed_before + 1
        for probe in ("/healthz", "/metrics", "/openapi.json"):  # never shed: the service is busy, not down
            assert (await client.get(probe)).status_code == 200, probe
        # The token is checked first: a caller without one learns nothing, not even that the service is busy.
        assert (await client.post("/inspections", json={"notes": "x"})).status_code == 401

        release.set()
        assert [r.status_code for r in await asyncio.gather(*held)] == [200, 200]
        assert (await client.post("/inspections", headers=AUTH, json={"notes": "x"})).status_code == 200


async def test_a_request_that_fails_gives_its_place_back():
    async with _client(_app(limit=1)) as client:
        assert (await client.post("/inspections", headers=AUTH, json={})).status_code == 422
        assert (await client.post("/fail", headers=AUTH)).status_code == 500
        assert (await client.post("/fail", headers=AUTH)).status_code == 500  # not 503: the place came back
        assert (await client.post("/inspections", headers=AUTH, json={"notes": "x"})).status_code == 200


async def test_a_bound_of_zero_sheds_nothing():
    release, entered = asyncio.Event(), []
    async with _client(_app(limit=0, release=release, entered=entered)) as client:
        held = [asyncio.create_task(client.post("/hold", headers=AUTH)) for _ in range(100)]
        await eventually(lambda: _count(entered, 100), timeout=5, interval=0.01)
        assert (await client.post("/inspections", headers=AUTH, json={"notes": "x"})).status_code == 200
        release.set()
        assert {r.status_code for r in await asyncio.gather(*held)} == {200}


def test_the_bound_is_a_setting():
    assert Settings(_env_file=None).max_requests_in_flight == 64
    assert Settings(_env_file=None, PATHWAYS_MAX_REQUESTS_IN_FLIGHT=0).max_requests_in_flight == 0
    with pytest.raises(ValueError, match="max_requests_in_flight|PATHWAYS_MAX_REQUESTS_IN_FLIGHT"):
        Settings(_env_file=None, PATHWAYS_MAX_REQUESTS_IN_FLIGHT=-1)


def test_over_http_requests_whose_bodies_are_still_coming_fill_the_bound_and_the_next_one_is_refused():
    body = b'{"notes": "held while its body trickles in"}'
    with serving(_app(limit=2)) as (host, port):
        held = []
        for _ in range(2):  # in flight: each sent its head and half its body, the route waits for the rest
            sock = socket.create_connection((host, port), timeout=10)
            sock.sendall(f"POST /inspections HTTP/1.1\r\nHost: x\r\nAuthorization: {AUTH['Authorization']}\r\n"
                         f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n".encode()
                         + body[:10])
            held.append(sock)
        try:
            url = f"http://{host}:{port}"
            refused = _poll_for(lambda: httpx.post(f"{url}/inspections", headers=AUTH, json={"notes": "x"},
                                                   timeout=10), status=503)
            assert refused.headers["retry-after"] == "1"
            assert httpx.get(f"{url}/healthz", timeout=10).status_code == 200
            for sock in held:  # the rest of each body: both are answered
                sock.sendall(body[10:])
                assert status_line(sock).split()[1] == "200"
            assert httpx.post(f"{url}/inspections", headers=AUTH, json={"notes": "x"}, timeout=10).status_code == 200
        finally:
            for sock in held:
                sock.close()


async def _count(items: list, expected: int) -> bool:
    return len(items) == expected


def _poll_for(call, status: int, attempts: int = 100) -> httpx.Response:
    """Both held requests must have reached the app before the third one counts them: poll briefly."""
    for _ in range(attempts):
        response = call()
        if response.status_code == status:
            return response
        threading.Event().wait(0.05)
    raise AssertionError(f"never answered {status}; last {response.status_code} {response.text}")
