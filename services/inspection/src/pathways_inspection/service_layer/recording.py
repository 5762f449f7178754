"""Recording an inspection: store it, announce it, screen the establishment, schedule follow-ups, in one transaction."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta

import asyncpg

from pathways_contracts.catalog import load_catalog
from pathways_contracts.events import (
    EstablishmentCertificationChanged,
    InspectionCompleted,
    InspectionScheduled,
    RedFlagEscalated,
    RedFlagRaised,
)
from pathways_contracts.vocab import InspectionReason, Level, Program
from pathways_inspection.adapters import repository as repo
from pathways_inspection.domain import screening
from pathways_inspection.domain.scheduling import FollowUpReason, follow_up
from pathways_runtime.uow import PostgresUnitOfWork

CLEAN_HOTELS_SIGNED = "prev_clean_hotels_signed"
CLEAN_HOTELS_VERIFIED_ON = "prev_clean_hotels_verified_on"


async def record_inspection(uow: PostgresUnitOfWork, inspection: dict,
                            establishment: dict, sanitation_failed: bool = False) -> dict:
    """Store the inspection and its events; return the inspection id and any red flag raised or escalated."""
    conn = uow.conn
    await repo.lock_establishment(conn, establishment["id"])
    await repo.insert_inspection(conn, inspection)
    if inspection["reason"] == InspectionReason.FOLLOW_UP:
        await repo.complete_follow_ups(conn, establishment["id"], inspection["program"])
    await uow.emit(_completed(inspection, establishment))
    if inspection["program"] == Program.LODGING:
        await _record_certification(uow, inspection, establishment)
    red_flag = await screen(uow, establishment, as_of=inspection["inspected_on"])
    if red_flag is not None and red_flag["status"] in ("raised", "escalated"):
        await schedule_follow_up(uow, establishment, inspection, FollowUpReason.RED_FLAG,
                                 red_flag_id=red_flag["red_flag_id"])
    if sanitation_failed:
        await schedule_follow_up(uow, establishment, inspection, FollowUpReason.FAILED_SANITATION)
    return {"inspection_id": inspection["id"], "indicator_codes": inspection["indicator_codes"],
            "red_flag": red_flag}


def _completed(inspection: dict, establishment: dict) -> InspectionCompleted:
    return InspectionCompleted(
        inspection_id=inspection["id"], establishment_id=establishment["id"],
        jurisdiction=establishment["jurisdiction"], area=establishment["area"],
        department=inspection["department"], program=inspection["program"], reason=inspection["reason"],
        inspected_on=inspection["inspected_on"], result=inspection["result"],
        indicator_codes=inspection["indicator_codes"], checklist_version=inspection.get("checklist_version"),
        interpreter_language=inspection.get("interpreter_language"),
    )


async def assess(conn: asyncpg.Connection, establishment: dict, as_of: date) -> screening.Assessment:
    """The jurisdiction's rules over every department's inspections of the establishment in its window."""
    rules = screening.load_rules(establishment["jurisdiction"])
    since = as_of - timedelta(days=rules.fusion_window_days)
    rows = await repo.inspections_since(conn, establishment["id"], since)
    observations = [screening.Observation(r["id"], r["department"], Program(r["program"]), r["inspected_on"],
                                          tuple(r["indicator_codes"])) for r in rows]
    return screening.screen(observations, rules, load_catalog(rules.catalog_version), as_of)


async def screen(uow: PostgresUnitOfWork, establishment: dict, as_of: date) -> dict | None:
    """Raise a red flag, or escalate the open one, as ``decide`` says; None below the red-flag level."""
    conn = uow.conn
    assessment = await assess(conn, establishment, as_of)
    open_flag = await repo.open_red_flag(conn, establishment["id"])
    open_level = Level(open_flag["level"]) if open_flag else None
    match screening.decide(open_level, assessment):
        case screening.Decision.RAISE:
            flag_id = uuid.uuid4()
            await repo.insert_red_flag(conn, flag_id, establishment["id"], assessment.level, assessment.score,
                                       explanation(assessment))
            await uow.emit(RedFlagRaised(**_red_flag_fields(flag_id, establishment, assessment)))
            return _outcome(flag_id, assessment.level, "raised", assessment)
        case screening.Decision.ESCALATE:
            await repo.raise_red_flag_level(conn, open_flag["id"], assessment.level, assessment.score,
                                            explanation(assessment))
            await uow.emit(RedFlagEscalated(previous_level=open_level,
                                                      **_red_flag_fields(open_flag["id"], establishment,
                                                                         assessment)))
            return _outcome(open_flag["id"], assessment.level, "escalated", assessment, open_level)
    if open_flag is None:
        return None
    return _outcome(open_flag["id"], open_level, "already open", assessment)


def _outcome(flag_id: uuid.UUID, level: Level, status: str, a: screening.Assessment,
             previous_level: Level | None = None) -> dict:
    outcome = {"red_flag_id": flag_id, "level": level, "status": status, "score": a.score,
               "rule_ids": list(a.rule_ids), "rules_version": a.rules_version}
    return outcome | ({"previous_level": previous_level} if previous_level else {})


def explanation(a: screening.Assessment) -> dict:
    """What is stored with the red flag: the whole assessment, so the level can always be explained."""
    return a.model_dump(mode="json")


def _red_flag_fields(flag_id: uuid.UUID, establishment: dict, a: screening.Assessment) -> dict:
    return dict(red_flag_id=flag_id, establishment_id=establishment["id"],
                jurisdiction=establishment["jurisdiction"], level=a.level, score=a.score,
                categories=list(a.categories), dimensions=list(a.dimensions),
                indicator_codes=list(a.indicator_codes),
                contributing_inspection_ids=[uuid.UUID(str(i)) for i in a.contributing_inspection_ids],
                departments=list(a.departments), minor_indicated=a.minor_indicated, rule_ids=list(a.rule_ids),
                rules_version=a.rules_version, raised_at=datetime.now(UTC))


async def schedule_follow_up(uow: PostgresUnitOfWork, establishment: dict, inspection: dict,
                             reason: FollowUpReason, red_flag_id: uuid.UUID | None = None) -> None:
    """A follow-up visit by the same program; one pending per establishment, program and reason."""
    conn = uow.conn
    due_on = follow_up(reason, inspection["inspected_on"])
    scheduled_id = await repo.insert_follow_up(conn, establishment["id"], inspection["program"], reason,
                                               due_on, inspection["id"], red_flag_id)
    if scheduled_id is None:
        return  # one is already pending: the visit it plans covers this too
    await uow.emit(InspectionScheduled(
        scheduled_inspection_id=scheduled_id, establishment_id=establishment["id"],
        jurisdiction=establishment["jurisdiction"], program=inspection["program"], reason=reason.value,
        due_on=due_on, source_inspection_id=inspection["id"], red_flag_id=red_flag_id))


async def _record_certification(uow: PostgresUnitOfWork, inspection: dict, establishment: dict) -> None:
    """Clean Hotels: a lodging inspection's answers update the certification; a change is published."""
    conn = uow.conn
    answers = inspection.get("answers") or {}
    if CLEAN_HOTELS_SIGNED not in answers:
        return
    signed = answers[CLEAN_HOTELS_SIGNED]
    verified = answers.get(CLEAN_HOTELS_VERIFIED_ON)
    verified_on = date.fromisoformat(verified) if signed and verified else None
    previous = (establishment.get("clean_hotels_signed"), establishment.get("clean_hotels_verified_on"))
    if previous == (signed, verified_on):
        return
    await repo.set_certification(conn, establishment["id"], signed, verified_on)
    await uow.emit(EstablishmentCertificationChanged(
        establishment_id=establishment["id"], jurisdiction=establishment["jurisdiction"], certified=signed,
        previously_certified=previous[0], verified_on=verified_on, inspection_id=inspection["id"],
        changed_at=datetime.now(UTC)))
