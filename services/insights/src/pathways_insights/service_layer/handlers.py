"""The use cases of the insights service: ``async def handle_x(cmd, uow, ...) -> result``.

The projection handlers record what the bus said, idempotently (a re-delivered event changes nothing).
A simulation only reads: its unit of work is left without a commit, so even a bug could write nothing,
and it emits nothing. A statistics release reads, protects the table, and writes its audit row.
"""

from __future__ import annotations

import asyncio
import uuid
from datetime import date, timedelta
from functools import cache
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError

from pathways_contracts.catalog import Catalog, load_catalog
from pathways_inspection.domain.screening import Rules, load_rules, rules_problems
from pathways_insights.domain import statistics
from pathways_insights.domain.disclosure import as_rows
from pathways_insights.domain.simulation import RecordedInspection, Side, SimulationReport, simulate
from pathways_insights.domain.statistics import Dimension, Measure
from pathways_insights.service_layer.commands import (
    ProjectCaseClosed,
    ProjectCaseOpened,
    ProjectInspection,
    ProjectRedFlag,
    ProjectReferralCreated,
    ProjectReferralStep,
    ReleaseStatistics,
    RunSimulation,
)
from pathways_insights.service_layer.unit_of_work import InsightsUnitOfWork
from pathways_referral.domain.policy import RoutingPolicy, load_policy
from pathways_runtime.auth import Role
from pathways_runtime.errors import Forbidden, InvalidCommand, Problem

DEFAULT_CATALOG = "v1"


# --- projection ------------------------------------------------------------------------------------------


async def handle_project_inspection(cmd: ProjectInspection, uow: InsightsUnitOfWork) -> bool:
    inspection = RecordedInspection(str(cmd.inspection_id), cmd.establishment_id, cmd.jurisdiction, cmd.area,
                                    cmd.department, cmd.program, cmd.reason, cmd.inspected_on, cmd.indicator_codes)
    category = statistics.indicator_category(cmd.indicator_codes, load_catalog(DEFAULT_CATALOG))
    async with uow:
        added = await uow.projection.add_inspection(inspection, cmd.result, category)
        await uow.commit()
    return added


async def handle_project_red_flag(cmd: ProjectRedFlag, uow: InsightsUnitOfWork) -> None:
    async with uow:
        await uow.projection.add_red_flag(cmd.red_flag_id, cmd.establishment_id, cmd.jurisdiction, cmd.level,
                                          statistics.category_of(cmd.categories), cmd.raised_on)
        await uow.commit()


async def handle_project_case_opened(cmd: ProjectCaseOpened, uow: InsightsUnitOfWork) -> None:
    async with uow:
        await uow.projection.open_case(cmd.case_id, cmd.establishment_id, cmd.jurisdiction,
                                       statistics.category_of(cmd.categories), cmd.opened_on)
        await uow.commit()


async def handle_project_case_closed(cmd: ProjectCaseClosed, uow: InsightsUnitOfWork) -> None:
    async with uow:
        await uow.projection.close_case(cmd.case_id, cmd.outcome, cmd.closed_on)
        await uow.commit()


async def handle_project_referral_created(cmd: ProjectReferralCreated, uow: InsightsUnitOfWork) -> None:
    async with uow:
        await uow.projection.referral_created(cmd.referral_id, cmd.case_id, cmd.establishment_id, cmd.agency_kind,
                                              cmd.created_on)
        await uow.commit()


async def handle_project_referral_step(cmd: ProjectReferralStep, uow: InsightsUnitOfWork) -> None:
    async with uow:
        await uow.projection.referral_step(cmd.referral_id, cmd.case_id, cmd.step, cmd.on, cmd.status)
        await uow.commit()


# --- simulation --------------------------------------------------------------------------------------------


@cache
def _current_rules(jurisdiction: str) -> Rules:
    return load_rules(jurisdiction)


def _current_routing(jurisdiction: str) -> RoutingPolicy:
    return load_policy(jurisdiction)


def _parse(model: type[BaseModel], data: dict[str, Any], field: str) -> Any:
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise InvalidCommand(Problem(("body", field, *e["loc"]), e["msg"]) for e in exc.errors()) from None


def proposed_sides(cmd: RunSimulation) -> tuple[Side, Side]:
    """The current side (each jurisdiction's files) and the proposed one (the given files, else the current)."""
    rules = _parse(Rules, cmd.proposed_rules, "proposed_rules") if cmd.proposed_rules is not None else None
    routing = _parse(RoutingPolicy, cmd.proposed_routing, "proposed_routing") if cmd.proposed_routing is not None \
        else None
    if rules is not None:
        try:
            problems = rules_problems(rules, load_catalog(rules.catalog_version))
        except LookupError:
            problems = [f"no indicator catalog {rules.catalog_version!r}"]
        if problems:
            raise InvalidCommand(Problem(("body", "proposed_rules"), p) for p in problems)
    current = Side("current", _current_rules, _current_routing)
    proposed = Side("proposed", (lambda _: rules) if rules else _current_rules,
                    (lambda _: routing) if routing else _current_routing)
    return current, proposed


def _catalog(version: str) -> Catalog:
    return load_catalog(version)


