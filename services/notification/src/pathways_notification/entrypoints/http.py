"""HTTP API of the notification service: subscriptions, deliveries, replays."""

from __future__ import annotations

import base64
import re
import secrets
import uuid
from typing import Literal, Self

from fastapi import APIRouter, HTTPException
from pydantic import BaseModel, Field, HttpUrl, field_validator, model_validator

from pathways_contracts import registry
from pathways_contracts.vocab import Category, Level, Program
from pathways_notification.adapters import repository as repo
from pathways_notification.bootstrap import service
from pathways_notification.domain.redaction import DepartmentRole
from pathways_runtime.auth import Principal, Role, require

router = APIRouter(tags=["subscriptions"])
# Plain http only where nothing crosses a network: a receiver on this machine, in development and tests.
LOCAL_HOSTS = frozenset({"localhost", "127.0.0.1"})
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
DeliveryStatus = Literal["pending", "delivered", "parked", "cancelled"]


class SubscriptionIn(BaseModel):
    department: str = Field(min_length=1)
    role: DepartmentRole = Field(description="Decides redaction (police, labor, health, ...).")
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


class SubscriptionCreated(BaseModel):
    id: uuid.UUID
    secret: str | None = Field(description="The webhook signing secret. Shown once: store it now. None for email.")


class Replayed(BaseModel):
    replayed: list[uuid.UUID]


def new_secret() -> str:
    return "whsec_" + base64.b64encode(secrets.token_bytes(24)).decode()


@router.post("/subscriptions", status_code=201, summary="Subscribe a department's webhook or mailbox to events.")
async def subscribe(body: SubscriptionIn, _: Principal = require(Role.DEPARTMENT, Role.OPS)) -> SubscriptionCreated:
    secret = new_secret() if body.channel == "webhook" else None
    sub_id = await repo.create_subscription(service.pool, repo.NewSubscription(
        department=body.department, role=body.role, event_types=body.event_types, channel=body.channel,
        target=body.target(), secret=secret, jurisdictions=body.jurisdictions, min_level=body.min_level,
        categories=[str(c) for c in body.categories], programs=[str(p) for p in body.programs]))
    return SubscriptionCreated(id=sub_id, secret=secret)


@router.get("/subscriptions/{subscription_id}", summary="One subscription (never its secret).")
async def get_subscription(subscription_id: uuid.UUID, who: Principal = require(Role.OPS, Role.DEPARTMENT)) -> dict:
    row = await repo.get_subscription(service.pool, subscription_id)
    if row is None or not _may_see(who, row["department"]):
        raise HTTPException(404, f"no subscription {subscription_id}")
    return {k: v for k, v in dict(row).items() if k != "secret"}


@router.get("/deliveries", tags=["deliveries"],
            summary="Deliveries, newest first; filter by status (pending, delivered, parked, cancelled).")
async def list_deliveries(status: DeliveryStatus | None = None, subscription_id: uuid.UUID | None = None,
                          who: Principal = require(Role.OPS, Role.DEPARTMENT)) -> list[dict]:
    # A department sees its own deliveries only; operations see all.
    department = None if who.role == Role.OPS else who.org
    return await repo.deliveries(service.pool, status, subscription_id, department)


@router.get("/deliveries/{delivery_id}/attempts", tags=["deliveries"],
            summary="Every attempt of a delivery: when, status code, latency, outcome, error.")
async def delivery_attempts(delivery_id: uuid.UUID, who: Principal = require(Role.OPS, Role.DEPARTMENT)) -> list[dict]:
    found = await repo.get_delivery(service.pool, delivery_id)
    if found is None or not _may_see(who, found["department"]):
        raise HTTPException(404, f"no delivery {delivery_id}")
    return await repo.attempts_of(service.pool, delivery_id)


@router.post("/deliveries/replay", tags=["deliveries"],
             summary="Replay every parked delivery of a subscription (same delivery ids, fresh attempts).")
async def replay_subscription(subscription_id: uuid.UUID, _: Principal = require(Role.OPS)) -> Replayed:
    if await repo.get_subscription(service.pool, subscription_id) is None:
        raise HTTPException(404, f"no subscription {subscription_id}")
    return Replayed(replayed=await repo.replay_parked(service.pool, subscription_id=subscription_id))


@router.post("/deliveries/{delivery_id}/replay", tags=["deliveries"],
             summary="Replay one parked delivery (same delivery id, so the receiver can drop a duplicate).")
async def replay_delivery(delivery_id: uuid.UUID, _: Principal = require(Role.OPS)) -> Replayed:
    found = await repo.get_delivery(service.pool, delivery_id)
    if found is None:
        raise HTTPException(404, f"no delivery {delivery_id}")
    replayed = await repo.replay_parked(service.pool, delivery_id=delivery_id)
    if not replayed:
        raise HTTPException(409, f"delivery {delivery_id} is {found['status']}, or its subscription is inactive;"
                                 " only parked deliveries of active subscriptions are replayed")
    return Replayed(replayed=replayed)


def _may_see(who: Principal, department: str) -> bool:
    return who.role == Role.OPS or who.org == department
