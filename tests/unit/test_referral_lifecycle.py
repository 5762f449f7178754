"""Closed-loop referral lifecycle: every (status, action) pair, required reasons, deadlines, figures."""

from datetime import UTC, datetime, timedelta

import pytest

from pathways_contracts.vocab import ReferralStatus as S
from pathways_referral.domain.lifecycle import (
    Action,
    DeadlineNotPassed,
    DeadlinePassed,
    InvalidTransition,
    OutcomeRequired,
    ReasonRequired,
    ReferralError,
    ReferralState,
    acceptance_deadline,
    closed_loop_figures,
    next_target,
    transition,
)
from pathways_referral.domain.policy import AcceptanceWindow
from pathways_referral.domain.routing import Target
from pathways_referral.domain.vocab import AgencyKind as K

pytestmark = pytest.mark.unit

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
DUE = T0 + timedelta(hours=48)

# Written out by hand (not derived from the implementation): the allowed moves, everything else refused.
ALLOWED = {
    ("requested", "accept"): "accepted",
    ("requested", "reject"): "rejected",
    ("requested", "expire"): "cancelled",
    ("requested", "cancel"): "cancelled",
    ("accepted", "engage"): "in-progress",
    ("accepted", "cancel"): "cancelled",
    ("accepted", "fail"): "failed",
    ("in-progress", "complete"): "completed",
    ("in-progress", "cancel"): "cancelled",
    ("in-progress", "fail"): "failed",
}


def _referral(status: S = S.REQUESTED) -> ReferralState:
    return ReferralState(agency_id="agency-1", agency_kind=K.VICTIM_SERVICES, created_at=T0, due_by=DUE,
                         status=status)


def _moment(action: Action) -> datetime:
    return DUE + timedelta(minutes=1) if action is Action.EXPIRE else T0 + timedelta(hours=1)


@pytest.mark.parametrize("action", list(Action), ids=str)
@pytest.mark.parametrize("status", list(S), ids=str)
def test_every_status_action_pair(status: S, action: Action) -> None:
    expected = ALLOWED.get((status.value, action.value))
    attempt = lambda: transition(_referral(status), action, _moment(action), reason="a reason",  # noqa: E731
                                 outcome="an outcome")
    if expected is None:
        with pytest.raises(InvalidTransition, match=f"cannot {action.value} a referral that is {status.value}"):
            attempt()
    else:
        assert attempt().status.value == expected


@pytest.mark.parametrize("reason", [None, "", "   "])
@pytest.mark.parametrize(("status", "action"), [(S.REQUESTED, Action.REJECT), (S.ACCEPTED, Action.FAIL),
                                                 (S.IN_PROGRESS, Action.FAIL)])
def test_rejecting_or_failing_requires_a_reason(status: S, action: Action, reason: str | None) -> None:
    with pytest.raises(ReasonRequired):
        transition(_referral(status), action, T0, reason=reason)


def test_rejection_records_its_reason_and_closes() -> None:
    rejected = transition(_referral(), Action.REJECT, T0, reason="no capacity for Spanish-speaking clients")
    assert (rejected.status, rejected.status_reason, rejected.closed_at) == (
        S.REJECTED, "no capacity for Spanish-speaking clients", T0)


@pytest.mark.parametrize("outcome", [None, " "])
def test_completing_requires_an_outcome(outcome: str | None) -> None:
    with pytest.raises(OutcomeRequired):
        transition(_referral(S.IN_PROGRESS), Action.COMPLETE, T0, outcome=outcome)


def test_the_whole_happy_path_stamps_each_step() -> None:
    r = _referral()
    r = transition(r, Action.ACCEPT, T0 + timedelta(hours=2))
    r = transition(r, Action.ENGAGE, T0 + timedelta(hours=30))
    r = transition(r, Action.COMPLETE, T0 + timedelta(days=20), outcome="safety plan and housing in place")
    assert (r.status, r.accepted_at, r.engaged_at, r.closed_at, r.outcome) == (
        S.COMPLETED, T0 + timedelta(hours=2), T0 + timedelta(hours=30), T0 + timedelta(days=20),
        "safety plan and housing in place")


