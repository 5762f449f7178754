"""Composition root of the referral service."""

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
from pathways_runtime.service import Service

service = Service(
    "referral",
    schema="referral",
    migrations=Path(__file__).parent / "migrations",
    description="Cases, multidisciplinary triage, victim-centred routing and closed-loop referrals.",
)

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
for model, description in PUBLISHED:
    service.declare_publisher(model, title=model.event_type, description=description)


def _register() -> None:
    from pathways_referral.service_layer import closed_loop, handlers

    service.consumers.on(RedFlagRaised, title="Open or join a case",
                         description="Each red flag opens the establishment's case, or joins its open one, "
                                     "and refers it per the routing policy.")(handlers.on_red_flag)
    service.consumers.on(RedFlagEscalated, title="Raise a case's priority",
                         description="An escalated red flag raises the case's level and may add referrals "
                                     "(e.g. a minor, imminent danger).")(handlers.on_red_flag_escalated)

    @service.background
    async def referral_deadline_sweeper(svc: Service) -> None:
        await closed_loop.sweep_forever(svc.uow)


_register()
