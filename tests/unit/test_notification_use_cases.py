"""Every use case of the notification service on a fake unit of work: no broker, no database."""

from __future__ import annotations

import asyncio
import random
import uuid
from datetime import UTC, datetime, timedelta

import pytest

from notification_fakes import FakeNotificationUnitOfWork
from pathways_contracts.events import NotificationDelivered, NotificationFailed
from pathways_notification.domain.model import Attempt, PendingDelivery
from pathways_notification.domain.outcome import Outcome
from pathways_notification.service_layer import handlers
from pathways_notification.service_layer.subscription_table import SubscriptionTable
from pathways_notification.service_layer.commands import (
    DeliverBatch, DeliverOne, FanOut, ReplayDelivery, ReplaySubscription, RestrictContact, Subscribe,
)
from pathways_runtime.auth import Role
from pathways_runtime.backoff import Backoff
from pathways_runtime.errors import Conflict, Forbidden, InvalidCommand, NotFound

pytestmark = pytest.mark.unit
NOW = datetime(2026, 11, 21, 12, 0, tzinfo=UTC)
HOOK = "https://hooks.dept.example/p"


async def fan_out(cmd: FanOut, uow: FakeNotificationUnitOfWork) -> int:
    return await handlers.fan_out(cmd, uow, uow.table)


async def allow_all(url: str) -> None:
    return None


def subscribe_cmd(**fields) -> Subscribe:
    base = {"event_types": ["redflag.raised"], "url": HOOK, "caller_role": Role.OPS, "caller_org": "ops",
            "department": "city-police", "role": "police"}
    return Subscribe.model_validate(base | fields)


async def subscribe(uow, **fields) -> uuid.UUID:
    return (await handlers.subscribe(subscribe_cmd(**fields), uow, allow_all)).id


def red_flag(jurisdiction: str = "metro", level: str = "red_flag", categories=("sex",), **more) -> FanOut:
    data = {"red_flag_id": str(uuid.uuid4()), "establishment_id": "est-1", "jurisdiction": jurisdiction,
            "level": level, "categories": list(categories), "score": 7.5, "minor_indicated": True} | more
    return FanOut(event_id=str(uuid.uuid4()), event_type="redflag.raised", subject="est-1",
                  source="/pathways/inspection", time=NOW, data=data, traceparent=None)


def case_event(case_id: uuid.UUID, event_type: str = "case.triaged") -> FanOut:
    return FanOut(event_id=str(uuid.uuid4()), event_type=event_type, subject=str(case_id), source="/pathways/referral",
                  time=NOW, data={"case_id": str(case_id), "establishment_id": "est-1"})


# --- subscribe ---------------------------------------------------------------------------------------

async def test_a_department_subscribes_as_its_own_org_with_its_granted_role():
    uow = FakeNotificationUnitOfWork()
    created = await handlers.subscribe(Subscribe.model_validate(
        {"event_types": ["case.opened"], "url": HOOK, "caller_role": Role.DEPARTMENT,
         "caller_org": "police-department"}), uow, allow_all)
    sub = uow.tables.subscriptions[created.id]
    assert (sub.department, sub.role) == ("police-department", "police")
    assert created.secret.startswith("whsec_") and sub.secret == created.secret and uow.commits == 1


@pytest.mark.parametrize("asked", [{"role": "victim_services"}, {"role": "ops"},
                                   {"department": "police-department", "role": "police"}])
async def test_a_department_cannot_choose_another_role_or_department(asked):
    uow = FakeNotificationUnitOfWork()
    with pytest.raises(Forbidden):
        await handlers.subscribe(subscribe_cmd(caller_role=Role.DEPARTMENT, caller_org="health-department",
                                               department=asked.get("department"), role=asked.get("role")),
                                 uow, allow_all)
    assert uow.tables.subscriptions == {} and uow.commits == 0


