"""HTTP API for the registry import, routine schedules, equity reports and the LIVES open-data export."""

from __future__ import annotations

import time
import uuid
from datetime import date
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi.responses import Response
from limits import parse
from limits.storage import MemoryStorage
from limits.strategies import MovingWindowRateLimiter

from pathways_contracts.text import Text
from pathways_contracts.vocab import Program
from pathways_inspection.domain.registry_csv import RegistryFormatError
from pathways_inspection.domain.scheduling import Period
from pathways_inspection.service_layer import reporting
from pathways_inspection.service_layer.commands import Day, ImportRegistry
from pathways_inspection.service_layer.registry import import_registry, parse_mapping
from pathways_inspection.service_layer.unit_of_work import InspectionUnitOfWork
from pathways_runtime.auth import Role, require
from pathways_runtime.errors import InvalidCommand, Problem
from pathways_runtime.http import unit_of_work

router = APIRouter()
REPORT_READERS = (Role.DEPARTMENT, Role.TRIAGE, Role.OPS)
MAX_IMPORT_BYTES = 50 * 1024 * 1024
LIVES_PATH = "/open-data/lives.zip"

Uow = Annotated[InspectionUnitOfWork, Depends(unit_of_work)]
Jurisdiction = Annotated[Text | None, Query(max_length=100)]


def _bad(loc: tuple, msg: str, kind: str = "value_error") -> InvalidCommand:
    return InvalidCommand([Problem(loc, msg, kind)])


@router.post("/establishments/import", tags=["registry"], openapi_extra={
    "requestBody": {"content": {"text/csv": {"schema": {"type": "string"}}}, "required": True}},
    summary="Import a license-registry CSV (idempotent on license number); returns the per-row report.",
    max_body_size=MAX_IMPORT_BYTES)  # the only route taking more than the runtime's default body limit
async def post_import(request: Request, uow: Uow,
                      map: list[str] = Query(default=[], description="THEIR_COLUMN=OUR_COLUMN"),
                      line_offset: int = Query(0, ge=0, le=1_000_000_000,
                                               description="Added to reported line numbers (a chunk of a larger file)."),
                      import_id: uuid.UUID | None = Query(None, description="Shared by the chunks of one file, "
                                                          "so duplicates across chunks are reported."),
                      _=require(Role.OPS, Role.INSPECTOR)) -> dict:
    body = await request.body()
    if len(body) > MAX_IMPORT_BYTES:
        raise HTTPException(413, f"send at most {MAX_IMPORT_BYTES} bytes per request; split the file")
    try:
        text = body.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise _bad(("body",), f"not UTF-8 text: {exc}") from None
    try:
        mapping = parse_mapping(map)
    except ValueError as exc:
        raise _bad(("query", "map"), str(exc)) from None
    try:
        return await import_registry(ImportRegistry(text=text, mapping=mapping, line_offset=line_offset,
                                                    import_id=import_id), uow)
    except RegistryFormatError as exc:
        raise _bad(("body",), str(exc), "registry_format") from None


@router.get("/schedule/{program}", tags=["scheduling"],
            summary="The routine plan of a program for a period (every active establishment once), the overdue "
                    "list and pending follow-ups.")
async def get_schedule(program: Program, uow: Uow, period_start: Day | None = None,
                       period_days: int = Query(365, ge=1, le=3660), inspectors: int = Query(1, ge=1, le=1000),
                       capacity: int = Query(4, ge=1, le=100, description="Inspections per inspector per day."),
                       seed: int = Query(0, ge=-(2**63), le=2**63 - 1), jurisdiction: Jurisdiction = None,
                       _=require(Role.INSPECTOR, *REPORT_READERS)) -> dict:
    start = period_start or date(date.today().year, 1, 1)
    return await reporting.plan(uow, program, start, period_days, inspectors, capacity, seed, jurisdiction)


def _period(period_start: date | None, period_days: int) -> Period:
    return Period(period_start or date(date.today().year, 1, 1), period_days)


@router.get("/reports/coverage", tags=["reports"],
            summary="Share of active establishments inspected in the period, per area and program.")
async def get_coverage(uow: Uow, period_start: Day | None = None, period_days: int = Query(365, ge=1, le=3660),
                       jurisdiction: Jurisdiction = None, _=require(*REPORT_READERS)) -> dict:
    period = _period(period_start, period_days)
    rows = await reporting.coverage(uow, period, jurisdiction)
    return {"period_start": period.start, "period_end": period.end, "rows": rows}


@router.get("/reports/red-flag-rate", tags=["reports"],
            summary="Share of inspections, per reason (routine, complaint, follow-up), that contributed to a red flag.")
async def get_red_flag_rate(uow: Uow, period_start: Day | None = None, period_days: int = Query(365, ge=1, le=3660),
                            _=require(*REPORT_READERS)) -> dict:
    period = _period(period_start, period_days)
    return {"period_start": period.start, "period_end": period.end, "rows": await reporting.red_flag_rate(uow, period)}


class OpenDataLimit:
    """Downloads per client address of the public export (a moving window, in this process's memory)."""

    def __init__(self, rate: str) -> None:
        self.rate = parse(rate)
        self.limiter = MovingWindowRateLimiter(MemoryStorage())

    def __call__(self, request: Request) -> None:
        client = request.client.host if request.client else "unknown"
        if not self.limiter.hit(self.rate, LIVES_PATH, client):
            reset = self.limiter.get_window_stats(self.rate, LIVES_PATH, client).reset_time
            raise HTTPException(429, "too many downloads of the open data; retry later",
                                headers={"Retry-After": str(max(1, int(reset - time.time())))})


def open_data_limit(request: Request) -> None:
    request.app.state.open_data_limit(request)


@router.get(LIVES_PATH, tags=["open data"], response_class=Response, dependencies=[Depends(open_data_limit)],
            summary="Inspections in the LIVES layout (businesses, inspections, violations), public and rate-limited: "
                    "no person data, no indicator codes, no screening signals.")
async def get_lives(uow: Uow, jurisdiction: Jurisdiction = None) -> Response:
    return Response(await reporting.lives_zip(uow, jurisdiction), media_type="application/zip",
                    headers={"content-disposition": 'attachment; filename="lives.zip"'})
