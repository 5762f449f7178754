"""What a lost database connection does at the edges of a unit of work (found checking issue 14, item 2):
the connection goes back to the pool when BEGIN fails, and asyncpg's broken-connection errors are a 503."""

from __future__ import annotations

import asyncpg
import httpx
import pytest
from fastapi import FastAPI

from pathways_runtime.http import add_error_handlers
from pathways_runtime.uow import PostgresUnitOfWork

pytestmark = pytest.mark.unit


class DeadConnection:
    """A pooled connection the server dropped: BEGIN fails as asyncpg fails it under load."""

    def transaction(self):
        return self

    async def start(self) -> None:
        raise asyncpg.exceptions.InternalClientError("cannot switch to state 15; another operation (2) is in progress")


class Pool:
    def __init__(self) -> None:
        self.out: list[object] = []

    async def acquire(self):
        conn = DeadConnection()
        self.out.append(conn)
        return conn

    async def release(self, conn) -> None:
        self.out.remove(conn)


async def test_a_unit_whose_begin_fails_gives_its_connection_back():
    pool = Pool()
    for _ in range(3):
        with pytest.raises(asyncpg.exceptions.InternalClientError):
            async with PostgresUnitOfWork(pool, schema="s", source="/pathways/test"):
                pass
    assert pool.out == []  # otherwise each failed BEGIN keeps a connection until the pool is exhausted


async def test_a_connection_left_broken_is_a_503_with_retry_after():
    app = FastAPI()
    add_error_handlers(app)

    @app.get("/")
    async def route() -> None:
        raise asyncpg.exceptions.InternalClientError("cannot switch to state 15; another operation (2) is in progress")

    async with httpx.AsyncClient(transport=httpx.ASGITransport(app), base_url="http://t") as client:
        response = await client.get("/")
    assert response.status_code == 503 and response.headers["retry-after"] == "2"
