"""A Pathways service: the composition root that wires settings, telemetry,
database, broker, outbox relay, consumers and the HTTP API together.

Each service's ``bootstrap(settings=None) -> Service`` builds one, with its
unit of work and its handler table, and its ``create_app()`` calls ``app()``
for the ASGI application. Nothing happens at import time, and building a
``Service`` starts nothing: the span exporter, the database pool, the broker
and the background tasks start in ``running()`` (the app's lifespan).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import asyncpg
from fastapi import FastAPI, Response
from fastapi.responses import JSONResponse
from faststream.kafka import KafkaBroker
from opentelemetry.instrumentation.asyncpg import AsyncPGInstrumentor
from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor
from opentelemetry.instrumentation.httpx import HTTPXClientInstrumentor

from pathways_contracts import Event
from pathways_runtime import db, metrics
from pathways_runtime.auth import BearerAuthMiddleware
from pathways_runtime.broker import make_broker, use_idempotence
from pathways_runtime.consumer import BatchPolicy, EventConsumers, RetryPolicy, SizeLimits
from pathways_runtime.failpoints import CONSUMER_AFTER_COMMIT, RELAY_AFTER_PUBLISH, crash_at
from pathways_runtime.heartbeat import Heartbeats
from pathways_runtime.http import add_error_handlers
from pathways_runtime.outbox import OutboxRelay
from pathways_runtime.settings import Settings
from pathways_runtime.shedding import InFlightLimitMiddleware
from pathways_runtime.telemetry import new_tracer_provider, setup_logging, start_span_export
from pathways_runtime.uow import PostgresUnitOfWork, Scope

log = logging.getLogger(__name__)
BackgroundTask = Callable[["Service"], Awaitable[None]]
RESTART_DELAYS = (1.0, 2.0, 5.0, 10.0, 30.0)  # a crashed loop is restarted after these waits, the last repeated


class Service:
    def __init__(self, name: str, *, schema: str, migrations: Path | None, description: str,
                 settings: Settings | None = None,
                 unit_of_work: type[PostgresUnitOfWork] = PostgresUnitOfWork) -> None:
        self.name = name
        self.schema = schema
        self.description = description
        self.migrations = migrations
        self.source = f"/pathways/{name}"
        self.settings = settings or Settings(OTEL_SERVICE_NAME=name)
        self.unit_of_work_class = unit_of_work
        self.tracer_provider = new_tracer_provider(self.settings)  # exports nothing until running()
        self.broker: KafkaBroker = make_broker(self.settings)
        self.consumers = EventConsumers(
            self.broker, lambda: self.pool, schema=schema, unit_of_work_on=self.unit_of_work_on, group=name,
            retry=RetryPolicy(self.settings.consumer_max_attempts, self.settings.consumer_backoff_seconds),
            session_timeout_ms=self.settings.consumer_session_timeout_ms,
            batch=BatchPolicy(self.settings.consumer_batch_max_records, self.settings.consumer_batch_timeout_ms,
                              self.settings.consumer_fetch_max_wait_ms),
            sizes=SizeLimits(self.settings.max_event_bytes, self.settings.max_event_bytes_by_type),
            fail_point=crash_at(CONSUMER_AFTER_COMMIT, self.settings),
        )
        # Built once: a relay restarted by its supervisor keeps counting towards the fail point's hit.
        self._relay_fail_point = crash_at(RELAY_AFTER_PUBLISH, self.settings)
        self._pool: asyncpg.Pool | None = None
        self._background: list[tuple[BackgroundTask, float | None]] = []
        self.heartbeats = Heartbeats(self.settings.heartbeat_seconds)

    @property
    def pool(self) -> asyncpg.Pool:
        if self._pool is None:
            raise RuntimeError("the database pool is opened when the service starts")
        return self._pool

    def declare_publisher(self, model: type[Event], *, title: str, description: str) -> None:
        """Declare an event this service emits (through the outbox), for the AsyncAPI document."""
        self.broker.publisher(model.event_type, schema=model, title=title, description=description)

    def uow(self) -> PostgresUnitOfWork:
        """A new unit of work: its own transaction on a pooled connection (``async with`` it)."""
        return self.unit_of_work_class(self.pool, schema=self.schema, source=self.source)

    def unit_of_work_on(self, conn: asyncpg.Connection, scope: Scope) -> PostgresUnitOfWork:
        """A unit of work inside a transaction someone else owns (the consumer pipeline's), on its ``scope``."""
        return self.unit_of_work_class(None, schema=self.schema, source=self.source, conn=conn, scope=scope)

    def background(self, task: BackgroundTask | None = None, *, heartbeat_seconds: float | None = None):
        """Register a long-running task started with the service (e.g. a deadline sweeper).

        ``@service.background`` or ``@service.background(heartbeat_seconds=60)``; with the latter the task
        must call ``svc.heartbeat(<its function's name>)`` at least that often, or ``/readyz`` says so.
        Either way a task that ends with an error is reported by ``/readyz`` and restarted after a pause.
        """

        def register(fn: BackgroundTask) -> BackgroundTask:
            self._background.append((fn, heartbeat_seconds))
            return fn

        return register if task is None else register(task)

    def heartbeat(self, name: str) -> None:
        """Loop ``name`` made a turn (see ``pathways_runtime.heartbeat``)."""
        self.heartbeats.beat(name)

    @contextlib.asynccontextmanager
    async def running(self) -> AsyncIterator[None]:
        """Open the database, migrate, start the broker, the relay and background tasks."""
        self.settings.check_secrets()  # no secret, no start (outside development mode)
        self.settings.check_fail_point()  # nor with a fail point
        start_span_export(self.tracer_provider, self.settings)
        self._pool = await db.create_pool(self.settings.database_url, self.settings.db_pool_max)
        tasks: list[asyncio.Task] = []
        try:
            await db.migrate(self._pool, self.schema, self.migrations)
            await use_idempotence(self.broker, self.settings)
            await self.broker.start()
            relay = OutboxRelay(self._pool, self.schema, self.broker, self.settings.outbox_poll_seconds,
                                self.settings.outbox_batch_size, fail_point=self._relay_fail_point)
            loops = [("outbox-relay", relay.run, None)]
            loops += [(fn.__name__, functools.partial(fn, self), every) for fn, every in self._background]
            tasks += [asyncio.create_task(self._supervise(*loop), name=f"{self.name}-{loop[0]}") for loop in loops]
            yield
        finally:
            deadline = time.monotonic() + self.settings.shutdown_seconds
            await self._stop_step("the background loops", _cancelled(tasks), deadline)
            await self._stop_step("the broker's clients", self.broker.stop(), deadline)
            if not await self._stop_step("the database pool", self._pool.close(), deadline):
                self._pool.terminate()  # close gave up (overran or failed): closed under whoever holds a connection
            self.tracer_provider.shutdown()

    async def _stop_step(self, what: str, step: Awaitable[object], deadline: float) -> bool:
        """One step of stopping, ended at ``deadline`` (``shutdown_seconds`` after stopping began): whether it
        finished cleanly. One that overran or failed is logged, with every task's awaits on an overrun, and
        stopping goes on."""
        try:
            async with asyncio.timeout(max(0.0, deadline - time.monotonic())):
                await step
            return True
        except TimeoutError:
            log.error("stopping %s overran the %.0f s stopping may take; going on without it", what,
                      self.settings.shutdown_seconds, extra={"step": what, "tasks": _task_stacks()})
        except Exception as exc:  # noqa: BLE001 (stopping goes on: the process is leaving either way)
            log.error("stopping %s failed; going on", what, extra={"step": what, "error": repr(exc)})
        return False

    async def _supervise(self, name: str, run: Callable[[], Awaitable[None]], heartbeat_seconds: float | None) -> None:
        """Run a long-running loop; when it fails, report it stopped (``/readyz``), wait, and start it again.

        A loop that lost its database connection (PostgreSQL restarted) thus comes back by itself.
        """
        failures = 0
        while True:
            if heartbeat_seconds is not None:
                self.heartbeats.expect(name, heartbeat_seconds)
            else:
                self.heartbeats.forget(name)
            started = time.monotonic()
            try:
                await run()
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001 (reported, and the loop restarted)
                failures = 1 if time.monotonic() - started > RESTART_DELAYS[-1] else failures + 1
                delay = RESTART_DELAYS[min(failures, len(RESTART_DELAYS)) - 1]
                self.heartbeats.stopped(name, repr(exc)[:300])
                log.exception("%s stopped; restarting in %.0f s", name, delay,
                              extra={"loop": name, "error": repr(exc), "attempt": failures})
                await asyncio.sleep(delay)
                continue
            self.heartbeats.forget(name)  # finished its work on purpose
            log.info("%s finished", name, extra={"loop": name})
            return

    def app(self, *routers) -> FastAPI:
        setup_logging(self.settings)
        # Refuse to build an app that would accept tokens signed with no secret, or a guessable one,
        # or that is set to kill itself (a fail point).
        signing_secret = self.settings.signing_secret()
        self.settings.check_fail_point()
        if self.settings.dev_mode:
            log.warning("DEVELOPMENT MODE (PATHWAYS_DEV_MODE=1): %s. Never run real data like this.",
                        _dev_mode_allowances(self.settings))
        if self.settings.fail_point is not None:
            log.warning("FAIL POINT ARMED (PATHWAYS_FAIL_POINT=%s): this process will SIGKILL itself there.",
                        self.settings.fail_point, extra={"fail_point": str(self.settings.fail_point)})
        if self.settings.trace_sql:  # a span per SQL statement: costly, for debugging a slow query
            AsyncPGInstrumentor().instrument(tracer_provider=self.tracer_provider)
        # Outgoing HTTP through httpx (calls to other services) gets a client span and a traceparent header.
        # Webhooks go through aiohttp and make their own span and header (pathways_notification.adapters.webhook).
        HTTPXClientInstrumentor().instrument(tracer_provider=self.tracer_provider)

        @contextlib.asynccontextmanager
        async def lifespan(_: FastAPI) -> AsyncIterator[None]:
            async with self.running():
                yield

        # max_body_size: a body over it gets 413 before it is read (a route may declare a larger one).
        app = FastAPI(title=f"Pathways {self.name} service", description=self.description, lifespan=lifespan,
                      max_body_size=self.settings.max_body_bytes)
        app.state.service = self
        add_error_handlers(app)
        for router in routers:
            app.include_router(router)
        self._add_probes(app)
        # Each middleware added wraps the ones before it: a request meets the metrics, then the token check,
        # then the bound on requests in flight (a caller without a token is refused before it counts).
        app.add_middleware(InFlightLimitMiddleware, limit=self.settings.max_requests_in_flight)
        app.add_middleware(BearerAuthMiddleware, secret=signing_secret,
                           max_ttl_seconds=self.settings.token_max_ttl_seconds)
        app.add_middleware(metrics.HttpMetricsMiddleware)  # outermost: refused requests are counted too
        FastAPIInstrumentor.instrument_app(app, tracer_provider=self.tracer_provider, excluded_urls="healthz,readyz",
                                           exclude_spans=["receive", "send"])  # 2 spans per request, for ASGI internals
        return app

    def _add_probes(self, app: FastAPI) -> None:
        @app.get("/healthz", tags=["ops"], summary="Liveness: the process answers.")
        async def healthz() -> dict:
            return {"status": "ok", "service": self.name}

        @app.get("/readyz", tags=["ops"],
                 summary="Readiness: the service can do its work (database reachable, every loop beating).",
                 description="503 when the database is unreachable or a long-running loop (relay, consumer, "
                             "background task) stopped or missed its heartbeat, named under `overdue`. The "
                             "broker alone being down is reported but is no reason to stop sending requests: "
                             "work is kept in the outbox until it is back.")
        async def readyz() -> Response:
            checks = {"database": await self._database_ok(), "broker": await self._broker_ok()}
            overdue = self.heartbeats.overdue()
            ready = checks["database"] and not overdue
            return JSONResponse({"ready": ready, "checks": checks, "overdue": overdue},
                                status_code=200 if ready else 503)

        @app.get("/metrics", tags=["ops"], summary="Prometheus metrics (text exposition format).")
        async def prometheus_metrics() -> Response:
            body, content_type = await metrics.exposition(self)
            return Response(body, media_type=content_type)

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


async def _cancelled(tasks: list[asyncio.Task]) -> None:
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)


def _task_stacks() -> list[str]:
    """Each other task's name and the innermost coroutines it awaits: what a step that does not finish
    waits for. (``Task.get_stack`` shows only a suspended task's outermost coroutine: the chain of awaits
    is followed here instead.)"""
    stacks = []
    for task in asyncio.all_tasks():
        if task is asyncio.current_task():
            continue
        frames, coro = [], task.get_coro()
        while coro is not None and len(frames) < 100:
            frame = getattr(coro, "cr_frame", None) or getattr(coro, "gi_frame", None)
            if frame is not None:
                frames.append(f"{frame.f_code.co_filename.rsplit('/', 1)[-1]}:{frame.f_lineno} {frame.f_code.co_name}")
            coro = getattr(coro, "cr_await", None) or getattr(coro, "gi_yieldfrom", None)
        stacks.append(f"{task.get_name()}: {' < '.join(reversed(frames[-4:]))}")
    return stacks


def _dev_mode_allowances(settings: Settings) -> str:
    missing = settings.missing_secrets()
    if missing:
        return f"{', '.join(missing)} unset, using this installation's generated or development values"
    return "secrets are set, development allowances apply (e.g. local webhook receivers)"
