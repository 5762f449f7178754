"""The notification service's settings: the runtime's, plus delivery timing, email and outbound-address policy.

Built once by ``bootstrap`` from the environment and passed down; tests build
their own (``NotificationSettings(delivery_max_attempts=2, ...)``). The
delivery worker reads the timing on every decision, so a test may also change
it on the running service's settings object.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import AliasChoices, Field, field_validator
from pydantic_settings import NoDecode, SettingsConfigDict

from pathways_notification.adapters.email import EmailSettings
from pathways_notification.domain import backoff
from pathways_runtime.settings import Settings


DEV_ALLOWED_NETWORKS = ("127.0.0.0/8", "::1/128")


def _env(name: str, field: str) -> AliasChoices:
    # The environment variable, or the field's own name when a test builds the settings in code.
    return AliasChoices(name, field)


class NotificationSettings(Settings):
    model_config = SettingsConfigDict(env_file=".env", extra="ignore", populate_by_name=True)

    delivery_base_seconds: float = Field(backoff.BASE_SECONDS, validation_alias=_env(
        "PATHWAYS_DELIVERY_BASE_SECONDS", "delivery_base_seconds"))
    delivery_cap_seconds: float = Field(backoff.CAP_SECONDS, validation_alias=_env(
        "PATHWAYS_DELIVERY_CAP_SECONDS", "delivery_cap_seconds"))
    delivery_max_attempts: int = Field(backoff.MAX_ATTEMPTS, ge=1, validation_alias=_env(
        "PATHWAYS_DELIVERY_MAX_ATTEMPTS", "delivery_max_attempts"))
    # A receiver slower than this has failed the attempt.
    delivery_timeout_seconds: float = Field(10.0, validation_alias=_env(
        "PATHWAYS_DELIVERY_TIMEOUT_SECONDS", "delivery_timeout_seconds"))
    # The worker looks for due deliveries at least this often, even when no NOTIFY woke it.
    delivery_poll_seconds: float = Field(1.0, validation_alias=_env(
        "PATHWAYS_DELIVERY_POLL_SECONDS", "delivery_poll_seconds"))
    # A lane sends up to this many deliveries of its subscription at once (one per subject), over as many
    # keep-alive connections of the subscription's own pool, and records their outcomes in one transaction.
    delivery_batch_size: int = Field(32, ge=1, validation_alias=_env(
        "PATHWAYS_DELIVERY_BATCH_SIZE", "delivery_batch_size"))
    # /readyz names the worker overdue when it has not completed a pass for this long (it should every poll).
    delivery_stall_seconds: float = Field(30.0, validation_alias=_env(
        "PATHWAYS_DELIVERY_STALL_SECONDS", "delivery_stall_seconds"))
    # The in-memory subscription table reloads on every change (NOTIFY), and at least this often.
    subscription_refresh_seconds: float = Field(30.0, validation_alias=_env(
        "PATHWAYS_SUBSCRIPTION_REFRESH_SECONDS", "subscription_refresh_seconds"))
    # Networks a webhook may reach although they are loopback, private or link-local (CIDR, comma-separated),
    # e.g. "127.0.0.1/32" for a receiver on this machine in development. Empty in production.
    webhook_allowed_networks: Annotated[list[str], NoDecode] = Field(default_factory=list, validation_alias=_env(
        "PATHWAYS_WEBHOOK_ALLOWED_NETWORKS", "webhook_allowed_networks"))
    # host:port of the Pathways services themselves: never a webhook target, allow-list or not.
    webhook_denied_endpoints: Annotated[list[str], NoDecode] = Field(
        default_factory=lambda: [f"{host}:{port}" for host in ("127.0.0.1", "[::1]")
                                 for port in (8001, 8002, 8003, 8004, 8005)],
        validation_alias=_env("PATHWAYS_WEBHOOK_DENIED_ENDPOINTS", "webhook_denied_endpoints"))
    email: EmailSettings = Field(default_factory=EmailSettings)

    def allowed_networks(self) -> list[str]:
        """The configured networks; in development mode with none configured, a receiver on this machine."""
        if not self.webhook_allowed_networks and self.dev_mode:
            return list(DEV_ALLOWED_NETWORKS)
        return self.webhook_allowed_networks

    @field_validator("webhook_allowed_networks", "webhook_denied_endpoints", mode="before")
    @classmethod
    def comma_separated(cls, value: object) -> object:
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        return value