async def test_a_department_naming_itself_and_its_grant_is_accepted():
    uow = FakeNotificationUnitOfWork()
    sub_id = await subscribe(uow, caller_role=Role.DEPARTMENT, caller_org="labor-standards",
                             department="labor-standards", role="labor")
    assert uow.tables.subscriptions[sub_id].role == "labor"


async def test_an_org_without_a_grant_cannot_subscribe_itself():
    with pytest.raises(Forbidden, match="operations"):
        await subscribe(FakeNotificationUnitOfWork(), caller_role=Role.DEPARTMENT, caller_org="unknown-org",
                        department=None, role=None)


async def test_operations_must_name_the_department_and_role():
    with pytest.raises(InvalidCommand) as raised:
        await subscribe(FakeNotificationUnitOfWork(), department=None, role=None)
    assert [p.loc for p in raised.value.problems] == [("body", "department"), ("body", "role")]


async def test_operations_subscribe_another_department_with_the_role_they_name():
    uow = FakeNotificationUnitOfWork()
    sub_id = await subscribe(uow, department="county-cps", role="child_protection", channel="email",
                             email="intake@cps.example", url=None)
    sub = uow.tables.subscriptions[sub_id]
    assert (sub.department, sub.role, sub.channel, sub.target, sub.secret) == (
        "county-cps", "child_protection", "email", "intake@cps.example", None)


async def test_a_refused_destination_is_a_bad_url_and_nothing_is_stored():
    checked = []

    async def refuse(url: str) -> None:
        checked.append(url)
        raise handlers.DestinationRefused("169.254.169.254 is link-local")

    uow = FakeNotificationUnitOfWork()
    with pytest.raises(InvalidCommand) as raised:
        await handlers.subscribe(subscribe_cmd(url="https://metadata.example/"), uow, refuse)
    assert raised.value.problems[0].loc == ("body", "url") and "link-local" in raised.value.problems[0].msg
    assert checked == ["https://metadata.example/"] and uow.tables.subscriptions == {}


async def test_an_email_subscription_has_no_url_to_check():
    async def refuse(url: str) -> None:
        raise AssertionError("an email subscription has no webhook URL")

    await handlers.subscribe(subscribe_cmd(channel="email", email="a@b.example", url=None),
                             FakeNotificationUnitOfWork(), refuse)


# --- fan out -----------------------------------------------------------------------------------------

async def test_fan_out_records_one_delivery_per_matching_subscription_with_filters():
    uow = FakeNotificationUnitOfWork()
    everything = await subscribe(uow, role="victim_services")
    metro_urgent = await subscribe(uow, role="victim_services", jurisdictions=["metro"], min_level="urgent")
    labor_only = await subscribe(uow, role="victim_services", categories=["labor"])
    other_type = await subscribe(uow, role="victim_services", event_types=["case.opened"])

    assert await fan_out(red_flag(level="red_flag", categories=["sex"]), uow) == 1
    assert await fan_out(red_flag(level="urgent", categories=["both"]), uow) == 3
    by_sub = [d.new.subscription_id for d in uow.tables.deliveries.values()]
    assert by_sub.count(everything) == 2 and by_sub.count(metro_urgent) == 1 and by_sub.count(labor_only) == 1
    assert other_type not in by_sub


async def test_fan_out_skips_a_role_that_receives_nothing_of_the_type():
    uow = FakeNotificationUnitOfWork()
    await subscribe(uow, role="police", event_types=["victim_service.engaged"])
    event = FanOut(event_id="e1", event_type="victim_service.engaged", subject="r1", source="/pathways/referral",
                   time=NOW, data={"referral_id": "r1", "case_id": str(uuid.uuid4()), "agency_id": "advocates"})
    assert await fan_out(event, uow) == 0 and uow.tables.deliveries == {}


