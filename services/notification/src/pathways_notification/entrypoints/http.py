"""HTTP API of the notification service."""

from __future__ import annotations

import base64
import secrets
import uuid
from typing import Literal

from fastapi import APIRouter
from pydantic import BaseModel, Field, HttpUrl, field_validator

from pathways_contracts import registry
from pathways_notification.adapters import repository as repo
from pathways_notification.bootstrap import service
from pathways_runtime.auth import Principal, Role, require

router = APIRouter(tags=["subscriptions"])


class SubscriptionIn(BaseModel):
    department: str = Field(min_length=1)
    role: str = Field(min_length=1, description="Decides redaction (police, labor, health, ...).")
    event_types: list[str] = Field(min_length=1)
    channel: Literal["webhook"] = "webhook"
    url: HttpUrl

    @field_validator("event_types")
    @classmethod
    def known_types(cls, value: list[str]) -> list[str]:
        unknown = sorted(set(value) - set(registry()))
        if unknown:
            raise ValueError(f"unknown event types: {', '.join(unknown)}")
        return value


class SubscriptionCreated(BaseModel):
    id: uuid.UUID
    secret: str = Field(description="The signing secret. Shown once: store it now.")


def new_secret() -> str:
    return "whsec_" + base64.b64encode(secrets.token_bytes(24)).decode()


@router.post("/subscriptions", status_code=201, summary="Subscribe a department's webhook to event types.")
async def subscribe(body: SubscriptionIn, _: Principal = require(Role.DEPARTMENT, Role.OPS)) -> SubscriptionCreated:
    secret = new_secret()
    sub_id = await repo.create_subscription(service.pool, department=body.department, role=body.role,
                                            event_types=body.event_types, channel=body.channel,
                                            target=str(body.url), secret=secret)
    return SubscriptionCreated(id=sub_id, secret=secret)


@router.get("/deliveries", summary="Deliveries, newest first; filter by status (pending, delivered, parked).")
async def list_deliveries(status: str | None = None, _: Principal = require(Role.OPS, Role.DEPARTMENT)) -> list[dict]:
    return await repo.deliveries(service.pool, status)
