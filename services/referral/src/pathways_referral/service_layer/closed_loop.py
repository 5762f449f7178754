"""Closed-loop referrals: an action on a referral, the deadline sweeper, and the figures.

Every change goes through ``domain.lifecycle.transition`` on a locked row, so two clicks (or the
sweeper and an agency accepting at the deadline) cannot both win. The sweeper expires each due
referral with the same ``handle_act_on_referral`` an agency's click goes through, in a unit of
work of its own.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from datetime import datetime

from pathways_contracts.events import (
    ReferralAccepted,
    ReferralClosed,
    ReferralDeclined,
    ReferralExpired,
    VictimServiceEngaged,
)
from pathways_contracts.vocab import ReferralStatus
from pathways_referral.domain.lifecycle import (
    Action,
    InvalidTransition,
    OutcomeRequired,
    ReasonRequired,
    ReferralError,
    ReferralState,
    closed_loop_figures,
    transition,
)
from pathways_referral.domain.vocab import AgencyKind
from pathways_referral.service_layer.commands import ActOnReferral
from pathways_referral.service_layer.placement import hand_over
from pathways_referral.service_layer.unit_of_work import ReferralUnitOfWork
from pathways_referral.settings import ReferralSettings
from pathways_runtime.errors import Conflict, InvalidCommand, NotFound

log = logging.getLogger(__name__)
_HANDS_OVER = frozenset({Action.REJECT, Action.EXPIRE})  # nobody took it: offer it on
SWEEP_BATCH = 100


def state_of(row: dict) -> ReferralState:
    return ReferralState(agency_id=row["agency_id"], agency_kind=AgencyKind(row["agency_kind"]),
                         created_at=row["created_at"], due_by=row["due_by"], status=ReferralStatus(row["status"]),
                         accepted_at=row["accepted_at"], engaged_at=row["engaged_at"], closed_at=row["closed_at"],
                         status_reason=row["status_reason"], outcome=row["outcome"])


async def handle_act_on_referral(cmd: ActOnReferral, uow: ReferralUnitOfWork) -> ReferralState:
    async with uow:
        new = await act(uow, cmd, uow.now())
        await uow.commit()
    return new


async def act(uow: ReferralUnitOfWork, cmd: ActOnReferral, now: datetime) -> ReferralState:
    """Apply the action inside an open unit (closing a case cancels its open offers this way)."""
    row = await uow.referrals.get(cmd.referral_id, lock=True)
    if row is None or (cmd.agency_id is not None and row["agency_id"] != cmd.agency_id):
        raise NotFound(f"no referral {cmd.referral_id}")
    try:
        new = transition(state_of(row), cmd.action, now, reason=cmd.reason, outcome=cmd.outcome)
    except ReasonRequired as exc:
        raise InvalidCommand.field("reason", str(exc)) from None
    except OutcomeRequired as exc:
        raise InvalidCommand.field("outcome", str(exc)) from None
    except (InvalidTransition, ReferralError) as exc:
        raise Conflict(str(exc)) from None
    await uow.referrals.save_state(cmd.referral_id, new)
    await uow.cases.add_timeline(row["case_id"], f"referral {new.status.value}", {
        "referral_id": str(cmd.referral_id), "agency_id": row["agency_id"], "action": cmd.action.value})
    event = _event_for(cmd.action, row, new, now)
    if event is not None:
        await uow.emit(event)
    if cmd.action in _HANDS_OVER:
        await hand_over(uow, await uow.cases.get(row["case_id"]), row["agency_kind"], now)
    return new


def _event_for(action: Action, row: dict, new: ReferralState, now: datetime):
    ids = {"referral_id": row["id"], "case_id": row["case_id"], "agency_id": row["agency_id"]}
    if action is Action.ACCEPT:
        return ReferralAccepted(**ids, accepted_at=now)
    if action is Action.REJECT:
        return ReferralDeclined(**ids, reason=new.status_reason, declined_at=now)
    if action is Action.ENGAGE:
        return VictimServiceEngaged(**ids, engaged_at=now)
    if action is Action.EXPIRE:
        return ReferralExpired(**ids, expired_at=now)
    return ReferralClosed(**ids, status=new.status, closed_at=now)  # complete, cancel, fail


# --- the deadline sweeper -------------------------------------------------------------------------

async def expire_due(new_uow: Callable[[], ReferralUnitOfWork]) -> int:
    """Expire every requested referral past its deadline, each in a unit of work of its own; returns how many.

    A referral another replica (or an agency's accept) changed in the meantime is skipped: its
    transition is refused on the locked row. Each referral is tried once per sweep.
    """
    expired, tried = 0, set()
    while True:
        lookup = new_uow()
        async with lookup:
            due = [r for r in await lookup.referrals.due(lookup.now(), SWEEP_BATCH) if r not in tried]
        if not due:
            return expired
        for referral_id in due:
            tried.add(referral_id)
            try:
                await handle_act_on_referral(ActOnReferral(referral_id=referral_id, action=Action.EXPIRE), new_uow())
                expired += 1
            except (Conflict, NotFound):
                continue


async def sweep_forever(new_uow: Callable[[], ReferralUnitOfWork], settings: ReferralSettings,
                        tick: float = 0.5) -> None:
    """Check on a short tick whether the sweep interval (read from the settings each time) has passed."""
    last = 0.0
    while True:
        await asyncio.sleep(min(tick, settings.sweep_seconds))
        if time.monotonic() - last < settings.sweep_seconds:
            continue
        last = time.monotonic()
        try:
            count = await expire_due(new_uow)
            if count:
                log.info("referrals expired", extra={"count": count})
        except Exception:  # a bad row must not stop the sweeper; it is retried on the next sweep
            log.exception("deadline sweep failed")


async def agency_figures(uow: ReferralUnitOfWork) -> dict[str, dict]:
    async with uow:
        rows = await uow.referrals.all_states()
    return {agency: _figure_dict(f) for agency, f in closed_loop_figures(state_of(r) for r in rows).items()}


def _figure_dict(f) -> dict:
    def seconds(d):
        return None if d is None else d.total_seconds()

    return {"offered": f.offered, "accepted": f.accepted, "rejected": f.rejected, "expired": f.expired,
            "pending": f.pending, "acceptance_rate": f.acceptance_rate,
            "median_time_to_accept_seconds": seconds(f.median_time_to_accept),
            "median_time_to_engagement_seconds": seconds(f.median_time_to_engagement)}