async def test_fan_out_keeps_the_event_as_it_was_and_is_idempotent():
    uow = FakeNotificationUnitOfWork()
    sub_id = await subscribe(uow)
    event = red_flag()
    await fan_out(event, uow)
    await fan_out(event, uow)  # the same event again (a redelivery)
    [stored] = uow.tables.deliveries.values()
    assert stored.new.subscription_id == sub_id and stored.new.body == event.data  # redaction is at send time
    assert (stored.new.source, stored.new.time, stored.new.event_id) == (event.source, NOW, event.event_id)


async def test_fan_out_ignores_inactive_subscriptions():
    uow = FakeNotificationUnitOfWork()
    sub_id = await subscribe(uow)
    await uow.subscriptions.deactivate(sub_id)
    assert await fan_out(red_flag(), uow) == 0


async def test_nothing_about_a_restricted_case_is_recorded():
    uow = FakeNotificationUnitOfWork()
    await subscribe(uow, role="labor", event_types=["case.triaged"])
    restricted, other = uuid.uuid4(), uuid.uuid4()
    await handlers.restrict_contact(RestrictContact(case_id=restricted, restricted=True, changed_at=NOW), uow)
    assert await fan_out(case_event(restricted), uow) == 0
    assert await fan_out(case_event(other), uow) == 1


# --- restrict contact --------------------------------------------------------------------------------

async def test_a_restriction_cancels_pending_and_parked_deliveries_about_the_case_only():
    uow = FakeNotificationUnitOfWork()
    await subscribe(uow, role="labor", event_types=["case.triaged", "case.closed"])
    case, other = uuid.uuid4(), uuid.uuid4()
    for event in (case_event(case), case_event(case, "case.closed"), case_event(other)):
        await fan_out(event, uow)
    first, second, third = uow.tables.deliveries
    await uow.deliveries.park(second, 6, "HTTP 503")

    cancelled = await handlers.restrict_contact(RestrictContact(case_id=case, restricted=True, changed_at=NOW), uow)
    assert cancelled == 2
    assert [uow.deliveries.status(d) for d in (first, second, third)] == ["cancelled", "cancelled", "pending"]
    with pytest.raises(Conflict):  # a cancelled delivery cannot be replayed
        await handlers.replay_delivery(ReplayDelivery(delivery_id=second), uow)


async def test_an_older_change_does_not_undo_a_newer_one_and_lifting_cancels_nothing():
    uow = FakeNotificationUnitOfWork()
    await subscribe(uow, role="labor", event_types=["case.triaged"])
    case = uuid.uuid4()
    await handlers.restrict_contact(RestrictContact(case_id=case, restricted=False, changed_at=NOW), uow)
    await handlers.restrict_contact(
        RestrictContact(case_id=case, restricted=True, changed_at=NOW - timedelta(minutes=1)), uow)
    assert not await uow.restrictions.is_restricted(str(case))  # the later "lifted" stands
    assert await fan_out(case_event(case), uow) == 1


# --- deliver one -------------------------------------------------------------------------------------

class Receiver:
    """A sender that answers from a script and keeps what it was asked to send."""

    def __init__(self, *codes: int | None) -> None:
        self.codes = list(codes)
        self.sent: list[PendingDelivery] = []

    async def __call__(self, delivery: PendingDelivery) -> Attempt:
        self.sent.append(delivery)
        code = self.codes.pop(0)
        return Attempt(code, 3, None if code and code < 300 else ("timeout" if code is None else "down"))


RETRIES = handlers.Retries(max_attempts=3, backoff=Backoff(base=2.0, cap=60.0, rng=random.Random(1)))


async def one_pending(uow, **sub_fields) -> tuple[uuid.UUID, uuid.UUID]:
    sub_id = await subscribe(uow, **sub_fields)
    await fan_out(red_flag(), uow)
    [delivery_id] = uow.tables.deliveries
    return sub_id, delivery_id


async def deliver(uow, sub_id, receiver, now=NOW):
    return await handlers.deliver_one(DeliverOne(subscription_id=sub_id), uow, receiver, RETRIES, lambda: now)


