"""Cases: opened (or joined) by red flags, raised by escalations, decided on by the triage team, closed."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime

from pathways_contracts.events import CaseClosed, CaseOpened, CaseTriaged, RedFlagRaised
from pathways_contracts.vocab import Level
from pathways_referral.domain.lifecycle import Action
from pathways_referral.service_layer.closed_loop import act
from pathways_referral.service_layer.commands import (
    ActOnReferral,
    CloseCase,
    EscalateCase,
    OpenOrJoinCase,
    RecordTriage,
)
from pathways_referral.service_layer.placement import refer_new_targets
from pathways_referral.service_layer.unit_of_work import ReferralUnitOfWork
from pathways_runtime.errors import Conflict, NotFound

CASE_CLOSED_EVENT = "case closed"  # the expiry event a consent may name (§2.31(a)(7))


async def handle_open_or_join(cmd: OpenOrJoinCase, uow: ReferralUnitOfWork) -> uuid.UUID:
    """Open the establishment's case (or join its open one) and refer it per the routing policy."""
    flag = cmd.red_flag
    async with uow:
        now = uow.now()
        case_id, created = await _open_or_join(uow, flag, now)
        if await uow.cases.attach_red_flag(case_id, flag.red_flag_id, flag.level, flag.model_dump(mode="json")):
            await uow.cases.add_timeline(case_id, "red flag received", {"red_flag_id": flag.red_flag_id,
                                                                        "level": flag.level})
            if not created:
                await _raise_level(uow, case_id, flag.level)
            await refer_new_targets(uow, await uow.cases.get(case_id, lock=True), now)
        # else: the same red flag again, under a new event id: nothing new to do
        await uow.commit()
    return case_id


async def handle_escalation(cmd: EscalateCase, uow: ReferralUnitOfWork) -> uuid.UUID:
    """A red flag went up (e.g. to urgent): the case's priority follows, and new facts may add referrals."""
    flag = cmd.red_flag
    async with uow:
        now = uow.now()
        case_id, _ = await _open_or_join(uow, flag, now)  # topics are not ordered: escalated may come first
        payload = flag.model_dump(mode="json")
        if not await uow.cases.attach_red_flag(case_id, flag.red_flag_id, flag.level, payload):
            await uow.cases.update_red_flag(flag.red_flag_id, flag.level, payload)
        await _raise_level(uow, case_id, flag.level)
        await refer_new_targets(uow, await uow.cases.get(case_id, lock=True), now)
        await uow.commit()
    return case_id


async def _open_or_join(uow: ReferralUnitOfWork, flag: RedFlagRaised, now: datetime) -> tuple[uuid.UUID, bool]:
    case_id, created = await uow.cases.open_for(flag.establishment_id, flag.jurisdiction, flag.level)
    if created:
        await uow.emit(CaseOpened(case_id=case_id, establishment_id=flag.establishment_id,
                                  jurisdiction=flag.jurisdiction, red_flag_id=flag.red_flag_id, level=flag.level,
                                  categories=[c.value for c in flag.categories], opened_at=now))
    return case_id, created


async def _raise_level(uow: ReferralUnitOfWork, case_id: uuid.UUID, level: Level) -> None:
    if await uow.cases.raise_level(case_id, Level(level).value):
        await uow.cases.add_timeline(case_id, "priority raised", {"level": Level(level).value})


async def _open_case(uow: ReferralUnitOfWork, case_id: uuid.UUID) -> dict:
    case = await uow.cases.get(case_id, lock=True)
    if case is None:
        raise NotFound(f"no case {case_id}")
    if case["status"] != "open":
        raise Conflict(f"case {case_id} is closed")
    return case


async def handle_record_triage(cmd: RecordTriage, uow: ReferralUnitOfWork) -> int:
    """Record the decision, announce it, and refer the case to the new targets it brings; returns how many."""
    decision = cmd.decision.model_dump(mode="python")
    async with uow:
        case = await _open_case(uow, cmd.case_id)
        await uow.cases.add_triage(cmd.case_id, decision, cmd.decided_by)
        now = uow.now()
        await uow.cases.add_timeline(cmd.case_id, "triage decision", {
            "approaches": decision["approaches"], "roles_present": decision["roles_present"],
            "follow_up_on": _iso(decision["follow_up_on"]), "imminent_danger": decision["imminent_danger"]})
        await uow.emit(CaseTriaged(case_id=cmd.case_id, establishment_id=case["establishment_id"] or "",
                                   approaches=decision["approaches"], roles_present=decision["roles_present"],
                                   follow_up_on=_midnight(decision["follow_up_on"]), triaged_at=now))
        made = await refer_new_targets(uow, case, now)
        await uow.commit()
    return made


async def handle_close_case(cmd: CloseCase, uow: ReferralUnitOfWork) -> datetime:
    """Close the case; offers nobody has taken yet are withdrawn, help already under way goes on."""
    async with uow:
        case = await _open_case(uow, cmd.case_id)
        now = uow.now()
        for referral_id in await uow.referrals.still_requested(cmd.case_id):
            await act(uow, ActOnReferral(referral_id=referral_id, action=Action.CANCEL), now)
        closed_at = await uow.cases.close(cmd.case_id, cmd.outcome, now)
        await uow.consents.expiry_event_happened(cmd.case_id, CASE_CLOSED_EVENT, closed_at)
        await uow.cases.add_timeline(cmd.case_id, "case closed", {"outcome": cmd.outcome})
        await uow.emit(CaseClosed(case_id=cmd.case_id, establishment_id=case["establishment_id"] or "",
                                  outcome=cmd.outcome, closed_at=closed_at))
        await uow.commit()
    return closed_at


def _iso(day: date | None) -> str | None:
    return day.isoformat() if day else None


def _midnight(day: date | None) -> datetime | None:
    return datetime(day.year, day.month, day.day, tzinfo=UTC) if day else None
