"""HTTP routes of the insights service: each translates its request into a command and calls its handler.

Who may call what, in explicit role lists: a simulation is for the triage team and operations; the
statistics are for operations and researchers (the researcher role can read nothing else anywhere);
the release audit is for operations.
"""

from __future__ import annotations

from datetime import date
from enum import StrEnum
from typing import Any

from fastapi import APIRouter, Depends, Query
from fastapi.responses import PlainTextResponse, Response
from pydantic import BaseModel, Field

from pathways_insights.domain import render
from pathways_insights.domain.disclosure import K_MAXIMUM, K_MINIMUM
from pathways_insights.domain.simulation import SimulationReport
from pathways_insights.domain.statistics import Dimension, Measure
from pathways_insights.service_layer import handlers
from pathways_insights.service_layer.commands import ReleaseStatistics, Requester, RunSimulation
from pathways_insights.service_layer.unit_of_work import InsightsUnitOfWork
from pathways_runtime.auth import Principal, Role, require
from pathways_runtime.http import current_service, unit_of_work
from pathways_runtime.service import Service

router = APIRouter()
SIMULATORS = (Role.TRIAGE, Role.OPS)
STATISTICS_READERS = (Role.OPS, Role.RESEARCHER)


class SimulationFormat(StrEnum):
    JSON = "json"
    TEXT = "text"
    SVG = "svg"


class StatisticsFormat(StrEnum):
    JSON = "json"
    CSV = "csv"
    SVG = "svg"


class SimulationRequest(BaseModel):
    period_start: date
    period_end: date
    jurisdiction: str | None = Field(None, pattern=r"^[a-z0-9][a-z0-9_-]*$")
    proposed_rules: dict[str, Any] | None = Field(None, description="A screening rules file (JSON).")
    proposed_routing: dict[str, Any] | None = Field(None, description="A routing policy file (JSON).")


@router.post("/simulations", tags=["simulation"], response_model=SimulationReport,
             summary="What proposed screening rules or a routing policy would have done to a past period. "
                     "Nothing is emitted or written.")
async def post_simulation(body: SimulationRequest, _=require(*SIMULATORS),
                          format: SimulationFormat = SimulationFormat.JSON,
                          service: Service = Depends(current_service),
                          uow: InsightsUnitOfWork = Depends(unit_of_work)) -> Any:
    settings = service.settings
    report = await handlers.handle_run_simulation(
        RunSimulation(**body.model_dump()), uow, max_days=settings.simulation_max_days,
        imminent_danger_rules=settings.imminent_danger_rules)
    if format is SimulationFormat.TEXT:
        return PlainTextResponse(render.simulation_text(report))
    if format is SimulationFormat.SVG:
        return Response(render.simulation_svg(report), media_type="image/svg+xml")
    return report


@router.get("/statistics", tags=["statistics"], response_model=handlers.Release,
            summary="Counts by quarter, area, program, category and agency kind, k-anonymous, with "
                    "complementary suppression; every release is audited.")
async def get_statistics(
    who: Principal = require(*STATISTICS_READERS),  # first: the role is checked before anything else runs
    measure: Measure = Measure.REFERRALS,
    rows: list[Dimension] | None = Query(None, description="Row dimensions (default, and a researcher's only "
                                                           "choice: quarter, area, program, and category when it "
                                                           "is not the column)."),
    column: Dimension | None = Query(None, description="Column dimension (default: agency_kind for referral "
                                                       "measures, else category)."),
    period_start: date | None = Query(None, description="Default: 1 January this year; a researcher's: the "
                                                        "first day of the last full quarter."),
    period_end: date | None = Query(None, description="A researcher reads one whole quarter at a time."),
    k: int | None = Query(None, ge=K_MINIMUM, le=K_MAXIMUM, description="Publish no count under k (at least the configured k)."),
    format: StatisticsFormat = StatisticsFormat.JSON,
    service: Service = Depends(current_service), uow: InsightsUnitOfWork = Depends(unit_of_work),
) -> Any:
    release = await handlers.handle_release_statistics(ReleaseStatistics(
        measure=measure, rows=tuple(rows) if rows else None, column=column, period_start=period_start,
        period_end=period_end, k=k,
        requested_by=Requester(subject=who.subject, role=who.role.value, org=who.org)),
        uow, minimum_k=service.settings.k_anonymity)
    if format is StatisticsFormat.CSV:
        return Response(render.statistics_csv(release.cells), media_type="text/csv")
    if format is StatisticsFormat.SVG:
        title = (f"{release.measure.value} by {' · '.join(d.value for d in release.rows)}, "
                 f"{release.period_start} – {release.period_end} (k = {release.k})")
        return Response(render.statistics_svg(title, release.row_labels, release.values),
                        media_type="image/svg+xml")
    return release


@router.get("/statistics/releases", tags=["statistics"], summary="The release audit: who, when, which parameters.")
async def get_releases(_=require(Role.OPS), uow: InsightsUnitOfWork = Depends(unit_of_work)) -> list[dict]:
    async with uow:
        return await uow.releases.recent()
