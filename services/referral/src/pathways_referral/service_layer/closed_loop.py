"""Closed-loop referrals: an agency's action on a referral, the deadline sweeper, and the figures.

Every change goes through ``domain.lifecycle.transition`` on a locked row, so two clicks (or the
sweeper and an agency accepting at the deadline) cannot both win.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime

import asyncpg

from pathways_contracts.events import (
    ReferralAccepted,
    ReferralClosed,
    ReferralDeclined,
    ReferralExpired,
    VictimServiceEngaged,
)
from pathways_contracts.vocab import ReferralStatus
from pathways_referral import config
from pathways_referral.adapters import repository as repo
from pathways_referral.domain.lifecycle import Action, ReferralState, closed_loop_figures, transition
from pathways_referral.domain.vocab import AgencyKind
from pathways_referral.service_layer.placement import Emit, hand_over
from pathways_runtime.uow import UnitOfWork

log = logging.getLogger(__name__)
_HANDS_OVER = frozenset({Action.REJECT, Action.EXPIRE})  # nobody took it: offer it on


class ReferralNotFound(LookupError):
    """No such referral, or not one the caller may see (the same answer, so ids do not leak)."""


def state_of(row: asyncpg.Record) -> ReferralState:
    return ReferralState(agency_id=row["agency_id"], agency_kind=AgencyKind(row["agency_kind"]),
                         created_at=row["created_at"], due_by=row["due_by"], status=ReferralStatus(row["status"]),
                         accepted_at=row["accepted_at"], engaged_at=row["engaged_at"], closed_at=row["closed_at"],
                         status_reason=row["status_reason"], outcome=row["outcome"])


async def act(conn: asyncpg.Connection, emit: Emit, referral_id: uuid.UUID, action: Action, *,
              agency_id: str | None, reason: str | None = None, outcome: str | None = None) -> ReferralState:
    """Apply ``action``; ``agency_id`` None means the system or the triage team (not an agency) acts."""
    row = await repo.referral(conn, referral_id, lock=True)
    if row is None or (agency_id is not None and row["agency_id"] != agency_id):
        raise ReferralNotFound(referral_id)
    now = datetime.now(UTC)
    new = transition(state_of(row), action, now, reason=reason, outcome=outcome)
    await repo.save_referral_state(conn, referral_id, new)
    await repo.add_timeline(conn, row["case_id"], f"referral {new.status.value}",
                            {"referral_id": str(referral_id), "agency_id": row["agency_id"], "action": action.value})
    event = _event_for(action, row, new, now)
    if event is not None:
        await emit(event)
    if action in _HANDS_OVER:
        await hand_over(conn, emit, await repo.case_row(conn, row["case_id"]), row["agency_kind"], now)
    return new


def _event_for(action: Action, row: asyncpg.Record, new: ReferralState, now: datetime):
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

async def expire_due(new_uow: Callable[[], UnitOfWork]) -> int:
    """Expire every requested referral past its deadline, one unit of work each; returns how many."""
    expired = 0
    while True:
        async with new_uow() as uow:
            referral_id = await repo.lock_next_due(uow.conn)
            if referral_id is None:
                return expired
            await act(uow.conn, uow.emit, referral_id, Action.EXPIRE, agency_id=None)
            await uow.commit()
            expired += 1


async def sweep_forever(new_uow: Callable[[], UnitOfWork], tick: float = 0.5) -> None:
    """Check on a short tick whether the (env-configurable) sweep interval has passed, then sweep."""
    last = 0.0
    while True:
        await asyncio.sleep(tick)
        if time.monotonic() - last < config.sweep_seconds():
            continue
        last = time.monotonic()
        try:
            count = await expire_due(new_uow)
            if count:
                log.info("referrals expired", extra={"count": count})
        except Exception:  # a bad row must not stop the sweeper; it is retried on the next sweep
            log.exception("deadline sweep failed")


async def agency_figures(pool: asyncpg.Pool) -> dict[str, dict]:
    figures = closed_loop_figures(state_of(r) for r in await repo.all_referral_states(pool))
    return {agency: _figure_dict(f) for agency, f in figures.items()}


def _figure_dict(f) -> dict:
    def seconds(d):
        return None if d is None else d.total_seconds()

    return {"offered": f.offered, "accepted": f.accepted, "rejected": f.rejected, "expired": f.expired,
            "pending": f.pending, "acceptance_rate": f.acceptance_rate,
            "median_time_to_accept_seconds": seconds(f.median_time_to_accept),
            "median_time_to_engagement_seconds": seconds(f.median_time_to_engagement)}
