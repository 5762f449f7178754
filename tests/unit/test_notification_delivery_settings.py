"""Delivery timing comes from PATHWAYS_DELIVERY_* (tests shorten it), with backoff.py's values by default."""

import pytest

from pathways_notification.domain import backoff
from pathways_notification.settings import DeliverySettings

pytestmark = pytest.mark.unit


def test_defaults_are_the_production_backoff():
    settings = DeliverySettings()
    assert (settings.base_seconds, settings.cap_seconds, settings.max_attempts) == (
        backoff.BASE_SECONDS, backoff.CAP_SECONDS, backoff.MAX_ATTEMPTS)


def test_the_environment_shortens_retries(monkeypatch):
    monkeypatch.setenv("PATHWAYS_DELIVERY_BASE_SECONDS", "0.05")
    monkeypatch.setenv("PATHWAYS_DELIVERY_MAX_ATTEMPTS", "3")
    monkeypatch.setenv("PATHWAYS_DELIVERY_TIMEOUT_SECONDS", "2")
    settings = DeliverySettings()
    assert (settings.base_seconds, settings.max_attempts, settings.timeout_seconds) == (0.05, 3, 2.0)
