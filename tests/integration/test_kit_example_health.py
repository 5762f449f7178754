"""Example health consumer on the real broker: a red flag schedules a follow-up through an HTTP call."""

from __future__ import annotations

import sys
import uuid
from datetime import UTC, datetime
from pathlib import Path

import pytest

from pathways_consumer_kit import publish
from pathways_contracts.events import RedFlagRaised
from support import WebhookReceiver, eventually

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "examples"))
from health_consumer.consumer import build  # noqa: E402

pytestmark = pytest.mark.integration


def red_flag(level: str) -> RedFlagRaised:
    return RedFlagRaised(red_flag_id=uuid.uuid4(), establishment_id=f"est-{uuid.uuid4().hex[:8]}",
                         jurisdiction="kit-tests", level=level, score=6.0, categories=["sex"],
                         indicator_codes=["SEX-LOCKED-DOORS"], contributing_inspection_ids=[uuid.uuid4()],
                         departments=["health-department"], rules_version="v1",
                         raised_at=datetime(2026, 11, 2, 9, tzinfo=UTC))


async def test_an_urgent_red_flag_schedules_a_follow_up_by_calling_the_inspection_service(infrastructure):
    inspection_service = WebhookReceiver(status=201)
    urgent, concern = red_flag("urgent"), red_flag("concern")
    consumer = build(inspection_url=inspection_service.url, token="test-token")
    try:
        async with consumer.running():
            await publish(concern)
            event = await publish(urgent)

            async def called():
                return [r for r in inspection_service.received
                        if r.json()["establishment_id"] == urgent.establishment_id]

            [call] = await eventually(called)
            assert call.path == "/follow-ups"
            assert call.headers["Idempotency-Key"] == event.id
            assert call.headers["Authorization"] == "Bearer test-token"
            assert call.json() | {"red_flag_id": None} == {
                "establishment_id": urgent.establishment_id, "reason": "follow_up", "due_on": "2026-11-04",
                "red_flag_id": None, "requested_by": "health"}
            row = await eventually(lambda: consumer.pool.fetchrow(
                f"select * from {consumer.schema}.follow_ups where red_flag_id = $1", urgent.red_flag_id))
            assert row["status_code"] == 201
            assert not [r for r in inspection_service.received
                        if r.json()["establishment_id"] == concern.establishment_id]
    finally:
        inspection_service.close()
