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
    """One unit of work: its connection and its ``emit`` (the outbox, in its transaction); commits on success."""
    async with service.uow() as uow:
        yield uow.conn, uow.emit
        await uow.commit()


def unprocessable(field: str, message: str) -> RequestValidationError:
    """A 422 shaped like FastAPI's own, naming the body field, for checks the domain makes."""
    return RequestValidationError([{"loc": ("body", field), "msg": message, "type": "value_error"}])