async def handle_run_simulation(cmd: RunSimulation, uow: InsightsUnitOfWork, *, max_days: int,
                                imminent_danger_rules: frozenset[str] = frozenset()) -> SimulationReport:
    if cmd.period_end < cmd.period_start:
        raise InvalidCommand.field("period_end", "must not be before period_start")
    if (cmd.period_end - cmd.period_start).days > max_days:
        raise InvalidCommand.field("period_end", f"a simulation replays at most {max_days} days")
    current, proposed = proposed_sides(cmd)
    # Replay the fusion window before the period too, so the period starts from the state it had.
    look_back = max(current.rules_for(cmd.jurisdiction or "default").fusion_window_days,
                    proposed.rules_for(cmd.jurisdiction or "default").fusion_window_days)
    async with uow:  # read only: never committed
        inspections = await uow.projection.inspections_between(cmd.period_start - timedelta(days=look_back),
                                                               cmd.period_end, cmd.jurisdiction)
    # The replay is CPU work: off the event loop, so the service keeps consuming and answering meanwhile.
    return await asyncio.to_thread(simulate, inspections, current, proposed, _catalog, cmd.period_start,
                                   cmd.period_end, imminent_danger_rules)


# --- statistics ----------------------------------------------------------------------------------------------


class Release(BaseModel):
    model_config = ConfigDict(frozen=True)

    release_id: uuid.UUID
    measure: Measure
    rows: tuple[Dimension, ...]
    column: Dimension
    period_start: date
    period_end: date
    k: int
    row_labels: list[str]
    column_labels: list[str]
    values: list[list[int | None]]  # the last row and the last column are the totals; None is suppressed
    cells: list[dict]
    median_days: dict[str, float]  # per row, for measures with a duration (closure, engagement); see statistics
    cells_published: int
    cells_suppressed: int


def _check_dimensions(rows: tuple[Dimension, ...], column: Dimension, measure: Measure) -> None:
    if not rows:
        raise InvalidCommand.field("rows", "name at least one dimension")
    if len(set(rows)) != len(rows):
        raise InvalidCommand.field("rows", "a dimension is named twice")
    if column in rows:
        raise InvalidCommand.field("column", "must not also be a row dimension")
    if Dimension.AGENCY_KIND in (*rows, column) and not measure.per_agency:
        raise InvalidCommand.field("column" if column is Dimension.AGENCY_KIND else "rows",
                                   f"agency_kind applies to referral measures, not {measure.value}")


def _researcher_may(cmd: ReleaseStatistics, rows: tuple[Dimension, ...], column: Dimension, start: date,
                    end: date) -> None:
    """A researcher reads the published shape, one whole quarter at a time (see ``statistics.published_shape``)."""
    shape = statistics.published_shape(cmd.measure)
    if (rows, column) != shape:
        raise Forbidden(f"a researcher reads {cmd.measure.value} by {', '.join(d.value for d in shape[0])} "
                        f"against {shape[1].value} only")
    if (start, end) != statistics.quarter_bounds(start):
        raise Forbidden("a researcher reads one whole quarter at a time (period_start and period_end "
                        "the first and last day of one quarter)")


async def handle_release_statistics(cmd: ReleaseStatistics, uow: InsightsUnitOfWork, *, minimum_k: int,
                                    today: date | None = None) -> Release:
    k = cmd.k if cmd.k is not None else minimum_k
    if k < minimum_k:
        raise InvalidCommand.field("k", f"must be at least {minimum_k}, the configured minimum")
    researcher = cmd.requested_by.role == Role.RESEARCHER.value
    shape_rows, shape_column = statistics.published_shape(cmd.measure)
    rows = cmd.rows if cmd.rows is not None else shape_rows
    column = cmd.column or shape_column
    default_start, default_end = (statistics.last_full_quarter(today or date.today()) if researcher
                                  else this_year(today))
    start, end = cmd.period_start or default_start, cmd.period_end or default_end
    if end < start:
        raise InvalidCommand.field("period_end", "must not be before period_start")
    if researcher:
        _researcher_may(cmd, rows, column, start, end)
    _check_dimensions(rows, column, cmd.measure)
    async with uow:
        facts = await uow.projection.facts(cmd.measure, start, end)
        table = statistics.release(facts, rows, column, k)
        medians = statistics.median_days(facts, rows, table)
        release_id = uuid.uuid4()
        cells = as_rows(table)
        suppressed = sum(1 for c in cells if c["suppressed"])
        await uow.releases.record(
            release_id, released_to=cmd.requested_by.subject, role=cmd.requested_by.role, org=cmd.requested_by.org,
            parameters={"measure": cmd.measure.value, "rows": [d.value for d in rows], "column": column.value,
                        "period_start": start.isoformat(), "period_end": end.isoformat()},
            k=k, cells_published=len(cells) - suppressed, cells_suppressed=suppressed)
        await uow.commit()
    return Release(release_id=release_id, measure=cmd.measure, rows=rows, column=column, period_start=start,
                   period_end=end, k=k, row_labels=list(table.row_labels), column_labels=list(table.column_labels),
                   values=[list(r) for r in table.values], cells=cells, median_days=medians,
                   cells_published=len(cells) - suppressed, cells_suppressed=suppressed)


def this_year(today: date | None = None) -> tuple[date, date]:
    today = today or date.today()
    return date(today.year, 1, 1), date(today.year, 12, 31)
