"""Delivery timing, from the environment (``PATHWAYS_DELIVERY_*``).

Production keeps the defaults of ``domain/backoff.py``; tests shorten them so a
receiver's outage lasts seconds, not minutes. The worker reads these on every
decision, so a test may also change them on the live object.
"""

from __future__ import annotations

from pydantic_settings import BaseSettings, SettingsConfigDict

from pathways_notification.domain import backoff


class DeliverySettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="PATHWAYS_DELIVERY_", env_file=".env", extra="ignore")

    base_seconds: float = backoff.BASE_SECONDS
    cap_seconds: float = backoff.CAP_SECONDS
    max_attempts: int = backoff.MAX_ATTEMPTS
    timeout_seconds: float = 10.0  # a receiver slower than this has failed the attempt
    poll_seconds: float = 1.0


delivery_settings = DeliverySettings()
