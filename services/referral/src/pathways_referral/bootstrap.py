"""Composition root of the referral service."""

from pathlib import Path

from pathways_contracts.events import CaseOpened, RedFlagRaised, ReferralCreated
from pathways_runtime.service import Service

service = Service(
    "referral",
    schema="referral",
    migrations=Path(__file__).parent / "migrations",
    description="Cases, multidisciplinary triage, victim-centred routing and closed-loop referrals.",
)
service.declare_publisher(CaseOpened, title="case.opened", description="A red flag opened a case.")
service.declare_publisher(ReferralCreated, title="referral.created",
                          description="A case was referred to an agency by a routing rule.")


def _register() -> None:
    from pathways_referral.service_layer import handlers

    service.consumers.on(RedFlagRaised, title="Open or join a case",
                         description="Each red flag opens the establishment's case, or joins its open one.",
                         )(handlers.on_red_flag)


_register()
