"""DepartmentConsumer: one department, one consumer group, one database schema, typed handlers.

Built on the platform runtime, so a department gets what every service has:
each event is decoded and validated against its contract (an invalid record
goes to the dead-letter topic), handled in one database transaction together
with an inbox row (a redelivered event is skipped), retried with backoff and
parked on ``<topic>.dlq`` after the last attempt, and traced.

Offsets are committed only after an event was handled (``NACK_ON_ERROR``).
Stopping waits for the event in hand to finish (FastStream's graceful
timeout) and never commits past it, so the next start resumes at the first
event not yet handled.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import signal
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import asyncpg

from pathways_contracts import CloudEvent, Event
from pathways_runtime import serve
from pathways_runtime.service import Service
from pathways_runtime.settings import Settings
from pathways_runtime.uow import PostgresUnitOfWork

E = TypeVar("E", bound=Event)
_NAME = re.compile(r"^[a-z][a-z0-9_-]{0,40}$")


@dataclass(frozen=True)
class Context:
    """What a handler gets besides the event."""

    conn: asyncpg.Connection  # in the handler's transaction, with the inbox row: commit is all-or-nothing
    event: CloudEvent  # id, type, subject, time, source of the event
    department: str
    schema: str  # the department's own PostgreSQL schema: put its tables there


DepartmentHandler = Callable[[Any, Context], Awaitable[None]]


class DepartmentConsumer:
    def __init__(self, department: str, *, database_url: str | None = None, bootstrap_servers: str | None = None,
                 migrations: Path | None = None, replay_from_beginning: bool = False,
                 settings: Settings | None = None) -> None:
        if not _NAME.match(department):
            raise ValueError(f"department name {department!r}: lower-case letters, digits, '-' or '_'")
        self.department = department
        self.schema = "dept_" + department.replace("-", "_")
        self.group = self._group_id(replay_from_beginning)
        self._settings = _settings(settings, department, database_url, bootstrap_servers)
        self._migrations = migrations
        self._handlers: dict[type[Event], list[DepartmentHandler]] = {}
        self._service: Service | None = None

    def _group_id(self, replay_from_beginning: bool) -> str:
        # A fresh group has no committed offsets, so it reads each topic from its first retained event.
        # Its inbox rows are its own too, so history already handled by the usual group is handled again.
        group = f"dept.{self.department}"
        return f"{group}.replay-{int(time.time())}" if replay_from_beginning else group

    def on(self, model: type[E]) -> Callable[[Callable[[E, Context], Awaitable[None]]], DepartmentHandler]:
        """Decorator: ``@consumer.on(RedFlagRaised)``; the handler gets ``(event, ctx)``."""

        def register(handler: DepartmentHandler) -> DepartmentHandler:
            if self._service is not None:
                raise RuntimeError("register handlers before the consumer starts")
            self._handlers.setdefault(model, []).append(handler)
            return handler

        return register

    @property
    def event_types(self) -> list[str]:
        return sorted(m.event_type for m in self._handlers)

    @contextlib.asynccontextmanager
    async def running(self) -> AsyncIterator[DepartmentConsumer]:
        """Connect, migrate the department's schema, consume until the block exits, then stop gracefully."""
        if not self._handlers:
            raise RuntimeError(f"{self.department}: no handler registered (use @consumer.on(EventModel))")
        self._service = self._build_service()
        async with self._service.running():
            yield self

    @property
    def pool(self) -> asyncpg.Pool:
        """The department's database pool (while running), for its own queries and tests."""
        if self._service is None:
            raise RuntimeError("the consumer is not running")
        return self._service.pool

    def run(self) -> None:
        """Entry point: consume until SIGINT or SIGTERM, then stop gracefully."""
        serve.run(self._run_until_signalled())

    async def _run_until_signalled(self) -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, stop.set)
        async with self.running():
            await stop.wait()

    def _build_service(self) -> Service:
        service = Service(f"dept-{self.department}", schema=self.schema, migrations=self._migrations,
                          description=f"The {self.department} department's consumer.", settings=self._settings)
        # One consumer of all the department's topics in ONE group: one join, one place for its offsets.
        service.consumers.subscribe(list(self._handlers), self._dispatch, group=self.group,
                                    title=f"{self.department} department",
                                    description=f"Handlers of {', '.join(self.event_types)}.")
        return service

    async def _dispatch(self, event: CloudEvent, uow: PostgresUnitOfWork) -> None:
        ctx = Context(conn=uow.conn, event=event, department=self.department, schema=self.schema)
        for handler in self._handlers[type(event.data)]:
            await handler(event.data, ctx)


def _settings(given: Settings | None, department: str, database_url: str | None,
              bootstrap_servers: str | None) -> Settings:
    settings = given or Settings(OTEL_SERVICE_NAME=f"dept-{department}")
    overrides = {k: v for k, v in {"database_url": database_url,
                                   "kafka_bootstrap_servers": bootstrap_servers}.items() if v}
    return settings.model_copy(update=overrides) if overrides else settings
