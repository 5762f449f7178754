"""Closed-loop referrals in the HL7 FHIR Task vocabulary.

    requested ─ accept ─► accepted ─ engage ─► in-progress ─ complete (outcome) ─► completed
        │                    │                      │
        ├─ reject (reason) ─► rejected               ├─ cancel ─► cancelled
        ├─ expire (deadline passed) ─► cancelled     └─ fail (reason) ─► failed
        └─ cancel ─► cancelled    accepted may also be cancelled or fail.

FHIR Task has no "expired" status: an expired referral is ``cancelled`` with the status
reason ``expired``, so every other system reading FHIR still understands it.
"""

from __future__ import annotations

import statistics
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from enum import StrEnum

from pathways_contracts.vocab import ReferralStatus as S
from pathways_referral.domain.policy import AcceptanceWindow
from pathways_referral.domain.routing import Target
from pathways_referral.domain.vocab import AgencyKind

EXPIRED = "expired"


class Action(StrEnum):
    ACCEPT = "accept"
    REJECT = "reject"
    ENGAGE = "engage"  # the victim service engaged the person
    COMPLETE = "complete"
    CANCEL = "cancel"
    FAIL = "fail"
    EXPIRE = "expire"


TRANSITIONS: dict[tuple[S, Action], S] = {
    (S.REQUESTED, Action.ACCEPT): S.ACCEPTED,
    (S.REQUESTED, Action.REJECT): S.REJECTED,
    (S.REQUESTED, Action.EXPIRE): S.CANCELLED,
    (S.REQUESTED, Action.CANCEL): S.CANCELLED,
    (S.ACCEPTED, Action.ENGAGE): S.IN_PROGRESS,
    (S.ACCEPTED, Action.CANCEL): S.CANCELLED,
    (S.ACCEPTED, Action.FAIL): S.FAILED,
    (S.IN_PROGRESS, Action.COMPLETE): S.COMPLETED,
    (S.IN_PROGRESS, Action.CANCEL): S.CANCELLED,
    (S.IN_PROGRESS, Action.FAIL): S.FAILED,
}
TERMINAL = frozenset({S.REJECTED, S.COMPLETED, S.CANCELLED, S.FAILED})
_NEEDS_REASON = frozenset({Action.REJECT, Action.FAIL})
_CLOSES = frozenset({Action.REJECT, Action.EXPIRE, Action.CANCEL, Action.FAIL, Action.COMPLETE})


class ReferralError(ValueError):
    """A request to change a referral that the lifecycle does not allow."""


class InvalidTransition(ReferralError):
    def __init__(self, status: S, action: Action, detail: str = "") -> None:
        self.status, self.action = status, action
        super().__init__(f"cannot {action.value} a referral that is {status.value}{detail}")


class DeadlinePassed(InvalidTransition):
    """Accepting after the deadline: the referral has (or is about to have) moved on to another agency."""


class DeadlineNotPassed(InvalidTransition):
    """Expiring before the deadline."""


class ReasonRequired(ReferralError):
    def __init__(self, action: Action) -> None:
        super().__init__(f"a reason is required to {action.value} a referral")


class OutcomeRequired(ReferralError):
    def __init__(self) -> None:
        super().__init__("an outcome is required to complete a referral")


@dataclass(frozen=True)
class ReferralState:
    agency_id: str
    agency_kind: AgencyKind
    created_at: datetime
    due_by: datetime
    status: S = S.REQUESTED
    accepted_at: datetime | None = None
    engaged_at: datetime | None = None
    closed_at: datetime | None = None
    status_reason: str | None = None
    outcome: str | None = None

    @property
    def expired(self) -> bool:
        return self.status is S.CANCELLED and self.status_reason == EXPIRED


def transition(state: ReferralState, action: Action, at: datetime,
               reason: str | None = None, outcome: str | None = None) -> ReferralState:
    """The referral after ``action`` at ``at``; raises a ReferralError when the lifecycle forbids it."""
    new_status = TRANSITIONS.get((state.status, action))
    if new_status is None:
        raise InvalidTransition(state.status, action)
    _check_time(state, action, at)
    _check_required(action, reason, outcome)
    return replace(state, status=new_status, **_stamps(action, at, reason, outcome))