async def test_a_delivered_attempt_is_recorded_and_announced():
    uow = FakeNotificationUnitOfWork()
    sub_id, delivery_id = await one_pending(uow)
    assert await deliver(uow, sub_id, Receiver(204)) is Outcome.DELIVERED
    assert uow.deliveries.status(delivery_id) == "delivered"
    [announced] = uow.events(NotificationDelivered)
    assert (announced.delivery_id, announced.attempts, announced.department) == (delivery_id, 1, "city-police")
    assert uow.tables.attempts[0][2] == "delivered"


async def test_a_failed_attempt_is_retried_after_a_jittered_backoff():
    uow = FakeNotificationUnitOfWork()
    sub_id, delivery_id = await one_pending(uow)
    assert await deliver(uow, sub_id, Receiver(503)) is Outcome.RETRY
    stored = uow.tables.deliveries[delivery_id]
    assert stored.status == "pending" and stored.attempts == 1 and stored.last_error == "down"
    assert NOW <= stored.next_attempt_at <= NOW + timedelta(seconds=2.0)  # first ceiling: base
    assert uow.published == []
    # Not due yet: nothing is sent.
    assert await deliver(uow, sub_id, Receiver()) is None
    assert await deliver(uow, sub_id, Receiver(None), now=NOW + timedelta(seconds=2)) is Outcome.RETRY
    assert NOW + timedelta(seconds=2) <= uow.tables.deliveries[delivery_id].next_attempt_at <= NOW + timedelta(
        seconds=2 + 4.0)  # second ceiling: base * 2


async def test_a_receiver_that_asks_for_a_pause_gets_it_and_the_attempt_still_counts():
    uow = FakeNotificationUnitOfWork()
    sub_id, delivery_id = await one_pending(uow)

    async def busy(delivery: PendingDelivery) -> Attempt:
        return Attempt(503, 3, "busy", asked_wait_seconds=45.0)

    assert await deliver(uow, sub_id, busy) is Outcome.RETRY
    stored = uow.tables.deliveries[delivery_id]
    assert stored.next_attempt_at == NOW + timedelta(seconds=45) and stored.attempts == 1  # not the ≤ 2 s draw
    assert await deliver(uow, sub_id, Receiver(), now=NOW + timedelta(seconds=44)) is None  # not yet due


async def test_the_last_failed_attempt_parks_the_delivery_and_announces_it():
    uow = FakeNotificationUnitOfWork()
    sub_id, delivery_id = await one_pending(uow)
    later = NOW + timedelta(hours=1)
    outcomes = [await deliver(uow, sub_id, Receiver(500), now=later + timedelta(minutes=i)) for i in range(3)]
    assert outcomes == [Outcome.RETRY, Outcome.RETRY, Outcome.PARKED]
    assert uow.deliveries.status(delivery_id) == "parked"
    [failed] = uow.events(NotificationFailed)
    assert failed.attempts == 3 and failed.last_error == "down" and uow.events(NotificationDelivered) == []


async def test_a_410_unsubscribes_and_cancels_what_waits():
    uow = FakeNotificationUnitOfWork()
    sub_id, first = await one_pending(uow)
    await fan_out(red_flag(), uow)
    assert await deliver(uow, sub_id, Receiver(410)) is Outcome.UNSUBSCRIBED
    assert not uow.tables.subscriptions[sub_id].active
    # The answered one and the one behind it: nothing more goes to a receiver that said "gone".
    assert [d.status for d in uow.tables.deliveries.values()] == ["cancelled", "cancelled"]
    assert await fan_out(red_flag(), uow) == 0


async def test_a_410_from_a_mail_server_is_just_a_failure():
    uow = FakeNotificationUnitOfWork()
    sub_id, _ = await one_pending(uow, channel="email", email="a@b.example", url=None)
    assert await deliver(uow, sub_id, Receiver(410)) is Outcome.RETRY
    assert uow.tables.subscriptions[sub_id].active


