"""The HTTP edge of a use case: what a route depends on, and what each error becomes.

A route translates its request into a command, calls the command's handler with
a unit of work, and returns the result. It does not catch the use case's errors:
the handlers registered here turn them into one status code each, so every
service answers the same way:

- ``InvalidCommand`` → 422 with FastAPI's own ``detail`` list, one entry per bad field;
- ``NotFound`` → 404, ``Conflict`` → 409, ``Forbidden`` → 403;
- the database being unreachable → 503 with ``Retry-After`` (a client retries; not a 500).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import asyncpg
from fastapi import FastAPI, Request
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
    TimeoutError,  # the pool could not hand out a connection in time
)
RETRY_AFTER_SECONDS = "2"


def current_service(request: Request) -> Service:
    """The service this app belongs to (set by ``Service.app``)."""
    return request.app.state.service


def unit_of_work(request: Request) -> PostgresUnitOfWork:
    """A FastAPI dependency: a new unit of work for the route's use case (not yet begun)."""
    return current_service(request).uow()


def add_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(InvalidCommand, _invalid)
    app.add_exception_handler(NotFound, _status(404))
    app.add_exception_handler(Conflict, _status(409))
    app.add_exception_handler(Forbidden, _status(403))
    for error in DATABASE_UNAVAILABLE:
        app.add_exception_handler(error, _unavailable)


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
