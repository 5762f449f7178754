"""Helpers every router of the referral service shares."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

import asyncpg
from fastapi.exceptions import RequestValidationError

from pathways_referral.bootstrap import service
from pathways_referral.service_layer.placement import Emit


@contextlib.asynccontextmanager
async def transaction() -> AsyncIterator[tuple[asyncpg.Connection, Emit]]:
    """One transaction, and an ``emit`` that writes events to the outbox inside it."""
    async with service.pool.acquire() as conn, conn.transaction():
        async def emit(event):
            return await service.emit(conn, event)

        yield conn, emit


def unprocessable(field: str, message: str) -> RequestValidationError:
    """A 422 shaped like FastAPI's own, naming the body field, for checks the domain makes."""
    return RequestValidationError([{"loc": ("body", field), "msg": message, "type": "value_error"}])
