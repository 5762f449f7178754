"""Request bodies are limited per route and refused with 413 before they are read (issue 14, item 9)."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator

import httpx
import pytest
from fastapi import APIRouter, Request
from pydantic import BaseModel

from pathways_runtime.auth import Role, issue_token
from pathways_runtime.http import MiB
from pathways_runtime.service import Service
from pathways_runtime.settings import Settings
from threaded_server import serving, status_line

pytestmark = pytest.mark.unit
SECRET = "unit-test-secret-of-at-least-32-bytes!"
TOKEN = issue_token(SECRET, subject="s", role=Role.INSPECTOR, org="health")
AUTH = [(b"authorization", f"Bearer {TOKEN}".encode())]


class Inspection(BaseModel):
    notes: str


def _app(handled: list[str]):
    router = APIRouter()

    @router.post("/inspections")
    async def record(body: Inspection) -> dict:
        handled.append("inspections")
        return {"length": len(body.notes)}

    @router.post("/establishments/import", max_body_size=5 * MiB)  # a route may declare a larger limit
    async def bulk(request: Request) -> dict:
        size = 0
        async for chunk in request.stream():
            size += len(chunk)
        handled.append("import")
        return {"bytes": size}

    settings = Settings(_env_file=None, PATHWAYS_JWT_SECRET=SECRET, PATHWAYS_MAX_BODY_BYTES=MiB)
    return Service("limits", schema="limits", migrations=None, description="", settings=settings).app(router)


async def _call(app, path: str, chunks: Iterator[bytes], *, content_length: int | None = None):
    """Drive the ASGI app by hand, so we see how much of the body it pulled."""
    pulled = 0
    sent: list[dict] = []
    source = iter(chunks)

    async def receive() -> dict:
        nonlocal pulled
        chunk = next(source, None)
        if chunk is None:
            return {"type": "http.request", "body": b"", "more_body": False}
        pulled += len(chunk)
        return {"type": "http.request", "body": chunk, "more_body": True}

    async def send(message: dict) -> None:
        sent.append(message)

    headers = AUTH + [(b"content-type", b"application/json")]
    if content_length is not None:
        headers.append((b"content-length", str(content_length).encode()))
    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST", "scheme": "http",
             "path": path, "raw_path": path.encode(), "root_path": "", "query_string": b"", "headers": headers,
             "client": ("127.0.0.1", 1), "server": ("127.0.0.1", 80), "state": {}}
    await app(scope, receive, send)
    status = next(m["status"] for m in sent if m["type"] == "http.response.start")
    return status, pulled


def _megabytes(count: int) -> Iterator[bytes]:
    return (b"x" * MiB for _ in range(count))


async def test_a_declared_50_mb_body_is_refused_without_reading_any_of_it():
    handled: list[str] = []
    status, pulled = await _call(_app(handled), "/inspections", _megabytes(50), content_length=50 * MiB)
    assert (status, pulled, handled) == (413, 0, [])


async def test_a_streamed_body_without_a_length_is_cut_off_once_it_passes_the_limit():
    handled: list[str] = []
    status, pulled = await _call(_app(handled), "/inspections", _megabytes(50))
    assert status == 413
    assert pulled <= 2 * MiB  # read up to the limit and one chunk more, not the other 48 MB
    assert handled == []


async def test_a_small_body_still_reaches_validation():
    handled: list[str] = []
    status, _ = await _call(_app(handled), "/inspections", iter([json.dumps({"notes": "ok"}).encode()]))
    assert (status, handled) == (200, ["inspections"])


async def test_a_route_may_declare_a_larger_limit_and_stream_its_body():
    handled: list[str] = []
    status, pulled = await _call(_app(handled), "/establishments/import", _megabytes(3))
    assert (status, pulled, handled) == (200, 3 * MiB, ["import"])
    status, pulled = await _call(_app(handled), "/establishments/import", _megabytes(50))
    assert status == 413 and pulled <= 6 * MiB
    status, _ = await _call(_app(handled), "/establishments/import", iter([]), content_length=6 * MiB)
    assert status == 413
    assert handled == ["import"]


def test_over_http_a_50_mb_body_gets_413_before_it_is_sent_and_healthz_keeps_answering():
    with serving(_app([])) as (host, port):
        address = f"{host}:{port}"
        with socket.create_connection((host, port), timeout=10) as big:
            # Only the head is sent: the answer comes without the server waiting for the 50 MB.
            big.sendall(f"POST /inspections HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {TOKEN}\r\n"
                        f"Content-Type: application/json\r\nContent-Length: {50 * MiB}\r\n\r\n".encode())
            assert status_line(big).split()[1] == "413"
        with socket.create_connection((host, port), timeout=10) as slow:
            # A body trickling in without a length holds one connection, not the process.
            slow.sendall(f"POST /inspections HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {TOKEN}\r\n"
                         "Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n".encode())
            slow.sendall(b"10000\r\n" + b"x" * 0x10000 + b"\r\n")
            assert httpx.get(f"http://{address}/healthz", timeout=10).status_code == 200
            for _ in range(20):  # 1.25 MiB in all: past the limit
                slow.sendall(b"10000\r\n" + b"x" * 0x10000 + b"\r\n")
            assert status_line(slow).split()[1] == "413"
        assert httpx.get(f"http://{address}/healthz", timeout=10).status_code == 200


def test_the_default_limit_is_a_setting():
    assert Settings(_env_file=None).max_body_bytes == MiB
    assert Settings(_env_file=None, PATHWAYS_MAX_BODY_BYTES=10).max_body_bytes == 10
