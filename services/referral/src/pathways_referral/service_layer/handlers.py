"""Handlers of the referral service: plain functions of (event, handling)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from pathways_contracts.events import CaseOpened, RedFlagRaised, ReferralCreated
from pathways_referral.adapters import repository as repo
from pathways_runtime.consumer import Handling

# Until the routing policy (issue 4) is wired, the first referral of every case goes to victim services:
# the first contact should usually be services, not enforcement.
FIRST_REFERRAL = {"agency_id": "victim-services", "service": "victim_services", "rule_id": "R-FIRST-CONTACT",
                  "policy_version": "bootstrap-1", "accept_within": timedelta(hours=48)}


async def on_red_flag(event: RedFlagRaised, h: Handling) -> None:
    """Open the establishment's case (or join its open one) and refer it."""
    case_id, created = await repo.open_case_for(h.conn, event.establishment_id, event.jurisdiction, event.level)
    if not await repo.attach_red_flag(h.conn, case_id, event.red_flag_id, event.level, event.model_dump(mode="json")):
        return  # the same red flag again, under a new event id: nothing new to do
    await repo.add_timeline(h.conn, case_id, "red flag received", {"red_flag_id": event.red_flag_id,
                                                                   "level": event.level})
    if not created:
        return
    now = datetime.now(UTC)
    await h.emit(CaseOpened(case_id=case_id, establishment_id=event.establishment_id,
                            jurisdiction=event.jurisdiction, red_flag_id=event.red_flag_id, level=event.level,
                            categories=[c.value for c in event.categories], opened_at=now))
    await refer(h, case_id, event, now)


async def refer(h: Handling, case_id: uuid.UUID, flag: RedFlagRaised, now: datetime) -> None:
    referral_id = uuid.uuid4()
    target = FIRST_REFERRAL
    due_by = now + target["accept_within"]
    await repo.insert_referral(h.conn, referral_id=referral_id, case_id=case_id, agency_id=target["agency_id"],
                               service=target["service"], rule_id=target["rule_id"],
                               policy_version=target["policy_version"], due_by=due_by)
    await h.emit(ReferralCreated(referral_id=referral_id, case_id=case_id, agency_id=target["agency_id"],
                                 establishment_id=flag.establishment_id, jurisdiction=flag.jurisdiction,
                                 service=target["service"], level=flag.level, rule_id=target["rule_id"],
                                 policy_version=target["policy_version"], due_by=due_by, created_at=now))
