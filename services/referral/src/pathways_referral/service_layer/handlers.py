"""Handlers of the referral service: plain functions of (event, unit of work)."""

from __future__ import annotations

from datetime import UTC, datetime

from pathways_contracts import CloudEvent
from pathways_contracts.events import CaseOpened, RedFlagEscalated, RedFlagRaised
from pathways_contracts.vocab import Level
from pathways_referral.adapters import repository as repo
from pathways_referral.service_layer.placement import refer_new_targets
from pathways_runtime.uow import PostgresUnitOfWork

LEVELS = [level.value for level in Level]


async def on_red_flag(envelope: CloudEvent[RedFlagRaised], h: PostgresUnitOfWork) -> None:
    """Open the establishment's case (or join its open one) and refer it per the routing policy."""
    event = envelope.data
    now = datetime.now(UTC)
    case_id, created = await _open_or_join(event, h, now)
    if not await repo.attach_red_flag(h.conn, case_id, event.red_flag_id, event.level, event.model_dump(mode="json")):
        return  # the same red flag again, under a new event id: nothing new to do
    await repo.add_timeline(h.conn, case_id, "red flag received", {"red_flag_id": event.red_flag_id,
                                                                   "level": event.level})
    if not created:
        await _raise_level(h, case_id, event.level)
    await refer_new_targets(h.conn, h.emit, await repo.case_row(h.conn, case_id, lock=True), now)


async def on_red_flag_escalated(envelope: CloudEvent[RedFlagEscalated], h: PostgresUnitOfWork) -> None:
    """A red flag went up (e.g. to urgent): the case's priority follows, and new facts may add referrals."""
    event = envelope.data
    now = datetime.now(UTC)
    case_id, _ = await _open_or_join(event, h, now)  # topics are not ordered: escalated may come first
    payload = event.model_dump(mode="json")
    if not await repo.attach_red_flag(h.conn, case_id, event.red_flag_id, event.level, payload):
        await repo.update_red_flag(h.conn, event.red_flag_id, event.level, payload)
    await _raise_level(h, case_id, event.level)
    await refer_new_targets(h.conn, h.emit, await repo.case_row(h.conn, case_id, lock=True), now)


async def _open_or_join(event: RedFlagRaised, h: PostgresUnitOfWork, now: datetime):
    case_id, created = await repo.open_case_for(h.conn, event.establishment_id, event.jurisdiction, event.level)
    if created:
        await h.emit(CaseOpened(case_id=case_id, establishment_id=event.establishment_id,
                                jurisdiction=event.jurisdiction, red_flag_id=event.red_flag_id, level=event.level,
                                categories=[c.value for c in event.categories], opened_at=now))
    return case_id, created


async def _raise_level(h: PostgresUnitOfWork, case_id, level: Level) -> None:
    if await repo.raise_case_level(h.conn, case_id, level.value, LEVELS):
        await repo.add_timeline(h.conn, case_id, "priority raised", {"level": level.value})
