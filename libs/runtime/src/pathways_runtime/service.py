"""A Pathways service: the composition root that wires settings, telemetry,
database, broker, outbox relay, consumers and the HTTP API together.

Each service builds one ``Service`` in its ``bootstrap.py``, registers its
consumers and routers on it, and calls ``app()`` for the ASGI application.
Nothing connects at import time: connections open in the app's lifespan.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import asyncpg
from fastapi import FastAPI, Response
from fastapi.responses import JSONResponse
from faststream.kafka import KafkaBroker
from opentelemetry.instrumentation.asyncpg import AsyncPGInstrumentor
from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor
from opentelemetry.instrumentation.httpx import HTTPXClientInstrumentor

from pathways_contracts import CloudEvent, Event
from pathways_runtime import db, outbox
from pathways_runtime.auth import BearerAuthMiddleware
from pathways_runtime.broker import make_broker, use_idempotence
from pathways_runtime.consumer import EventConsumers, RetryPolicy
from pathways_runtime.outbox import OutboxRelay
from pathways_runtime.settings import Settings
from pathways_runtime.telemetry import setup_logging, setup_tracing

log = logging.getLogger(__name__)
BackgroundTask = Callable[["Service"], Awaitable[None]]


class Service:
    def __init__(self, name: str, *, schema: str, migrations: Path, description: str,
                 settings: Settings | None = None) -> None:
        self.name = name
        self.schema = schema
        self.description = description
        self.migrations = migrations
        self.settings = settings or Settings(OTEL_SERVICE_NAME=name)
        self.tracer_provider = setup_tracing(self.settings)
        self.broker: KafkaBroker = make_broker(self.settings, self.tracer_provider)
        self.consumers = EventConsumers(
            self.broker, lambda: self.pool, schema=schema, source=f"/pathways/{name}", group=name,
            retry=RetryPolicy(self.settings.consumer_max_attempts, self.settings.consumer_backoff_seconds),
            session_timeout_ms=self.settings.consumer_session_timeout_ms,
        )
        self._pool: asyncpg.Pool | None = None
        self._background: list[BackgroundTask] = []

    @property
    def pool(self) -> asyncpg.Pool:
        if self._pool is None:
            raise RuntimeError("the database pool is opened when the service starts")
        return self._pool

    def declare_publisher(self, model: type[Event], *, title: str, description: str) -> None:
        """Declare an event this service emits (through the outbox), for the AsyncAPI document."""
        self.broker.publisher(model.event_type, schema=model, title=title, description=description)

    async def emit(self, conn: asyncpg.Connection, data: Event) -> CloudEvent:
        """Record an event in the outbox, in the caller's transaction (for HTTP handlers)."""
        return await outbox.emit(conn, self.schema, f"/pathways/{self.name}", data)

    def background(self, task: BackgroundTask) -> BackgroundTask:
        """Register a long-running task started with the service (e.g. a deadline sweeper)."""
        self._background.append(task)
        return task

    @contextlib.asynccontextmanager
    async def running(self) -> AsyncIterator[None]:
        """Open the database, migrate, start the broker, the relay and background tasks."""
        self._pool = await db.create_pool(self.settings.database_url, self.settings.db_pool_max)
        tasks: list[asyncio.Task] = []
        try:
            await db.migrate(self._pool, self.schema, self.migrations)
            await use_idempotence(self.broker, self.settings)
            await self.broker.start()
            relay = OutboxRelay(self._pool, self.schema, self.broker, self.settings.outbox_poll_seconds)
            tasks.append(asyncio.create_task(relay.run(), name=f"{self.name}-outbox-relay"))
            tasks += [asyncio.create_task(t(self), name=t.__name__) for t in self._background]
            yield
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            await self.broker.stop()
            await self._pool.close()
            self.tracer_provider.shutdown()

    def app(self, *routers) -> FastAPI:
        setup_logging(self.settings)
        AsyncPGInstrumentor().instrument(tracer_provider=self.tracer_provider)
        # Outgoing HTTP (webhooks, calls to other services) gets a client span and a traceparent header,
        # so a department's receiver can join the trace.
        HTTPXClientInstrumentor().instrument(tracer_provider=self.tracer_provider)

        @contextlib.asynccontextmanager
        async def lifespan(_: FastAPI) -> AsyncIterator[None]:
            async with self.running():
                yield

        app = FastAPI(title=f"Pathways {self.name} service", description=self.description, lifespan=lifespan)
        for router in routers:
            app.include_router(router)
        self._add_probes(app)
        app.add_middleware(BearerAuthMiddleware, secret=self.settings.jwt_secret.get_secret_value())
        FastAPIInstrumentor.instrument_app(app, tracer_provider=self.tracer_provider, excluded_urls="healthz,readyz")
        return app

    def _add_probes(self, app: FastAPI) -> None:
        @app.get("/healthz", tags=["ops"], summary="Liveness: the process answers.")
        async def healthz() -> dict:
            return {"status": "ok", "service": self.name}

        @app.get("/readyz", tags=["ops"], summary="Readiness: the database and the broker are reachable.")
        async def readyz() -> Response:
            checks = {"database": await self._database_ok(), "broker": await self._broker_ok()}
            status = 200 if all(checks.values()) else 503
            return JSONResponse({"ready": status == 200, "checks": checks}, status_code=status)

        @app.get("/asyncapi.json", tags=["docs"], summary="The AsyncAPI 3 document of this service.")
        async def asyncapi() -> dict:
            from pathways_runtime.asyncapi import asyncapi_document

            return asyncapi_document(self)

    async def _database_ok(self) -> bool:
        try:
            return await self.pool.fetchval("select 1", timeout=2) == 1
        except Exception:  # noqa: BLE001 (readiness reports, it does not raise)
            return False

    async def _broker_ok(self) -> bool:
        try:
            return bool(await self.broker.ping(timeout=2))
        except Exception:  # noqa: BLE001
            return False
