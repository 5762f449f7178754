"""The ops console: ``uvicorn --factory pathways_ops.app:create_app``.

Server-rendered pages behind the ops role. Reads the services' probes and metrics over HTTP, dead
letters and event flow from the broker, traces from the span store, deliveries from the notification
service's API (with the operator's own token); every action is written to ``ops.audit`` with who and why.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Annotated
from urllib.parse import quote

import httpx
import jwt
from fastapi import Depends, FastAPI, Form, HTTPException, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates

from pathways_runtime import operations as cli_ops
from pathways_ops import sources
from pathways_ops.audit import AuditRepository, RecordRef
from pathways_ops.auth import COOKIE, SignInRequired, check, operator, presented_token
from pathways_ops.history import History, observations, sparkline
from pathways_ops.settings import OpsSettings
from pathways_runtime import db, metrics
from pathways_runtime.auth import Principal
from pathways_runtime.telemetry import setup_logging

log = logging.getLogger(__name__)
HERE = Path(__file__).parent
templates = Jinja2Templates(directory=HERE / "templates")
templates.env.globals["sparkline"] = sparkline
Why = Annotated[str, Form(min_length=3, max_length=500, description="Why: kept in the audit trail.")]
Operator = Annotated[Principal, Depends(operator)]


def create_app(settings: OpsSettings | None = None) -> FastAPI:
    settings = settings or OpsSettings()
    settings.check_secrets()  # no start without the token secret outside development mode
    setup_logging(settings)

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.pool = await db.create_pool(settings.database_url, 4)
        try:
            await db.migrate(app.state.pool, "ops", HERE / "migrations")
            sampler = asyncio.create_task(_sample(app), name="ops-sampler")
            yield
            sampler.cancel()
            await asyncio.gather(sampler, return_exceptions=True)
        finally:
            await app.state.pool.close()

    app = FastAPI(title="Pathways ops console", lifespan=lifespan, docs_url=None, redoc_url=None)
    app.state.settings = settings
    app.state.history = History()
    app.add_exception_handler(SignInRequired, _sign_in_required)
    app.add_exception_handler(HTTPException, _http_error)
    app.add_middleware(metrics.HttpMetricsMiddleware)
    _probes(app)
    _pages(app)
    return app


async def _sample(app: FastAPI) -> None:
    settings: OpsSettings = app.state.settings
    while True:
        with contextlib.suppress(Exception):  # a service down now is shown as down, not a dead sampler
            app.state.history.add(await sources.all_statuses(settings.service_urls()))
        await asyncio.sleep(settings.sample_seconds)


def _wants_html(request: Request) -> bool:
    return "authorization" not in request.headers


async def _sign_in_required(request: Request, exc: SignInRequired) -> Response:
    if not _wants_html(request):  # an API client: the same answer the services give
        return JSONResponse({"detail": f"unauthorized: {exc.reason}"}, 401, {"www-authenticate": "Bearer"})
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return RedirectResponse(f"/signin?next={quote(target)}", 303)


async def _http_error(request: Request, exc: HTTPException) -> Response:
    if not _wants_html(request):
        return JSONResponse({"detail": exc.detail}, exc.status_code)
    return templates.TemplateResponse(request, "error.html", {"status": exc.status_code, "detail": exc.detail},
                                      status_code=exc.status_code)


def _probes(app: FastAPI) -> None:
    @app.get("/healthz", include_in_schema=False)
    async def healthz() -> dict:
        return {"status": "ok", "service": "ops"}

    @app.get("/readyz", include_in_schema=False)
    async def readyz(request: Request) -> JSONResponse:
        try:
            ok = await request.app.state.pool.fetchval("select 1", timeout=2) == 1
        except Exception:  # noqa: BLE001 (readiness reports, it does not raise)
            ok = False
        return JSONResponse({"ready": ok, "checks": {"database": ok}}, 200 if ok else 503)

    @app.get("/metrics", include_in_schema=False)
    async def prometheus_metrics() -> Response:
        return Response(metrics.generate_latest(metrics.REGISTRY), media_type=metrics.CONTENT_TYPE_LATEST)


def _safe_next(target: str) -> str:
    """Only a path of this console: never an open redirect to another site."""
    return target if target.startswith("/") and not target.startswith("//") else "/"


def _pages(app: FastAPI) -> None:  # noqa: C901 (one place lists every page)
    @app.get("/signin", response_class=HTMLResponse)
    async def signin_page(request: Request, next: str = "/") -> Response:
        return templates.TemplateResponse(request, "signin.html", {"next": _safe_next(next), "error": None})

    @app.post("/signin")
    async def signin(request: Request, token: Annotated[str, Form(min_length=1)], next: Annotated[str, Form()] = "/",
                     ) -> Response:
        settings: OpsSettings = request.app.state.settings
        try:
            check(settings, token.strip())
        except jwt.InvalidTokenError as exc:
            return templates.TemplateResponse(request, "signin.html", {"next": _safe_next(next),
                                              "error": f"That token was refused: {exc}"}, status_code=401)
        expires = jwt.decode(token.strip(), options={"verify_signature": False})["exp"]
        response = RedirectResponse(_safe_next(next), 303)
        response.set_cookie(COOKIE, token.strip(), max_age=max(int(expires - time.time()), 0), httponly=True,
                            secure=settings.cookie_secure, samesite="strict", path="/")
        return response

    @app.post("/signout")
    async def signout() -> Response:
        response = RedirectResponse("/signin", 303)
        response.delete_cookie(COOKIE, path="/")
        return response

    @app.get("/", response_class=HTMLResponse)
    async def overview(request: Request, who: Operator) -> Response:
        settings: OpsSettings = request.app.state.settings
        statuses = await sources.all_statuses(settings.service_urls())
        history: History = request.app.state.history
        now = observations(statuses)
        parked = await _deliveries(request, "parked")
        try:
            open_letters: list | None = [d for d in await _dead_letters(request) if d.state == "parked"]
        except Exception:  # noqa: BLE001 (the broker being down is shown on the page, not a 500)
            log.warning("overview: dead letters not read", exc_info=True)
            open_letters = None
        return templates.TemplateResponse(request, "overview.html", {
            "who": who, "statuses": statuses, "now": now, "history": history, "parked": parked,
            "open_letters": open_letters,
            "sample_seconds": settings.sample_seconds,
            "keys": lambda prefix: sorted(k.split(":", 1)[1] for k in now if k.startswith(prefix + ":"))})

    @app.get("/dead-letters", response_class=HTMLResponse)
    async def dead_letters(request: Request, who: Operator, topic: str = "", group: str = "", reason_class: str = "",
                           show: str = "open") -> Response:
        letters = await _dead_letters(request)
        everything = letters
        letters = [d for d in letters if (not topic or d.topic == topic) and (not group or d.consumer_group == group)
                   and (not reason_class or d.reason_class == reason_class)
                   and (show == "all" or d.state != "discarded")]
        return templates.TemplateResponse(request, "dead_letters.html", {
            "who": who, "letters": letters, "topic": topic, "group": group, "reason_class": reason_class,
            "show": show, "topics": sorted({d.topic for d in everything}),
            "groups": sorted({d.consumer_group for d in everything}), "classes": metrics.REASON_CLASSES})

    @app.post("/dead-letters/replay")
    async def replay_one(request: Request, who: Operator, dlq_topic: Annotated[str, Form()],
                         partition: Annotated[int, Form()], offset: Annotated[int, Form()], why: Why) -> Response:
        if dlq_topic not in sources.dlq_topics():
            raise HTTPException(422, "dlq_topic: not a dead-letter topic")
        ref = RecordRef(dlq_topic, partition, offset)
        count = await cli_ops.replay_dead_letters(
            request.app.state.settings, dlq_topic.removesuffix(".dlq"),
            match=lambda r: (r.partition, r.offset) == (partition, offset))
        if count == 0:
            raise HTTPException(404, f"no parked record at {dlq_topic} {partition}@{offset}")
        await AuditRepository(request.app.state.pool).record(
            who.subject, "dead_letter.replay", vars(ref), why, f"replayed {count}", [ref], "replayed")
        return RedirectResponse(f"/dead-letters?topic={quote(dlq_topic.removesuffix('.dlq'))}", 303)

    @app.post("/dead-letters/replay-matching")
    async def replay_matching(request: Request, who: Operator, topic: Annotated[str, Form(min_length=1)], why: Why,
                              group: Annotated[str, Form()] = "", reason_class: Annotated[str, Form()] = "",
                              ) -> Response:
        dlq = f"{topic}.dlq"
        if dlq not in sources.dlq_topics():
            raise HTTPException(422, "topic: no such topic")
        audit = AuditRepository(request.app.state.pool)
        done = await audit.states()
        replayed: list[RecordRef] = []

        def wanted(record) -> bool:
            letter = sources.dead_letter(record)
            ref = RecordRef(record.topic, record.partition, record.offset)
            if ref in done or (reason_class and letter.reason_class != reason_class):
                return False  # already replayed or discarded: never sent twice from here
            replayed.append(ref)
            return True

        count = await cli_ops.replay_dead_letters(request.app.state.settings, topic, group=group or None, match=wanted)
        await audit.record(who.subject, "dead_letter.replay_matching",
                           {"topic": topic, "group": group, "reason_class": reason_class}, why,
                           f"replayed {count}", replayed, "replayed")
        return RedirectResponse(f"/dead-letters?topic={quote(topic)}", 303)

    @app.get("/dead-letters/discard", response_class=HTMLResponse)
    async def discard_confirm(request: Request, who: Operator, dlq_topic: str, partition: int, offset: int) -> Response:
        letter = next((d for d in await _dead_letters(request)
                       if (d.dlq_topic, d.partition, d.offset) == (dlq_topic, partition, offset)), None)
        if letter is None:
            raise HTTPException(404, f"no parked record at {dlq_topic} {partition}@{offset}")
        return templates.TemplateResponse(request, "discard.html", {"who": who, "d": letter})

    @app.post("/dead-letters/discard")
    async def discard(request: Request, who: Operator, dlq_topic: Annotated[str, Form()],
                      partition: Annotated[int, Form()], offset: Annotated[int, Form()], why: Why,
                      confirm: Annotated[str, Form()] = "") -> Response:
        if confirm != "discard":
            raise HTTPException(422, "confirm: tick the box to confirm the discard")
        ref = RecordRef(dlq_topic, partition, offset)
        await AuditRepository(request.app.state.pool).record(
            who.subject, "dead_letter.discard", vars(ref), why, "discarded", [ref], "discarded")
        return RedirectResponse(f"/dead-letters?topic={quote(dlq_topic.removesuffix('.dlq'))}", 303)

    @app.get("/deliveries", response_class=HTMLResponse)
    async def deliveries(request: Request, who: Operator) -> Response:
        parked = await _deliveries(request, "parked")
        failing = [d for d in await _deliveries(request, "pending") if d["attempts"] > 0]
        async with _notification(request) as http:
            for d in (parked + failing)[:50]:
                answer = await http.get(f"/deliveries/{d['id']}/attempts")
                d["attempt_list"] = answer.json() if answer.status_code == 200 else []
        subscriptions: dict[str, dict] = {}
        for d in parked + failing:
            sub = subscriptions.setdefault(d["subscription_id"], {"id": d["subscription_id"], "parked": 0, "failing": 0,
                                                                 "department": d["department"], "channel": d["channel"]})
            sub["parked" if d["status"] == "parked" else "failing"] += 1
        return templates.TemplateResponse(request, "deliveries.html", {
            "who": who, "parked": parked, "failing": failing, "subscriptions": list(subscriptions.values())})

    @app.post("/deliveries/replay-subscription")
    async def replay_subscription(request: Request, who: Operator, subscription_id: Annotated[str, Form(min_length=1)],
                                  why: Why) -> Response:
        async with _notification(request) as http:
            answer = await http.post("/deliveries/replay", params={"subscription_id": subscription_id})
        replayed = answer.json().get("replayed", []) if answer.status_code == 200 else []
        await AuditRepository(request.app.state.pool).record(
            who.subject, "delivery.replay_subscription", {"subscription_id": subscription_id}, why,
            f"HTTP {answer.status_code}, replayed {len(replayed)}")
        if answer.status_code >= 400:
            raise HTTPException(answer.status_code, answer.json().get("detail", answer.text))
        return RedirectResponse("/deliveries", 303)

    @app.post("/deliveries/{delivery_id}/replay")
    async def replay_delivery(request: Request, who: Operator, delivery_id: str, why: Why) -> Response:
        async with _notification(request) as http:
            answer = await http.post(f"/deliveries/{quote(delivery_id)}/replay")
        outcome = f"HTTP {answer.status_code}"
        await AuditRepository(request.app.state.pool).record(
            who.subject, "delivery.replay", {"delivery_id": delivery_id}, why, outcome)
        if answer.status_code >= 400:
            raise HTTPException(answer.status_code, answer.json().get("detail", answer.text))
        return RedirectResponse("/deliveries", 303)

    @app.get("/traces", response_class=HTMLResponse)
    async def traces(request: Request, who: Operator, q: str = Query("", max_length=200), db: bool = False,
                     ) -> Response:
        found = sources.traces(request.app.state.settings, q.strip(), with_database=db) if q.strip() else []
        return templates.TemplateResponse(request, "traces.html", {"who": who, "q": q, "db": db, "traces": found})

    @app.get("/flow", response_class=HTMLResponse)
    async def flow(request: Request, who: Operator, id: str = Query("", max_length=200)) -> Response:
        events = await sources.flow(request.app.state.settings, id.strip()) if id.strip() else []
        return templates.TemplateResponse(request, "flow.html", {"who": who, "id": id, "events": events})

    @app.get("/audit", response_class=HTMLResponse)
    async def audit(request: Request, who: Operator) -> Response:
        rows = await AuditRepository(request.app.state.pool).recent()
        return templates.TemplateResponse(request, "audit.html", {"who": who, "rows": rows})


async def _dead_letters(request: Request) -> list[sources.DeadLetter]:
    letters = await sources.dead_letters(request.app.state.settings)
    audit = AuditRepository(request.app.state.pool)
    states = await audit.states()
    processed = await audit.processed({(d.consumer_group, d.event_id) for d in letters})
    for d in letters:
        d.state = states.get(RecordRef(d.dlq_topic, d.partition, d.offset), "parked")
        if d.state != "discarded" and (d.consumer_group, d.event_id) in processed:
            d.state = "processed"
    return sorted(letters, key=lambda d: d.failed_at, reverse=True)


def _notification(request: Request) -> httpx.AsyncClient:
    """The notification service's API, called with the operator's own token (its role decides)."""
    return httpx.AsyncClient(base_url=request.app.state.settings.notification_url, timeout=10,
                             headers={"Authorization": f"Bearer {presented_token(request)}"})


async def _deliveries(request: Request, status: str) -> list[dict]:
    try:
        async with _notification(request) as http:
            answer = await http.get("/deliveries", params={"status": status})
    except httpx.HTTPError:
        return []
    return answer.json() if answer.status_code == 200 else []
