"""Example labor consumer on the real broker: wage-theft investigations opened from labor indicators."""

from __future__ import annotations

import sys
import uuid
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from pathways_consumer_kit import publish
from pathways_contracts.events import InspectionCompleted, RedFlagRaised
from support import eventually

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "examples"))
from labor_consumer.consumer import build  # noqa: E402

pytestmark = pytest.mark.integration


def red_flag(establishment: str, codes: list[str], categories: list[str]) -> RedFlagRaised:
    return RedFlagRaised(red_flag_id=uuid.uuid4(), establishment_id=establishment, jurisdiction="kit-tests",
                         level="red_flag", score=6.0, categories=categories, indicator_codes=codes,
                         contributing_inspection_ids=[uuid.uuid4()], departments=["labor-standards"],
                         rules_version="v1", raised_at=datetime.now(UTC))


async def test_labor_indicators_open_a_wage_theft_investigation_that_later_evidence_extends(infrastructure):
    restaurant, spa = f"est-{uuid.uuid4().hex[:8]}", f"est-{uuid.uuid4().hex[:8]}"
    consumer = build()

    async def investigation(establishment: str, codes: int = 1):
        row = await consumer.pool.fetchrow(
            f"select * from {consumer.schema}.wage_theft_investigations where establishment_id = $1", establishment)
        return row if row and len(row["indicator_codes"]) >= codes else None

    async with consumer.running():
        await publish(red_flag(spa, ["SEX-LOCKED-DOORS", "SEX-CASH-ONLY-UNUSUAL-HOURS"], ["sex"]))
        await publish(red_flag(restaurant, ["LAB-WAGE-THEFT", "VUL-LIVING-ON-SITE"], ["labor"]))
        opened = await eventually(lambda: investigation(restaurant))
        assert opened["indicator_codes"] == ["LAB-WAGE-THEFT"] and opened["status"] == "open"

        await publish(InspectionCompleted(
            inspection_id=uuid.uuid4(), establishment_id=restaurant, jurisdiction="kit-tests",
            department="labor-standards", program="labor_standards_site_visit", reason="follow_up",
            inspected_on=date(2026, 11, 20), result="fail", indicator_codes=["LAB-UNPAID-OVERTIME"]))
        extended = await eventually(lambda: investigation(restaurant, codes=2))
        assert extended["indicator_codes"] == ["LAB-UNPAID-OVERTIME", "LAB-WAGE-THEFT"]
        assert len(extended["evidence_events"]) == 2
        assert await investigation(spa) is None