def _check_time(state: ReferralState, action: Action, at: datetime) -> None:
    if at.tzinfo is None:
        raise ReferralError("timestamps must be timezone-aware")
    if at < state.created_at:
        raise ReferralError("a referral cannot change before it was created")
    if action is Action.EXPIRE and at < state.due_by:
        raise DeadlineNotPassed(state.status, action, f" before its deadline {state.due_by.isoformat()}")
    if action is Action.ACCEPT and at > state.due_by:
        raise DeadlinePassed(state.status, action, f" after its deadline {state.due_by.isoformat()}")


def _check_required(action: Action, reason: str | None, outcome: str | None) -> None:
    if action in _NEEDS_REASON and not (reason and reason.strip()):
        raise ReasonRequired(action)
    if action is Action.COMPLETE and not (outcome and outcome.strip()):
        raise OutcomeRequired()


def _stamps(action: Action, at: datetime, reason: str | None, outcome: str | None) -> dict:
    if action is Action.ACCEPT:
        return {"accepted_at": at}
    if action is Action.ENGAGE:
        return {"engaged_at": at}
    stamps: dict = {"closed_at": at, "status_reason": EXPIRED if action is Action.EXPIRE else reason}
    if action is Action.COMPLETE:
        stamps["outcome"] = outcome
    return stamps


def acceptance_deadline(created_at: datetime, urgent: bool, agency_commitment_hours: int | None = None, *,
                        window: AcceptanceWindow = AcceptanceWindow(), due_hours: int | None = None) -> datetime:
    """When an unaccepted referral expires: the agency's own commitment (or the policy default),
    never later than the rule's ``due_hours``, and never later than the urgent cap for an urgent case."""
    hours = [agency_commitment_hours or window.default_commitment_hours]
    if due_hours is not None:
        hours.append(due_hours)
    if urgent:
        hours.append(window.urgent_cap_hours)
    return created_at + timedelta(hours=min(hours))


def next_target(targets: Sequence[Target], tried_agency_kinds: Iterable[AgencyKind]) -> Target | None:
    """The next agency kind to offer a declined or expired case to, in policy priority order.

    None means nobody is left: alert the case coordinator. (Another agency of the same kind
    is found first through ``directory.choose_agency(..., exclude=...)``.)
    """
    tried = set(tried_agency_kinds)
    return next((t for t in sorted(targets, key=lambda t: t.priority) if t.agency_kind not in tried), None)


@dataclass(frozen=True)
class AgencyFigures:
    offered: int
    accepted: int
    rejected: int
    expired: int
    pending: int  # still requested, not yet due: excluded from the acceptance rate
    acceptance_rate: float | None  # accepted / (accepted + rejected + expired); None until any of these
    median_time_to_accept: timedelta | None
    median_time_to_engagement: timedelta | None  # from the offer to the person being engaged


def closed_loop_figures(referrals: Iterable[ReferralState]) -> dict[str, AgencyFigures]:
    by_agency: dict[str, list[ReferralState]] = defaultdict(list)
    for referral in referrals:
        by_agency[referral.agency_id].append(referral)
    return {agency: _figures(rs) for agency, rs in sorted(by_agency.items())}


def _figures(referrals: list[ReferralState]) -> AgencyFigures:
    accepted = [r for r in referrals if r.accepted_at is not None]
    rejected = sum(r.status is S.REJECTED for r in referrals)
    expired = sum(r.expired for r in referrals)
    answered = len(accepted) + rejected + expired
    return AgencyFigures(
        offered=len(referrals), accepted=len(accepted), rejected=rejected, expired=expired,
        pending=sum(r.status is S.REQUESTED for r in referrals),
        acceptance_rate=len(accepted) / answered if answered else None,
        median_time_to_accept=_median([r.accepted_at - r.created_at for r in accepted]),
        median_time_to_engagement=_median([r.engaged_at - r.created_at for r in referrals if r.engaged_at]))


def _median(durations: list[timedelta]) -> timedelta | None:
    if not durations:
        return None
    return timedelta(seconds=statistics.median(d.total_seconds() for d in durations))
