"""The referral service's event handlers: each translates its event into a command and calls its handler."""

from __future__ import annotations

from pathways_contracts import CloudEvent
from pathways_contracts.events import RedFlagEscalated, RedFlagRaised
from pathways_referral.service_layer import cases
from pathways_referral.service_layer.commands import EscalateCase, OpenOrJoinCase
from pathways_referral.service_layer.unit_of_work import ReferralUnitOfWork


async def on_red_flag(event: CloudEvent[RedFlagRaised], uow: ReferralUnitOfWork) -> None:
    await cases.handle_open_or_join(OpenOrJoinCase(red_flag=event.data), uow)


async def on_red_flag_escalated(event: CloudEvent[RedFlagEscalated], uow: ReferralUnitOfWork) -> None:
    await cases.handle_escalation(EscalateCase(red_flag=event.data), uow)
