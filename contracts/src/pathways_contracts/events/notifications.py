"""Delivery outcomes of the notification service."""

from datetime import datetime
from typing import ClassVar
from uuid import UUID

from pydantic import Field

from pathways_contracts.base import Event


class _DeliveryEvent(Event):
    subject_field: ClassVar[str] = "subscription_id"

    delivery_id: UUID
    subscription_id: UUID
    department: str
    channel: str = Field(description="webhook or email")
    source_event_id: str = Field(description="ce_id of the event that was delivered.")
    source_event_type: str
    attempts: int = Field(ge=1)


class NotificationDelivered(_DeliveryEvent):
    event_type: ClassVar[str] = "notification.delivered"
    description: ClassVar[str] = "A department received an event through its subscription."

    delivered_at: datetime


class NotificationFailed(_DeliveryEvent):
    event_type: ClassVar[str] = "notification.failed"
    description: ClassVar[str] = "A delivery was parked after its last attempt; it can be replayed."

    last_error: str
    failed_at: datetime
