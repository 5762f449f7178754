"""HTTP API for the registry import, routine schedules, equity reports and the LIVES open-data export."""

from __future__ import annotations

import io
import uuid
import zipfile
from datetime import date

from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.responses import Response

from pathways_contracts.vocab import Program
from pathways_inspection.adapters import repository as repo
from pathways_inspection.bootstrap import service
from pathways_inspection.domain.registry_csv import RegistryFormatError, lives_export
from pathways_inspection.domain.scheduling import Period
from pathways_inspection.service_layer import reporting
from pathways_inspection.service_layer.registry_import import import_registry, parse_mapping
from pathways_runtime.auth import Role, require

router = APIRouter()
REPORT_READERS = (Role.DEPARTMENT, Role.TRIAGE, Role.OPS)
MAX_IMPORT_BYTES = 50 * 1024 * 1024


def _bad(loc: list, msg: str, kind: str = "value_error") -> HTTPException:
    return HTTPException(422, [{"loc": loc, "type": kind, "msg": msg}])


@router.post("/establishments/import", tags=["registry"], openapi_extra={
    "requestBody": {"content": {"text/csv": {"schema": {"type": "string"}}}, "required": True}},
    summary="Import a license-registry CSV (idempotent on license number); returns the per-row report.",
    max_body_size=MAX_IMPORT_BYTES)  # the only route taking more than the runtime's default body limit
async def post_import(request: Request, map: list[str] = Query(default=[], description="THEIR_COLUMN=OUR_COLUMN"),
                      line_offset: int = Query(0, ge=0, description="Added to reported line numbers (a chunk "
                                                                     "of a larger file)."),
                      import_id: uuid.UUID | None = Query(None, description="Shared by the chunks of one file, "
                                                          "so duplicates across chunks are reported."),
                      _=require(Role.OPS, Role.INSPECTOR)) -> dict:
    body = await request.body()
    if len(body) > MAX_IMPORT_BYTES:
        raise HTTPException(413, f"send at most {MAX_IMPORT_BYTES} bytes per request; split the file")
    try:
        text = body.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise _bad(["body"], f"not UTF-8 text: {exc}") from None
    try:
        mapping = parse_mapping(map)
    except ValueError as exc:
        raise _bad(["query", "map"], str(exc)) from None
    try:
        return await import_registry(service.pool, text, mapping, line_offset, import_id)
    except RegistryFormatError as exc:
        raise _bad(["body"], str(exc), "registry_format") from None


@router.get("/schedule/{program}", tags=["scheduling"],
            summary="The routine plan of a program for a period (every active establishment once), the overdue "
                    "list and pending follow-ups.")
async def get_schedule(program: Program, period_start: date | None = None,
                       period_days: int = Query(365, ge=1, le=3660), inspectors: int = Query(1, ge=1, le=1000),
                       capacity: int = Query(4, ge=1, le=100, description="Inspections per inspector per day."),
                       seed: int = 0, jurisdiction: str | None = None,
                       _=require(Role.INSPECTOR, *REPORT_READERS)) -> dict:
    start = period_start or date(date.today().year, 1, 1)
    return await reporting.plan(service.pool, program, start, period_days, inspectors, capacity, seed, jurisdiction)


def _period(period_start: date | None, period_days: int) -> Period:
    return Period(period_start or date(date.today().year, 1, 1), period_days)


@router.get("/reports/coverage", tags=["reports"],
            summary="Share of active establishments inspected in the period, per area and program.")
async def get_coverage(period_start: date | None = None, period_days: int = Query(365, ge=1, le=3660),
                       jurisdiction: str | None = None, _=require(*REPORT_READERS)) -> dict:
    period = _period(period_start, period_days)
    rows = await reporting.coverage(service.pool, period, jurisdiction)
    return {"period_start": period.start, "period_end": period.end, "rows": rows}


@router.get("/reports/red-flag-rate", tags=["reports"],
            summary="Share of inspections, per reason (routine, complaint, follow-up), that contributed to a red flag.")
async def get_red_flag_rate(period_start: date | None = None, period_days: int = Query(365, ge=1, le=3660),
                            _=require(*REPORT_READERS)) -> dict:
    period = _period(period_start, period_days)
    return {"period_start": period.start, "period_end": period.end,
            "rows": await reporting.red_flag_rate(service.pool, period)}


@router.get("/open-data/lives.zip", tags=["open data"], response_class=Response,
            summary="Inspections in the LIVES layout (businesses, inspections, violations): no person data, "
                    "no indicator codes.")
async def get_lives(jurisdiction: str | None = None, _=require(Role.INSPECTOR, Role.AGENCY, *REPORT_READERS)):
    establishments = [reporting.establishment(r) for r in await repo.all_establishments(service.pool, jurisdiction)]
    records = await repo.inspection_records(service.pool, with_answers=True)
    files = lives_export(establishments, [reporting.inspection_record(r) for r in records])
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as zipped:
        for name, text in files.items():
            zipped.writestr(name, text)
    return Response(archive.getvalue(), media_type="application/zip",
                    headers={"content-disposition": 'attachment; filename="lives.zip"'})
