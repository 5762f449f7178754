"""Helpers of the referral integration tests: publish red flags as the inspection service would, read cases."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from pathways_contracts import CloudEvent, decode
from pathways_contracts.events import RedFlagEscalated, RedFlagRaised
from pathways_runtime.auth import Role
from support import bearer, eventually, read_all

TRIAGE = bearer(Role.TRIAGE, "mdt")
OPS = bearer(Role.OPS, "ops")


def red_flag(categories: list[str], *, level: str = "red_flag", minor: bool = False,
             dimensions=("victim_vulnerability",), establishment_id: str | None = None,
             jurisdiction: str = "olmsted", **extra) -> RedFlagRaised:
    """A red flag as screening would raise it; pass ``previous_level`` for an escalation."""
    model = RedFlagEscalated if "previous_level" in extra else RedFlagRaised
    return model(red_flag_id=uuid.uuid4(), establishment_id=establishment_id or f"est-{uuid.uuid4().hex[:8]}",
                 jurisdiction=jurisdiction, level=level, score=7.0, categories=categories,
                 dimensions=list(dimensions), indicator_codes=["LAB-WAGE-THEFT"],
                 contributing_inspection_ids=[uuid.uuid4()],
                 departments=["health-department"], minor_indicated=minor, rules_version="test",
                 raised_at=datetime.now(UTC), **extra)


async def publish(running, data) -> CloudEvent:
    event = CloudEvent(data=data, source="/tests")
    await publish_again(running, event)
    return event


async def publish_again(running, event: CloudEvent) -> None:
    await running.services["inspection"].broker.publish(event.value(), event.type, key=event.key,
                                                        headers=event.headers())


async def case_of(running, establishment_id: str, min_referrals: int = 1) -> dict:
    async def probe():
        cases = (await running.referral.get("/cases", params={"establishment_id": establishment_id},
                                            headers=TRIAGE)).json()
        if not cases:
            return None
        case = (await running.referral.get(f"/cases/{cases[0]['id']}", headers=TRIAGE)).json()
        return case if len(case["referrals"]) >= min_referrals else None

    return await eventually(probe)


async def events_of(kafka: str, topic: str, **match) -> list[dict]:
    found = []
    for record in await read_all(kafka, topic):
        data = decode(record.headers, record.value, expected_type=topic).data.model_dump(mode="json")
        if all(data.get(k) == v for k, v in match.items()):
            found.append(data)
    return found