async def test_a_delivery_about_a_case_restricted_after_it_was_recorded_is_cancelled_unsent():
    uow = FakeNotificationUnitOfWork()
    sub_id = await subscribe(uow, role="labor", event_types=["case.triaged"])
    case = uuid.uuid4()
    await fan_out(case_event(case), uow)
    [delivery_id] = uow.tables.deliveries
    uow.tables.restricted[case] = (True, NOW)  # recorded without the cancel (the race the worker guards)
    receiver = Receiver()
    assert await deliver(uow, sub_id, receiver) is Outcome.CANCELLED
    assert receiver.sent == [] and uow.deliveries.status(delivery_id) == "cancelled"


async def test_deliveries_of_a_subscription_go_out_in_order():
    uow = FakeNotificationUnitOfWork()
    sub_id = await subscribe(uow)
    events = [red_flag() for _ in range(3)]
    for event in events:
        await fan_out(event, uow)
    receiver = Receiver(204, 204, 204)
    while await deliver(uow, sub_id, receiver):
        pass
    assert [d.event_id for d in receiver.sent] == [e.event_id for e in events]


# --- deliver a batch (issue 10: fan-out that scales with subscribers) --------------------------------

class BySubject:
    """A sender that answers by the delivery's subject (a list: one answer per attempt) and keeps what it
    was asked to send; it yields once per attempt, so a batch's attempts overlap."""

    def __init__(self, **codes: int | list[int]) -> None:
        self.codes = {subject: code if isinstance(code, list) else [code] for subject, code in codes.items()}
        self.sent: list[PendingDelivery] = []
        self.in_flight = self.most_in_flight = 0

    async def __call__(self, delivery: PendingDelivery) -> Attempt:
        self.sent.append(delivery)
        self.in_flight += 1
        self.most_in_flight = max(self.most_in_flight, self.in_flight)
        await asyncio.sleep(0)
        self.in_flight -= 1
        answers = self.codes[delivery.subject]
        code = answers.pop(0) if len(answers) > 1 else answers[0]
        return Attempt(code, 3, None if code < 300 else "down")


def about(subject: str) -> FanOut:
    return red_flag().model_copy(update={"subject": subject})


async def deliver_batch(uow, sub_id, receiver, now=NOW, limit=64) -> list[Outcome]:
    return await handlers.deliver_batch(DeliverBatch(subscription_id=sub_id, limit=limit), uow, receiver, RETRIES,
                                        lambda: now)


async def test_a_batch_takes_the_oldest_delivery_of_each_subject_in_order_and_sends_them_at_once():
    uow = FakeNotificationUnitOfWork()
    sub_id = await subscribe(uow)
    events = [about(subject) for subject in ("a", "b", "a", "c", "b", "a")]
    for event in events:
        await fan_out(event, uow)
    receiver = BySubject(a=204, b=204, c=204)
    assert await deliver_batch(uow, sub_id, receiver) == [Outcome.DELIVERED] * 3
    assert [d.event_id for d in receiver.sent] == [events[i].event_id for i in (0, 1, 3)]
    assert receiver.most_in_flight == 3  # sent at once, not one after the other
    assert await deliver_batch(uow, sub_id, receiver) == [Outcome.DELIVERED] * 2
    assert await deliver_batch(uow, sub_id, receiver) == [Outcome.DELIVERED]
    assert await deliver_batch(uow, sub_id, receiver) == []
    assert [d.event_id for d in receiver.sent] == [events[i].event_id for i in (0, 1, 3, 2, 4, 5)]
    # Within each subject, creation order.
    for subject in "abc":
        assert ([d.event_id for d in receiver.sent if d.subject == subject]
                == [e.event_id for e in events if e.subject == subject])


