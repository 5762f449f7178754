"""Rows from the store as the pure domain's registry and inspection records (schedule, reports, open data)."""

from __future__ import annotations

from datetime import date

import asyncpg

from pathways_contracts.vocab import InspectionReason, InspectionResult, Program
from pathways_inspection.adapters import repository as repo
from pathways_inspection.domain import scheduling
from pathways_inspection.domain.registry import Establishment, InspectionRecord, LicenseStatus

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


async def plan(pool: asyncpg.Pool, program: Program, period_start: date, period_days: int, inspectors: int,
               capacity: int, seed: int, jurisdiction: str | None) -> dict:
    establishments = [establishment(r) for r in await repo.all_establishments(pool, jurisdiction)]
    last = await repo.last_inspected(pool, program.value)
    routine = scheduling.plan_routine(establishments, last, program, period_start, period_days, inspectors,
                                      capacity, seed=seed, license_types=LICENSE_TYPES)
    follow_ups = await repo.follow_ups(pool, program.value, until=routine.period.end)
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


async def coverage(pool: asyncpg.Pool, period: scheduling.Period, jurisdiction: str | None) -> list[dict]:
    establishments = [establishment(r) for r in await repo.all_establishments(pool, jurisdiction)]
    inspections = [inspection_record(r) for r in await repo.inspection_records(pool, period.start, period.end)]
    rows = scheduling.coverage_report(establishments, inspections, period, LICENSE_TYPES)
    return [{"area": r.area, "program": r.program, "active": r.active, "inspected": r.inspected,
             "share": r.share} for r in rows]


async def red_flag_rate(pool: asyncpg.Pool, period: scheduling.Period) -> list[dict]:
    inspections = [inspection_record(r) for r in await repo.inspection_records(pool, period.start, period.end)]
    rows = scheduling.red_flag_rate_by_reason(inspections, await repo.red_flag_inspection_ids(pool))
    return [{"reason": r.reason, "inspections": r.inspections, "red_flagged": r.red_flagged, "rate": r.rate}
            for r in rows]