def test_expiry_only_after_the_deadline_and_is_marked_expired() -> None:
    with pytest.raises(DeadlineNotPassed):
        transition(_referral(), Action.EXPIRE, DUE - timedelta(seconds=1))
    expired = transition(_referral(), Action.EXPIRE, DUE)
    assert expired.status is S.CANCELLED and expired.expired and expired.status_reason == "expired"


def test_accepting_after_the_deadline_is_refused() -> None:
    with pytest.raises(DeadlinePassed):
        transition(_referral(), Action.ACCEPT, DUE + timedelta(seconds=1))


@pytest.mark.parametrize("at", [datetime(2026, 3, 2, 10, 0), T0 - timedelta(seconds=1)])
def test_naive_or_earlier_timestamps_are_refused(at: datetime) -> None:
    with pytest.raises(ReferralError):
        transition(_referral(), Action.ACCEPT, at)


@pytest.mark.parametrize(("urgent", "commitment", "due_hours", "hours"), [
    (False, None, None, 72),  # policy default
    (False, 24, None, 24),    # the agency's own commitment
    (False, 72, 24, 24),      # a mandated report's 24 h wins over a slower agency
    (True, None, None, 4),    # urgent: capped
    (True, 2, None, 2),       # an agency faster than the cap keeps its commitment
    (True, 72, 24, 4),
])
def test_acceptance_deadline(urgent: bool, commitment: int | None, due_hours: int | None, hours: int) -> None:
    window = AcceptanceWindow(default_commitment_hours=72, urgent_cap_hours=4)
    assert acceptance_deadline(T0, urgent, commitment, window=window, due_hours=due_hours) == T0 + timedelta(
        hours=hours)


def _target(kind: K, priority: int, fallback: bool = False) -> Target:
    return Target(kind, "R-TEST", priority, False, 48, "test", fallback)


def test_next_target_hands_over_in_priority_order_then_none() -> None:
    targets = [_target(K.LABOR_STANDARDS, 2), _target(K.VICTIM_SERVICES, 1), _target(K.HEALTH, 3, fallback=True)]
    assert next_target(targets, []).agency_kind is K.VICTIM_SERVICES
    assert next_target(targets, [K.VICTIM_SERVICES, K.LABOR_STANDARDS]).agency_kind is K.HEALTH
    assert next_target(targets, {K.VICTIM_SERVICES, K.LABOR_STANDARDS, K.HEALTH}) is None  # alert the coordinator


def _history(agency: str, accept_after_h: float | None = None, engage_after_h: float | None = None,
             reject: bool = False, expire: bool = False) -> ReferralState:
    r = ReferralState(agency_id=agency, agency_kind=K.VICTIM_SERVICES, created_at=T0, due_by=DUE)
    if accept_after_h is not None:
        r = transition(r, Action.ACCEPT, T0 + timedelta(hours=accept_after_h))
    if engage_after_h is not None:
        r = transition(r, Action.ENGAGE, T0 + timedelta(hours=engage_after_h))
    if reject:
        r = transition(r, Action.REJECT, T0 + timedelta(hours=1), reason="full")
    if expire:
        r = transition(r, Action.EXPIRE, DUE)
    return r


def test_closed_loop_figures_per_agency() -> None:
    figures = closed_loop_figures([
        _history("a", accept_after_h=1, engage_after_h=10),
        _history("a", accept_after_h=3, engage_after_h=30),
        _history("a", accept_after_h=5),
        _history("a", reject=True),
        _history("a", expire=True),
        _history("a"),  # still pending: not counted against the agency yet
        _history("b", expire=True),
    ])
    a, b = figures["a"], figures["b"]
    assert (a.offered, a.accepted, a.rejected, a.expired, a.pending) == (6, 3, 1, 1, 1)
    assert a.acceptance_rate == pytest.approx(3 / 5)
    assert a.median_time_to_accept == timedelta(hours=3)
    assert a.median_time_to_engagement == timedelta(hours=20)
    assert (b.acceptance_rate, b.median_time_to_accept, b.median_time_to_engagement) == (0.0, None, None)


def test_no_referrals_no_figures() -> None:
    assert closed_loop_figures([]) == {}
