"""What the insights service consumes: each event becomes a projection command (a dict maps type to handler)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from pathways_contracts import CloudEvent, Event
from pathways_contracts.events import (
    CaseClosed,
    CaseOpened,
    InspectionCompleted,
    RedFlagEscalated,
    RedFlagRaised,
    ReferralAccepted,
    ReferralClosed,
    ReferralCreated,
    ReferralDeclined,
    ReferralExpired,
    VictimServiceEngaged,
)
from pathways_insights.service_layer import handlers as h
from pathways_insights.service_layer.commands import (
    ProjectCaseClosed,
    ProjectCaseOpened,
    ProjectInspection,
    ProjectRedFlag,
    ProjectReferralCreated,
    ProjectReferralStep,
)
from pathways_insights.service_layer.unit_of_work import InsightsUnitOfWork


async def on_inspection_completed(event: CloudEvent[InspectionCompleted], uow: InsightsUnitOfWork) -> None:
    d = event.data
    await h.handle_project_inspection(ProjectInspection(
        inspection_id=d.inspection_id, establishment_id=d.establishment_id, jurisdiction=d.jurisdiction, area=d.area,
        department=d.department, program=d.program, reason=d.reason, inspected_on=d.inspected_on,
        result=d.result.value, indicator_codes=tuple(d.indicator_codes)), uow)


async def on_red_flag(event: CloudEvent[RedFlagRaised], uow: InsightsUnitOfWork) -> None:
    d = event.data
    await h.handle_project_red_flag(ProjectRedFlag(
        red_flag_id=d.red_flag_id, establishment_id=d.establishment_id, jurisdiction=d.jurisdiction,
        level=d.level.value, categories=tuple(c.value for c in d.categories), raised_on=d.raised_at.date()), uow)


async def on_case_opened(event: CloudEvent[CaseOpened], uow: InsightsUnitOfWork) -> None:
    d = event.data
    await h.handle_project_case_opened(ProjectCaseOpened(
        case_id=d.case_id, establishment_id=d.establishment_id, jurisdiction=d.jurisdiction,
        categories=tuple(d.categories), opened_on=d.opened_at.date()), uow)


async def on_case_closed(event: CloudEvent[CaseClosed], uow: InsightsUnitOfWork) -> None:
    d = event.data
    await h.handle_project_case_closed(ProjectCaseClosed(case_id=d.case_id, outcome=d.outcome,
                                                         closed_on=d.closed_at.date()), uow)


async def on_referral_created(event: CloudEvent[ReferralCreated], uow: InsightsUnitOfWork) -> None:
    d = event.data
    # `service` is the agency kind the routing rule named (the referral service sets it so).
    await h.handle_project_referral_created(ProjectReferralCreated(
        referral_id=d.referral_id, case_id=d.case_id, establishment_id=d.establishment_id, agency_kind=d.service,
        created_on=d.created_at.date()), uow)


def _step(step: str, at: str) -> Callable[[CloudEvent, InsightsUnitOfWork], Awaitable[None]]:
    async def on_step(event: CloudEvent, uow: InsightsUnitOfWork) -> None:
        d = event.data
        status = getattr(d, "status", None)
        await h.handle_project_referral_step(ProjectReferralStep(
            referral_id=d.referral_id, case_id=d.case_id, step=step, on=getattr(d, at).date(),
            status=status.value if status is not None else None), uow)

    on_step.__name__ = f"on_referral_{step}"
    return on_step


HANDLERS: dict[type[Event], Callable[[CloudEvent, InsightsUnitOfWork], Awaitable[None]]] = {
    InspectionCompleted: on_inspection_completed,
    RedFlagRaised: on_red_flag,
    RedFlagEscalated: on_red_flag,
    CaseOpened: on_case_opened,
    CaseClosed: on_case_closed,
    ReferralCreated: on_referral_created,
    ReferralAccepted: _step("accepted", "accepted_at"),
    ReferralDeclined: _step("declined", "declined_at"),
    ReferralExpired: _step("expired", "expired_at"),
    VictimServiceEngaged: _step("engaged", "engaged_at"),
    ReferralClosed: _step("closed", "closed_at"),
}
CONSUMED = list(HANDLERS)


async def on_event(event: CloudEvent, uow: InsightsUnitOfWork) -> None:
    """Project one event of any consumed type."""
    await HANDLERS[type(event.data)](event, uow)
