"""Settings, grants, the structured CloudEvent a department receives, and the worker's heartbeat."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from datetime import datetime, timedelta, timezone

import pytest

from notification_fakes import FakeNotificationUnitOfWork
from pathways_notification.domain.envelope import STRUCTURED_CONTENT_TYPE, structured_event
from pathways_contracts.grants import load_grants
from pathways_notification.domain.model import PendingDelivery
from pathways_notification.domain.redaction import DepartmentRole
from pathways_notification.service_layer.delivery import DeliveryWorker
from pathways_notification.settings import NotificationSettings

pytestmark = pytest.mark.unit


def test_settings_default_to_the_production_backoff_and_no_allowed_networks():
    settings = NotificationSettings(PATHWAYS_DEV_MODE=False)
    assert (settings.delivery_base_seconds, settings.delivery_cap_seconds, settings.delivery_max_attempts) == (
        1.0, 600.0, 6)
    assert settings.webhook_allowed_networks == [] and settings.allowed_networks() == []
    assert settings.delivery_stall_seconds > settings.delivery_poll_seconds


def test_development_mode_allows_a_local_receiver_unless_networks_are_configured():
    assert NotificationSettings(PATHWAYS_DEV_MODE=True).allowed_networks() == ["127.0.0.0/8", "::1/128"]
    assert NotificationSettings(PATHWAYS_DEV_MODE=True, webhook_allowed_networks=["10.1.0.0/16"]
                                ).allowed_networks() == ["10.1.0.0/16"]


def test_settings_come_from_the_environment_once(monkeypatch):
    monkeypatch.setenv("PATHWAYS_DELIVERY_BASE_SECONDS", "0.05")
    monkeypatch.setenv("PATHWAYS_DELIVERY_MAX_ATTEMPTS", "3")
    monkeypatch.setenv("PATHWAYS_WEBHOOK_ALLOWED_NETWORKS", "127.0.0.1/32, ::1/128")
    monkeypatch.setenv("SMTP_HOST", "mail.city.example")
    settings = NotificationSettings()
    assert (settings.delivery_base_seconds, settings.delivery_max_attempts) == (0.05, 3)
    assert settings.webhook_allowed_networks == ["127.0.0.1/32", "::1/128"]
    assert settings.email.host == "mail.city.example"
    monkeypatch.setenv("SMTP_HOST", "elsewhere.example")
    assert settings.email.host == "mail.city.example"  # read once, not per attempt


def test_tests_pass_settings_in_code():
    assert NotificationSettings(delivery_max_attempts=2).delivery_max_attempts == 2


def test_every_grant_is_a_known_role():
    grants = load_grants()
    assert grants.departments and all(isinstance(r, DepartmentRole) for r in grants.departments.values())
    assert grants.role_of("police-department") == "police" and grants.role_of("nobody") is None


def _delivery(role: str, body: dict, time: datetime) -> PendingDelivery:
    return PendingDelivery(
        id=uuid.uuid4(), subscription_id=uuid.uuid4(), event_id="evt-1", event_type="redflag.raised",
        subject="est-1", source="/pathways/inspection", time=time, body=body, traceparent=None, attempts=0,
        next_attempt_at=time, department="d", role=role, channel="webhook", target="https://x.example",
        secret=None, case_restricted=False)


def test_a_department_receives_a_structured_cloudevent_redacted_for_its_role():
    body = {"red_flag_id": "r1", "establishment_id": "est-1", "level": "urgent", "score": 9.1,
            "minor_indicated": True, "indicator_codes": []}
    time = datetime(2026, 11, 21, 13, 0, tzinfo=timezone(timedelta(hours=1)))
    event = structured_event(_delivery("police", body, time))
    assert event == {
        "specversion": "1.0", "id": "evt-1", "source": "/pathways/inspection", "type": "redflag.raised",
        "subject": "est-1", "time": "2026-11-21T12:00:00Z", "datacontenttype": "application/json",
        "data": {"red_flag_id": "r1", "establishment_id": "est-1", "level": "urgent", "indicator_codes": []}}
    assert STRUCTURED_CONTENT_TYPE == "application/cloudevents+json"
    assert structured_event(_delivery("victim_services", body, time))["data"]["minor_indicated"] is True


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now




class FakeWake:
    def __init__(self) -> None:
        self.lost = False

    async def wait(self, timeout: float) -> None:
        self.lost = True  # the connection dies while the worker waits


async def test_the_worker_listens_again_after_a_lost_connection_or_a_database_error():
    """The loop that used to die on the first database error (issue 14 item 1) starts over by itself."""
    listens: list[str] = []

    @contextlib.asynccontextmanager
    async def listen():
        listens.append("listen")
        if len(listens) == 2:
            raise ConnectionRefusedError("the database is restarting")
        if len(listens) == 4:
            raise asyncio.CancelledError  # enough: stop the test here
        yield FakeWake()

    clock, beats = Clock(), []
    worker = DeliveryWorker(FakeNotificationUnitOfWork, listen, NotificationSettings(), clock=clock,
                            beat=lambda: beats.append(clock.now))

    async def never_called(delivery):
        raise AssertionError("nothing is due")

    with pytest.raises(asyncio.CancelledError):
        await worker.run(never_called)
    assert len(listens) == 4  # lost → listen again; refused → back off, listen again; and again
    assert worker.last_pass == clock.now and len(beats) == 2  # a heartbeat for each completed pass
