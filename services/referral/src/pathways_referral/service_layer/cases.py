"""The triage team's decisions on a case, and closing it."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime

import asyncpg

from pathways_contracts.events import CaseClosed, CaseTriaged
from pathways_referral.adapters import people as people_repo
from pathways_referral.adapters import repository as repo
from pathways_referral.domain.lifecycle import Action
from pathways_referral.service_layer.closed_loop import act
from pathways_referral.service_layer.placement import Emit, refer_new_targets

CASE_CLOSED_EVENT = "case closed"  # the expiry event a consent may name (§2.31(a)(7))


class CaseNotFound(LookupError):
    pass


class CaseClosedAlready(ValueError):
    pass


async def _open_case(conn: asyncpg.Connection, case_id: uuid.UUID) -> asyncpg.Record:
    case = await repo.case_row(conn, case_id, lock=True)
    if case is None:
        raise CaseNotFound(case_id)
    if case["status"] != "open":
        raise CaseClosedAlready(f"case {case_id} is closed")
    return case


async def record_triage(conn: asyncpg.Connection, emit: Emit, case_id: uuid.UUID, decision: dict,
                        decided_by: str) -> int:
    """Record the decision, announce it, and refer the case to the new targets it brings; returns how many."""
    case = await _open_case(conn, case_id)
    await repo.insert_triage(conn, case_id, decision, decided_by)
    now = datetime.now(UTC)
    await repo.add_timeline(conn, case_id, "triage decision", {
        "approaches": decision["approaches"], "roles_present": decision["roles_present"],
        "follow_up_on": _iso(decision["follow_up_on"]), "imminent_danger": decision["imminent_danger"]})
    await emit(CaseTriaged(case_id=case_id, establishment_id=case["establishment_id"] or "",
                           approaches=decision["approaches"], roles_present=decision["roles_present"],
                           follow_up_on=_midnight(decision["follow_up_on"]), triaged_at=now))
    return await refer_new_targets(conn, emit, case, now)


async def close_case(conn: asyncpg.Connection, emit: Emit, case_id: uuid.UUID, outcome: str) -> datetime:
    """Close the case; offers nobody has taken yet are withdrawn, help already under way goes on."""
    case = await _open_case(conn, case_id)
    for referral_id in await repo.still_requested(conn, case_id):
        await act(conn, emit, referral_id, Action.CANCEL, agency_id=None)
    closed_at = await repo.close_case(conn, case_id, outcome)
    await people_repo.expiry_event_happened(conn, case_id, CASE_CLOSED_EVENT, closed_at)
    await repo.add_timeline(conn, case_id, "case closed", {"outcome": outcome})
    await emit(CaseClosed(case_id=case_id, establishment_id=case["establishment_id"] or "", outcome=outcome,
                          closed_at=closed_at))
    return closed_at


def _iso(day: date | None) -> str | None:
    return day.isoformat() if day else None


def _midnight(day: date | None) -> datetime | None:
    return datetime(day.year, day.month, day.day, tzinfo=UTC) if day else None
