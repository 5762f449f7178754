"""One command per use case of the notification service."""

from __future__ import annotations

import re
import uuid
from datetime import datetime
from typing import Any, Literal, Self

from pydantic import BaseModel, ConfigDict, Field, HttpUrl, field_validator, model_validator

from pathways_contracts import CloudEvent, registry
from pathways_contracts.vocab import Category, Level, Program
from pathways_notification.domain.redaction import DepartmentRole
from pathways_runtime.auth import Role

# Plain http only where nothing crosses a network: a receiver on this machine, in development and tests
# (and then only when the operator allow-lists loopback: see domain/destinations.py).
LOCAL_HOSTS = frozenset({"localhost", "127.0.0.1"})
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


class SubscriptionRequest(BaseModel):
    """What a caller asks for. ``department`` and ``role`` are for operations only: a department's come
    from its token."""

    department: str | None = Field(None, min_length=1, description=(
        "Operations only: the department subscribed. A department token subscribes as its own org."))
    role: DepartmentRole | None = Field(None, description=(
        "Operations only: decides redaction. A department token subscribes with the role its org is granted."))
    event_types: list[str] = Field(min_length=1)
    channel: Literal["webhook", "email"] = "webhook"
    url: HttpUrl | None = Field(None, description="Webhook channel: an https URL (http only for localhost).")
    email: str | None = Field(None, description="Email channel: the mailbox that receives the notifications.")
    jurisdictions: list[str] = Field(default_factory=list, description="Empty: any jurisdiction.")
    min_level: Level | None = None
    categories: list[Category] = Field(default_factory=list, description="Empty: any category.")
    programs: list[Program] = Field(default_factory=list, description="Empty: any program.")

    @field_validator("event_types")
    @classmethod
    def known_types(cls, value: list[str]) -> list[str]:
        unknown = sorted(set(value) - set(registry()))
        if unknown:
            raise ValueError(f"unknown event types: {', '.join(unknown)}")
        return value

    @field_validator("url")
    @classmethod
    def https_unless_local(cls, value: HttpUrl | None) -> HttpUrl | None:
        if value is not None and value.scheme != "https" and value.host not in LOCAL_HOSTS:
            raise ValueError("a webhook URL must use https (http is accepted only for localhost and 127.0.0.1)")
        return value

    @field_validator("email")
    @classmethod
    def looks_like_a_mailbox(cls, value: str | None) -> str | None:
        if value is not None and not EMAIL.match(value):
            raise ValueError("not an email address")
        return value

    @model_validator(mode="after")
    def target_for_channel(self) -> Self:
        if self.channel == "webhook" and self.url is None:
            raise ValueError("the webhook channel needs a url")
        if self.channel == "email" and self.email is None:
            raise ValueError("the email channel needs an email address")
        return self

    def target(self) -> str:
        return str(self.url) if self.channel == "webhook" else str(self.email)


class Subscribe(SubscriptionRequest):
    """Subscribe a department's webhook or mailbox; the caller's token decides for whom and with which role."""

    caller_role: Role
    caller_org: str


class FanOut(BaseModel):
    """One event from the bus, to become one delivery per subscription that wants it."""

    model_config = ConfigDict(frozen=True)

    event_id: str
    event_type: str
    subject: str
    source: str
    time: datetime
    data: dict[str, Any]
    traceparent: str | None = None

    @classmethod
    def of(cls, event: CloudEvent, traceparent: str | None) -> FanOut:
        return cls(event_id=event.id, event_type=event.type, subject=event.subject, source=event.source,
                   time=event.time, data=event.data.model_dump(mode="json"), traceparent=traceparent)


class RestrictContact(BaseModel):
    """A case's 'do not contact' flag changed (``case.contact_restricted``)."""

    case_id: uuid.UUID
    restricted: bool
    changed_at: datetime


class DeliverOne(BaseModel):
    """Send the oldest due delivery of a subscription, once."""

    subscription_id: uuid.UUID


class DeliverBatch(BaseModel):
    """Send, at once, up to ``limit`` due deliveries of a subscription: the oldest of each subject."""

    subscription_id: uuid.UUID
    limit: int = Field(ge=1)


class ReplayDelivery(BaseModel):
    delivery_id: uuid.UUID


class ReplaySubscription(BaseModel):
    subscription_id: uuid.UUID
