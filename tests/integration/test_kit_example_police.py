"""Example police consumer on the real broker: only cases referred to the police, only criminal-operation facts."""

from __future__ import annotations

import json
import sys
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from pathways_consumer_kit import publish
from pathways_contracts.events import RedFlagRaised, ReferralCreated
from support import eventually

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "examples"))
from police_consumer.consumer import build  # noqa: E402

pytestmark = pytest.mark.integration
VULNERABILITY = ["VUL-MINOR-PRESENT", "VUL-PHYSICAL-ABUSE"]
OPERATION = ["OPS-DOCUMENTS-CONFISCATED", "REG-LICENSE-NOT-POSTED"]


def red_flag(establishment: str) -> RedFlagRaised:
    return RedFlagRaised(red_flag_id=uuid.uuid4(), establishment_id=establishment, jurisdiction="kit-tests",
                         level="urgent", score=9.0, categories=["sex"], indicator_codes=VULNERABILITY + OPERATION,
                         dimensions=["victim_vulnerability", "criminal_operation"], minor_indicated=True,
                         contributing_inspection_ids=[uuid.uuid4()], departments=["health-department"],
                         rules_version="v1", raised_at=datetime.now(UTC))


def referral(establishment: str, agency: str) -> ReferralCreated:
    now = datetime.now(UTC)
    return ReferralCreated(referral_id=uuid.uuid4(), case_id=uuid.uuid4(), agency_id=agency,
                           establishment_id=establishment, jurisdiction="kit-tests", service="investigation",
                           level="urgent", rule_id="hard-minor", policy_version="v1", due_by=now + timedelta(days=1),
                           created_at=now)


async def test_police_get_a_case_file_only_when_referred_and_only_criminal_operation_facts(infrastructure):
    referred, not_referred = f"est-{uuid.uuid4().hex[:8]}", f"est-{uuid.uuid4().hex[:8]}"
    consumer = build()
    async with consumer.running():
        await publish(red_flag(referred))
        await publish(red_flag(not_referred))
        to_police = referral(referred, "city-police-trafficking-unit")
        await publish(to_police)
        await publish(referral(not_referred, "riverbend-survivor-advocacy"))

        # Two topics: the referral may be handled before the red flag; either order ends in the same file.
        case_file = await eventually(lambda: consumer.pool.fetchrow(
            f"select * from {consumer.schema}.case_files where case_id = $1 and red_flags <> '[]'", to_police.case_id))
        [facts] = json.loads(case_file["red_flags"])
        assert facts["establishment_id"] == referred and sorted(facts["indicator_codes"]) == sorted(OPERATION)
        assert "minor_indicated" not in facts and "score" not in facts and "dimensions" not in facts

        async def everything_stored() -> str:
            rows = await consumer.pool.fetch(f"select facts::text from {consumer.schema}.held_red_flags"
                                             " where establishment_id = any($1)", [referred, not_referred])
            return " ".join(r["facts"] for r in rows) if len(rows) == 2 else ""

        stored = await eventually(everything_stored)
        assert not any(code in stored for code in VULNERABILITY)  # never stored, not just not shown
        assert await consumer.pool.fetchval(f"select count(*) from {consumer.schema}.case_files"
                                            " where establishment_id = $1", not_referred) == 0
