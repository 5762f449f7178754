"""Composition root of the referral service: ``bootstrap()`` builds it; importing this module builds nothing."""

from __future__ import annotations

from pathlib import Path

from pathways_contracts.events import (
    CaseClosed,
    CaseContactRestricted,
    CaseOpened,
    CaseTriaged,
    ConsentRevoked,
    RedFlagEscalated,
    RedFlagRaised,
    ReferralAccepted,
    ReferralClosed,
    ReferralCreated,
    ReferralDeclined,
    ReferralExpired,
    ReferralUnplaced,
    VictimServiceEngaged,
)
from pathways_referral.entrypoints import events
from pathways_referral.service_layer import closed_loop
from pathways_referral.service_layer.unit_of_work import ReferralUnitOfWork
from pathways_referral.settings import ReferralSettings
from pathways_runtime.service import Service

PUBLISHED = [
    (CaseOpened, "A red flag opened a case."),
    (CaseTriaged, "The multidisciplinary team recorded a triage decision."),
    (CaseClosed, "The triage team closed a case with its outcome."),
    (ReferralCreated, "A case was referred to an agency by a routing rule (or an officer's diversion)."),
    (ReferralAccepted, "The agency accepted the referral."),
    (ReferralDeclined, "The agency declined the referral, with a reason; it is offered on."),
    (ReferralExpired, "Nobody accepted before the deadline; it is offered on."),
    (ReferralUnplaced, "No agency is left: the case coordinator must place the referral."),
    (VictimServiceEngaged, "The agency engaged a person with services."),
    (ReferralClosed, "A referral was completed, cancelled or failed."),
    (ConsentRevoked, "A consent to release a person's details was revoked (ids only)."),
    (CaseContactRestricted, "Whether anyone on a case must not be contacted changed (the flag only)."),
]

# The handler table: event type → (handler, title, description).
HANDLERS = [
    (RedFlagRaised, events.on_red_flag, "Open or join a case",
     "Each red flag opens the establishment's case, or joins its open one, and refers it per the routing policy."),
    (RedFlagEscalated, events.on_red_flag_escalated, "Raise a case's priority",
     "An escalated red flag raises the case's level and may add referrals (e.g. a minor, imminent danger)."),
]


def bootstrap(settings: ReferralSettings | None = None) -> Service:
    settings = settings or ReferralSettings()
    service = Service(
        "referral",
        schema="referral",
        migrations=Path(__file__).parent / "migrations",
        description="Cases, multidisciplinary triage, victim-centred routing and closed-loop referrals.",
        settings=settings,
        unit_of_work=ReferralUnitOfWork.factory(settings),
    )
    for model, description in PUBLISHED:
        service.declare_publisher(model, title=model.event_type, description=description)
    for model, handler, title, description in HANDLERS:
        service.consumers.on(model, title=title, description=description)(handler)

    @service.background
    async def referral_deadline_sweeper(svc: Service) -> None:
        await closed_loop.sweep_forever(svc.uow, settings)

    return service