async def test_a_batch_is_at_most_its_limit_oldest_first():
    uow = FakeNotificationUnitOfWork()
    sub_id = await subscribe(uow)
    events = [about(f"est-{i}") for i in range(5)]
    for event in events:
        await fan_out(event, uow)
    receiver = BySubject(**{f"est-{i}": 204 for i in range(5)})
    assert await deliver_batch(uow, sub_id, receiver, limit=2) == [Outcome.DELIVERED] * 2
    assert [d.event_id for d in receiver.sent] == [e.event_id for e in events[:2]]


async def test_a_retry_holds_back_the_later_deliveries_of_its_subject_only():
    uow = FakeNotificationUnitOfWork()
    sub_id = await subscribe(uow)
    a1, b1, a2, b2 = about("a"), about("b"), about("a"), about("b")
    for event in (a1, b1, a2, b2):
        await fan_out(event, uow)
    receiver = BySubject(a=[503, 204], b=204)
    assert await deliver_batch(uow, sub_id, receiver) == [Outcome.RETRY, Outcome.DELIVERED]
    # a1 waits for its backoff: a2 waits behind it, b2 does not.
    assert await deliver_batch(uow, sub_id, receiver) == [Outcome.DELIVERED]
    assert await deliver_batch(uow, sub_id, receiver) == []
    assert [d.event_id for d in receiver.sent] == [a1.event_id, b1.event_id, b2.event_id]
    later = NOW + timedelta(minutes=5)
    assert await deliver_batch(uow, sub_id, receiver, now=later) == [Outcome.DELIVERED]
    assert await deliver_batch(uow, sub_id, receiver, now=later) == [Outcome.DELIVERED]
    assert [d.event_id for d in receiver.sent][3:] == [a1.event_id, a2.event_id]  # a still in order


async def test_a_delivery_about_a_restricted_case_in_a_batch_is_cancelled_unsent_and_the_rest_go_out():
    uow = FakeNotificationUnitOfWork()
    sub_id = await subscribe(uow, role="labor", event_types=["case.triaged"])
    restricted, other = uuid.uuid4(), uuid.uuid4()
    for case in (restricted, other):
        await fan_out(case_event(case), uow)
    uow.tables.restricted[restricted] = (True, NOW)  # recorded without the cancel (the race the worker guards)
    receiver = BySubject(**{str(other): 204})
    assert await deliver_batch(uow, sub_id, receiver) == [Outcome.CANCELLED, Outcome.DELIVERED]
    assert [d.subject for d in receiver.sent] == [str(other)]
    assert {str(d.new.subject): d.status for d in uow.tables.deliveries.values()} == {
        str(restricted): "cancelled", str(other): "delivered"}
    assert [a[0] for a in uow.tables.attempts] == [d.new.id for d in uow.tables.deliveries.values()
                                                   if d.new.subject == str(other)]  # no attempt for the cancelled


async def test_every_outcome_of_a_batch_is_recorded_and_announced_in_one_commit():
    uow = FakeNotificationUnitOfWork()
    sub_id = await subscribe(uow)
    for subject in ("ok", "down", "dead", "ok2"):
        await fan_out(about(subject), uow)
    ids = {d.new.subject: d.new.id for d in uow.tables.deliveries.values()}
    uow.tables.deliveries[ids["dead"]].attempts = RETRIES.max_attempts - 1  # its last attempt comes now
    commits = uow.commits
    outcomes = await deliver_batch(uow, sub_id, BySubject(ok=204, down=503, dead=500, ok2=200))
    assert outcomes == [Outcome.DELIVERED, Outcome.RETRY, Outcome.PARKED, Outcome.DELIVERED]
    assert uow.commits == commits + 1
    assert [(a[0], a[2]) for a in uow.tables.attempts] == [
        (ids["ok"], "delivered"), (ids["down"], "retry"), (ids["dead"], "parked"), (ids["ok2"], "delivered")]
    assert {s: uow.deliveries.status(i) for s, i in ids.items()} == {
        "ok": "delivered", "down": "pending", "dead": "parked", "ok2": "delivered"}
    assert [e.delivery_id for e in uow.events(NotificationDelivered)] == [ids["ok"], ids["ok2"]]
    assert [e.delivery_id for e in uow.events(NotificationFailed)] == [ids["dead"]]


