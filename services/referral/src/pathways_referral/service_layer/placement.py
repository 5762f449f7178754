"""Placing a case with agencies: routing policy over the case facts, then the directory.

``refer_new_targets`` offers the case to every agency kind the policy names that the case has
not been offered to yet (so a re-delivered or escalated red flag, or a new triage decision, adds
referrals and never duplicates one). ``hand_over`` is called when a referral was declined or
expired: another agency of the same kind, else a fallback kind, else the coordinator is alerted.
These run inside a use case's unit of work; they neither begin nor commit it.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import datetime, timedelta

from pathways_contracts.events import ReferralCreated, ReferralUnplaced
from pathways_contracts.vocab import Category, Dimension, Level
from pathways_referral.adapters.repository import NewReferral
from pathways_referral.domain.directory import Directory, Organization, choose_agency
from pathways_referral.domain.lifecycle import acceptance_deadline
from pathways_referral.domain.policy import CaseFacts, RoutingPolicy, load_policy
from pathways_referral.domain.routing import Target, route
from pathways_referral.domain.vocab import AgencyKind, Approach
from pathways_referral.service_layer.directory import directory_of
from pathways_referral.service_layer.unit_of_work import ReferralUnitOfWork

# An officer's diversion is not routed by policy: the officer chose the programme (seed 002).
DIVERSION_TARGET = Target(agency_kind=AgencyKind.COMMUNITY_DIVERSION, rule_id="R-POLICE-DIVERSION", priority=1,
                          mandated=False, due_hours=48, reason="An officer referred a person to pre-court diversion "
                                                               "instead of charging them.")


def facts_from(red_flags: list[dict], triage: dict | None, danger_rules: Iterable[str]) -> CaseFacts:
    """What routing may look at, merged over every red flag of the case (business facts only)."""
    danger = frozenset(danger_rules)
    return CaseFacts(
        categories=frozenset(Category(c) for f in red_flags for c in f.get("categories", [])),
        dimensions=frozenset(Dimension(d) for f in red_flags for d in f.get("dimensions", [])),
        level=max((Level(f["level"]) for f in red_flags), key=lambda lv: lv.rank, default=Level.CONCERN),
        minor_indicated=any(f.get("minor_indicated") for f in red_flags),
        imminent_danger=(any(set(f.get("rule_ids", [])) & danger for f in red_flags)
                         or bool(triage and triage["imminent_danger"])),
        triage_approaches=frozenset(Approach(a) for a in triage["approaches"]) if triage else None,
    )


async def targets_for(uow: ReferralUnitOfWork, case: dict) -> tuple[RoutingPolicy, list[Target]]:
    policy = load_policy(case["jurisdiction"])
    if case["kind"] == "diversion":
        return policy, [DIVERSION_TARGET]
    facts = facts_from(await uow.cases.red_flags(case["id"]), await uow.cases.latest_triage(case["id"]),
                       uow.settings.imminent_danger_rules)
    return policy, route(facts, policy)


async def refer_new_targets(uow: ReferralUnitOfWork, case: dict, now: datetime) -> int:
    """Offer the case to each initial target kind not offered before; returns how many referrals were made."""
    policy, targets = await targets_for(uow, case)
    already = {r["agency_kind"] for r in await uow.referrals.offered(case["id"])}
    directory = await directory_of(uow)
    made = 0
    for target in targets:
        if target.fallback or target.agency_kind.value in already:
            continue
        if await offer(uow, case, target, policy, directory, now):
            made += 1
        else:
            await alert_unplaced(uow, case, target, policy, now)
    return made


async def hand_over(uow: ReferralUnitOfWork, case: dict, kind: str, now: datetime) -> None:
    """A referral of ``kind`` ended without a taker: offer it on, or alert the coordinator."""
    if case["status"] != "open":
        return  # a closed case is not placed again
    policy, targets = await targets_for(uow, case)
    history = await uow.referrals.offered(case["id"])
    directory = await directory_of(uow)
    same_kind = next((t for t in targets if t.agency_kind.value == kind), None)
    tried_ids = {r["agency_id"] for r in history}
    if same_kind and await offer(uow, case, same_kind, policy, directory, now, exclude=tried_ids):
        return
    tried_kinds = {r["agency_kind"] for r in history}
    for fallback in (t for t in targets if t.fallback and t.agency_kind.value not in tried_kinds):
        if await offer(uow, case, fallback, policy, directory, now):
            return
    if same_kind is not None:
        await alert_unplaced(uow, case, same_kind, policy, now)


async def offer(uow: ReferralUnitOfWork, case: dict, target: Target, policy: RoutingPolicy, directory: Directory,
                now: datetime, *, exclude: set[str] = frozenset(), referred_by_org: str | None = None,
                intake: dict | None = None) -> uuid.UUID | None:
    """Refer the case to the best agency of the target's kind; None when there is none left."""
    # An agency speaking the person's language is preferred (a preference, never a filter).
    language = (intake or {}).get("language") or await uow.people.case_language(case["id"])
    agency = choose_agency(target.agency_kind, case["jurisdiction"], language, directory, exclude=exclude)
    if agency is None:
        return None
    referral_id = uuid.uuid4()
    due_by = deadline(now, target, agency, policy, Level(case["level"]), uow.settings.accept_window_seconds)
    await uow.referrals.add(NewReferral(
        referral_id=referral_id, case_id=case["id"], agency_id=agency.id, agency_kind=target.agency_kind.value,
        service=target.agency_kind.value, rule_id=target.rule_id, policy_version=policy.version, due_by=due_by,
        priority=target.priority, mandated=target.mandated, reason=target.reason, referred_by_org=referred_by_org,
        intake=intake, created_at=now))
    await uow.cases.add_timeline(case["id"], "referred", {
        "referral_id": str(referral_id), "agency_id": agency.id, "rule_id": target.rule_id,
        "policy_version": policy.version, "mandated": target.mandated, "due_by": due_by.isoformat()})
    await uow.emit(ReferralCreated(referral_id=referral_id, case_id=case["id"], agency_id=agency.id,
                                   establishment_id=case["establishment_id"] or "", jurisdiction=case["jurisdiction"],
                                   service=target.agency_kind.value, level=case["level"], rule_id=target.rule_id,
                                   policy_version=policy.version, due_by=due_by, created_at=now))
    return referral_id


def deadline(now: datetime, target: Target, agency: Organization, policy: RoutingPolicy, level: Level,
             accept_window_seconds: float | None = None) -> datetime:
    """When the offer expires: the settings' window when one is set, else the policy's rule."""
    if accept_window_seconds is not None:
        return now + timedelta(seconds=accept_window_seconds)
    return acceptance_deadline(now, level is Level.URGENT, agency.response_commitment_hours,
                               window=policy.acceptance, due_hours=target.due_hours)


async def alert_unplaced(uow: ReferralUnitOfWork, case: dict, target: Target, policy: RoutingPolicy,
                         now: datetime) -> None:
    """Nobody left to offer the referral to: the coordinator sees it on the timeline and on the bus (once)."""
    if await uow.cases.alerted_unplaced(case["id"], target.agency_kind.value):
        return
    await uow.cases.add_timeline(case["id"], "coordinator alert: no agency left", {
        "agency_kind": target.agency_kind.value, "rule_id": target.rule_id, "mandated": target.mandated})
    await uow.emit(ReferralUnplaced(case_id=case["id"], agency_kind=target.agency_kind.value, rule_id=target.rule_id,
                                    policy_version=policy.version, unplaced_at=now))
