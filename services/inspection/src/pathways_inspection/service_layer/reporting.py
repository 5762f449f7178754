"""Reads: the registry, an establishment's screening, the routine schedule, equity reports and open data.

Each runs in a unit of work that is never committed (a read-only transaction),
so the unit tests' fake serves them like the database does.
"""

from __future__ import annotations

import io
import zipfile
from datetime import date

from pathways_contracts.vocab import InspectionReason, InspectionResult, Program
from pathways_inspection.domain import scheduling
from pathways_inspection.domain.registry import Establishment, InspectionRecord, LicenseStatus
from pathways_inspection.domain.registry_csv import lives_export
from pathways_inspection.domain.screening_view import ScreeningViewer
from pathways_inspection.service_layer.recording import assess
from pathways_inspection.service_layer.unit_of_work import InspectionUnitOfWork
from pathways_runtime.errors import NotFound

# Which license types each program inspects. Registries name types differently; both the program's
# own name and the common short names count, so an imported registry is scheduled without renaming.
LICENSE_TYPES: dict[Program, frozenset[str]] = {
    Program.MASSAGE: frozenset({"massage_establishment", "massage"}),
    Program.FOOD: frozenset({"food_establishment", "food", "restaurant"}),
    Program.LODGING: frozenset({"lodging", "hotel", "motel"}),
    Program.LABOR: frozenset({"labor_standards_site_visit"}),
    Program.RENTAL_HOUSING: frozenset({"rental_housing", "rental"}),
}


_STATUSES = frozenset(s.value for s in LicenseStatus)


def establishment(row: dict) -> Establishment:
    status = row["license_status"]
    return Establishment(
        id=row["id"], license_number=row["license_number"], name=row["name"], license_type=row["license_type"],
        license_status=LicenseStatus(status) if status in _STATUSES else LicenseStatus.INACTIVE,
        jurisdiction=row["jurisdiction"], license_expiry=row["license_expiry"], address=row["address"],
        area=row["area"])


def inspection_record(row: dict) -> InspectionRecord:
    return InspectionRecord(
        inspection_id=row["id"], establishment_id=row["establishment_id"], program=Program(row["program"]),
        reason=InspectionReason(row["reason"]), inspected_on=row["inspected_on"],
        result=InspectionResult(row["result"]), answers=row.get("answers") or {},
        checklist_version=row.get("checklist_version"))


async def list_establishments(uow: InspectionUnitOfWork, jurisdiction: str | None, certified: bool | None,
                              limit: int, offset: int) -> list[dict]:
    async with uow:
        return await uow.establishments.list(jurisdiction, certified, limit, offset)


async def establishment_with_follow_ups(uow: InspectionUnitOfWork, establishment_id: str) -> dict:
    async with uow:
        found = await uow.establishments.get(establishment_id)
        if found is None:
            raise NotFound(f"no establishment {establishment_id!r}")
        return found | {"follow_ups": await uow.follow_ups.of_establishment(establishment_id)}


async def screening_of(uow: InspectionUnitOfWork, establishment_id: str, as_of: date,
                       viewer: ScreeningViewer) -> dict:
    """The score breakdown behind the establishment's level and its red flag, as much as ``viewer`` may see."""
    async with uow:
        found = await uow.establishments.get(establishment_id)
        if found is None:
            raise NotFound(f"no establishment {establishment_id!r}")
        assessment = await assess(uow, found, as_of)
        red_flag = await uow.red_flags.latest(establishment_id)
    return viewer.screening(establishment_id, assessment.model_dump(mode="json"), red_flag)


async def plan(uow: InspectionUnitOfWork, program: Program, period_start: date, period_days: int, inspectors: int,
               capacity: int, seed: int, jurisdiction: str | None) -> dict:
    async with uow:
        establishments = [establishment(r) for r in await uow.establishments.all(jurisdiction)]
        last = await uow.inspections.last_inspected(program.value)
        routine = scheduling.plan_routine(establishments, last, program, period_start, period_days, inspectors,
                                          capacity, seed=seed, license_types=LICENSE_TYPES)
        follow_ups = await uow.follow_ups.due(program.value, until=routine.period.end)
    active = {v.establishment_id for v in routine.visits} | set(routine.unscheduled_for_capacity)
    return {
        "program": program, "period_start": routine.period.start, "period_end": routine.period.end,
        "inspectors": inspectors, "capacity_per_inspector_per_day": capacity, "seed": seed,
        "active_establishments": len(active),
        "visits": [{"establishment_id": v.establishment_id, "due_on": v.due_on, "inspector": v.inspector_index}
                   for v in sorted(routine.visits, key=lambda v: (v.due_on, v.inspector_index))],
        "overdue": list(routine.overdue),
        "unscheduled_for_capacity": list(routine.unscheduled_for_capacity),
        "follow_ups": follow_ups,
    }


async def coverage(uow: InspectionUnitOfWork, period: scheduling.Period, jurisdiction: str | None) -> list[dict]:
    async with uow:
        establishments = [establishment(r) for r in await uow.establishments.all(jurisdiction)]
        inspections = [inspection_record(r) for r in await uow.inspections.records(period.start, period.end)]
    rows = scheduling.coverage_report(establishments, inspections, period, LICENSE_TYPES)
    return [{"area": r.area, "program": r.program, "active": r.active, "inspected": r.inspected,
             "share": r.share} for r in rows]


async def red_flag_rate(uow: InspectionUnitOfWork, period: scheduling.Period) -> list[dict]:
    async with uow:
        inspections = [inspection_record(r) for r in await uow.inspections.records(period.start, period.end)]
        flagged = await uow.red_flags.contributing_inspection_ids()
    rows = scheduling.red_flag_rate_by_reason(inspections, flagged)
    return [{"reason": r.reason, "inspections": r.inspections, "red_flagged": r.red_flagged, "rate": r.rate}
            for r in rows]


async def lives_zip(uow: InspectionUnitOfWork, jurisdiction: str | None) -> bytes:
    """The LIVES open-data files, zipped: business facts and open-data checklist failures, no person data."""
    async with uow:
        establishments = [establishment(r) for r in await uow.establishments.all(jurisdiction)]
        records = [inspection_record(r) for r in await uow.inspections.records(with_answers=True)]
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as zipped:
        for name, text in lives_export(establishments, records).items():
            zipped.writestr(name, text)
    return archive.getvalue()