async def test_a_410_in_a_batch_unsubscribes_after_the_rest_of_the_batch_is_recorded():
    uow = FakeNotificationUnitOfWork()
    sub_id = await subscribe(uow)
    for subject in ("gone", "ok", "gone", "later"):
        await fan_out(about(subject), uow)
    outcomes = await deliver_batch(uow, sub_id, BySubject(gone=410, ok=204, later=204))
    assert outcomes == [Outcome.UNSUBSCRIBED, Outcome.DELIVERED, Outcome.DELIVERED]
    assert not uow.tables.subscriptions[sub_id].active
    # What was answered 2xx stays delivered; what had not gone out yet is cancelled.
    assert [d.status for d in uow.tables.deliveries.values()] == ["cancelled", "delivered", "cancelled", "delivered"]
    assert len(uow.events(NotificationDelivered)) == 2


async def test_a_sender_error_is_a_failed_attempt_and_the_rest_of_the_batch_is_recorded():
    uow = FakeNotificationUnitOfWork()
    sub_id = await subscribe(uow)
    for subject in ("boom", "ok"):
        await fan_out(about(subject), uow)
    ok = BySubject(ok=204)

    async def send(delivery: PendingDelivery) -> Attempt:
        if delivery.subject == "boom":
            raise RuntimeError("a bug in a sender")
        return await ok(delivery)

    assert await deliver_batch(uow, sub_id, send) == [Outcome.RETRY, Outcome.DELIVERED]
    [(_, failed, _), _] = uow.tables.attempts
    assert failed.status_code is None and "a bug in a sender" in failed.error


# --- replay ------------------------------------------------------------------------------------------

async def test_a_parked_delivery_is_replayed_with_its_id_and_a_fresh_budget():
    uow = FakeNotificationUnitOfWork()
    sub_id, delivery_id = await one_pending(uow)
    await uow.deliveries.park(delivery_id, 3, "down")
    assert await handlers.replay_delivery(ReplayDelivery(delivery_id=delivery_id), uow) == [delivery_id]
    stored = uow.tables.deliveries[delivery_id]
    assert (stored.status, stored.attempts) == ("pending", 0)
    receiver = Receiver(204)
    assert await deliver(uow, sub_id, receiver) is Outcome.DELIVERED and receiver.sent[0].id == delivery_id


async def test_only_parked_deliveries_are_replayed():
    uow = FakeNotificationUnitOfWork()
    _, delivery_id = await one_pending(uow)
    with pytest.raises(Conflict, match="pending"):
        await handlers.replay_delivery(ReplayDelivery(delivery_id=delivery_id), uow)
    with pytest.raises(NotFound):
        await handlers.replay_delivery(ReplayDelivery(delivery_id=uuid.uuid4()), uow)


async def test_replaying_a_subscription_replays_its_parked_deliveries_only():
    uow = FakeNotificationUnitOfWork()
    sub_id, parked = await one_pending(uow)
    await uow.deliveries.park(parked, 3, "down")
    other = await subscribe(uow)
    await fan_out(red_flag(), uow)
    for delivery_id, stored in uow.tables.deliveries.items():
        if stored.new.subscription_id == other:
            await uow.deliveries.park(delivery_id, 3, "down")
    assert await handlers.replay_subscription(ReplaySubscription(subscription_id=sub_id), uow) == [parked]
    assert [s.status for s in uow.tables.deliveries.values() if s.new.subscription_id == other] == ["parked"]
    with pytest.raises(NotFound):
        await handlers.replay_subscription(ReplaySubscription(subscription_id=uuid.uuid4()), uow)


# --- fan-out against the in-memory subscription table (issue 10) --------------------------------------

class CountingClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


