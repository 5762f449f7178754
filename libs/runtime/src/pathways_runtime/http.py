"""The HTTP edge of a use case: what a route depends on, and what each error becomes.

A route translates its request into a command, calls the command's handler with
a unit of work, and returns the result. It does not catch the use case's errors:
the handlers registered here turn them into one status code each, so every
service answers the same way:

- ``InvalidCommand`` → 422 with FastAPI's own ``detail`` list, one entry per bad field;
- ``NotFound`` → 404, ``Conflict`` → 409, ``Forbidden`` → 403;
- the database being unreachable → 503 with ``Retry-After`` (a client retries; not a 500).

Request bodies are limited by FastAPI's own body limit (Starlette's ``RequestBodyLimitMiddleware``):
``Service.app`` sets the service's default (``PATHWAYS_MAX_BODY_BYTES``, 1 MiB), a declared
``Content-Length`` over the limit is refused with 413 before a byte of the body is read, and a body
without one is counted as it streams in and refused as soon as it passes the limit. The one route
that needs more declares it: ``@router.post(..., max_body_size=50 * MiB)``, and reads
``request.stream()`` rather than the whole body at once.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import json
from typing import Any

import asyncpg
from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

from pathways_runtime.errors import Conflict, Forbidden, InvalidCommand, NotFound

if TYPE_CHECKING:
    from pathways_runtime.service import Service
    from pathways_runtime.uow import PostgresUnitOfWork

# What "the database is not there right now" looks like to asyncpg: a refused or dropped connection, a
# server shutting down, or a pool that could not hand out a connection in time.
DATABASE_UNAVAILABLE: tuple[type[BaseException], ...] = (
    ConnectionError,  # refused or reset while connecting (not every OSError: a bad file name is a 4xx or a bug)
    asyncpg.exceptions.PostgresConnectionError,
    asyncpg.exceptions.OperatorInterventionError,  # shutting down, or starting up
    asyncpg.exceptions.InterfaceError,  # "connection is closed" under a pooled connection
    # A pooled connection the server dropped mid-operation can be left in a state asyncpg refuses to use
    # ("cannot switch to state 15; another operation is in progress"): seen when PostgreSQL stops under load.
    asyncpg.exceptions.InternalClientError,
    TimeoutError,  # the pool could not hand out a connection in time
)
RETRY_AFTER_SECONDS = "2"
MiB = 1024 * 1024


async def current_service(request: Request) -> Service:  # async: no worker-thread hop per request
    """The service this app belongs to (set by ``Service.app``)."""
    return request.app.state.service


async def unit_of_work(request: Request) -> PostgresUnitOfWork:
    """A FastAPI dependency: a new unit of work for the route's use case (not yet begun)."""
    return request.app.state.service.uow()


class AsciiJSONResponse(JSONResponse):
    """JSON with non-ASCII escaped: a 422 echoes the bad input, and a lone surrogate in it cannot be UTF-8."""

    def render(self, content: Any) -> bytes:
        return json.dumps(content, ensure_ascii=True, allow_nan=False, separators=(",", ":")).encode("ascii")


def add_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(RequestValidationError, _request_invalid)
    app.add_exception_handler(InvalidCommand, _invalid)
    app.add_exception_handler(NotFound, _status(404))
    app.add_exception_handler(Conflict, _status(409))
    app.add_exception_handler(Forbidden, _status(403))
    for error in DATABASE_UNAVAILABLE:
        app.add_exception_handler(error, _unavailable)


async def _request_invalid(request: Request, exc: Exception) -> JSONResponse:
    """FastAPI's own 422, rendered so that any input it echoes can be sent (FastAPI's default would 500)."""
    assert isinstance(exc, RequestValidationError)
    return AsciiJSONResponse({"detail": jsonable_encoder(exc.errors())}, status_code=422)


async def _invalid(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, InvalidCommand)
    return JSONResponse({"detail": [p.as_detail() for p in exc.problems]}, status_code=422)


def _status(code: int):
    async def handler(request: Request, exc: Exception) -> JSONResponse:
        return JSONResponse({"detail": str(exc)}, status_code=code)

    return handler


async def _unavailable(request: Request, exc: Exception) -> JSONResponse:
    return JSONResponse({"detail": "the database is unavailable; retry shortly"}, status_code=503,
                        headers={"Retry-After": RETRY_AFTER_SECONDS})