async def test_an_event_no_subscription_wants_costs_no_transaction_and_no_query():
    uow = FakeNotificationUnitOfWork()
    await subscribe(uow, event_types=["case.opened"], role="labor")
    for _ in range(50):
        await subscribe(uow, role="victim_services", jurisdictions=["elsewhere"])
    table = SubscriptionTable(uow.subscriptions.all_active, clock=CountingClock())
    began = []
    uow._begin = lambda: began.append(1)  # type: ignore[method-assign] (any transaction would show here)
    for _ in range(100):
        assert await handlers.fan_out(red_flag(jurisdiction="metro"), uow, table) == 0
    assert began == [] and table.loads == 1  # one read of the table for 100 events


async def test_the_pipeline_filter_wants_only_what_a_subscription_would_receive():
    from pathways_contracts import CloudEvent
    from pathways_contracts.events import RedFlagRaised
    from pathways_notification.entrypoints.events import wanted_by_a_subscription

    uow = FakeNotificationUnitOfWork()
    await subscribe(uow, role="victim_services", jurisdictions=["metro"])
    wanted = wanted_by_a_subscription(SubscriptionTable(uow.subscriptions.all_active, clock=CountingClock()))

    def event(jurisdiction: str) -> CloudEvent:
        cmd = red_flag(jurisdiction=jurisdiction)
        return CloudEvent(source="/tests", data=RedFlagRaised.model_validate(cmd.data | {
            "indicator_codes": ["VUL-MINOR-PRESENT"], "contributing_inspection_ids": [], "departments": [],
            "rules_version": "tests", "raised_at": NOW}))

    assert await wanted(event("metro"))
    assert not await wanted(event("elsewhere"))  # the filter says no: acknowledged without a transaction
    case_closed = case_event(uuid.uuid4(), "case.closed")
    assert not await handlers.subscribers_of(
        SubscriptionTable(uow.subscriptions.all_active, clock=CountingClock()), case_closed.event_type,
        case_closed.data)  # no subscription to the type at all


async def test_the_table_reloads_when_invalidated_and_when_too_old():
    uow = FakeNotificationUnitOfWork()
    clock = CountingClock()
    table = SubscriptionTable(uow.subscriptions.all_active, max_age_seconds=30, clock=clock)
    assert await table.for_type("redflag.raised") == []
    sub_id = await handlers.subscribe(subscribe_cmd(), uow, allow_all, changed=table.invalidate)
    assert [s.id for s in await table.for_type("redflag.raised")] == [sub_id.id]  # reloaded on the change
    await uow.subscriptions.deactivate(sub_id.id)  # in another process: its NOTIFY has not arrived yet
    assert len(await table.for_type("redflag.raised")) == 1 and table.loads == 2
    clock.now += 31
    assert await table.for_type("redflag.raised") == [] and table.loads == 3


async def test_a_stale_table_cannot_make_a_delivery_for_a_deactivated_subscription():
    uow = FakeNotificationUnitOfWork()
    sub = await subscribe(uow)
    table = SubscriptionTable(uow.subscriptions.all_active, clock=CountingClock())
    await table.for_type("redflag.raised")
    await uow.subscriptions.deactivate(sub)  # the table still lists it
    assert len(await table.for_type("redflag.raised")) == 1
    await handlers.fan_out(red_flag(), uow, table)
    assert uow.tables.deliveries == {}


async def test_a_change_during_a_load_is_not_lost():
    uow = FakeNotificationUnitOfWork()
    table = SubscriptionTable(uow.subscriptions.all_active, clock=CountingClock())

    async def load_then_change():
        subs = await uow.subscriptions.all_active()
        table.invalidate()  # a NOTIFY arrives while the load is in flight
        return subs

    table._load = load_then_change
    await table.for_type("redflag.raised")
    table._load = uow.subscriptions.all_active
    await table.for_type("redflag.raised")
    assert table.loads == 2  # the first load did not count as fresh
