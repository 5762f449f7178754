"""Recording an inspection: store it, announce it, and screen the establishment, in one transaction."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

import asyncpg

from pathways_contracts.events import InspectionCompleted, RedFlagEscalated, RedFlagRaised
from pathways_contracts.vocab import Level
from pathways_inspection.adapters import repository as repo
from pathways_runtime.service import Service

FUSION_WINDOW = timedelta(days=365)
RULES_VERSION = "first-rule-1"


@dataclass(frozen=True)
class Assessment:
    level: Level
    score: float
    indicator_codes: list[str]
    inspection_ids: list[uuid.UUID]
    departments: list[str]


def first_rule(observations: list[dict]) -> Assessment:
    """Two or more distinct indicators across departments' inspections make a red flag.

    The platform's first screening rule; the catalog-weighted rules per jurisdiction replace it.
    """
    codes = sorted({code for o in observations for code in o["indicator_codes"]})
    contributing = [o for o in observations if o["indicator_codes"]]
    level = Level.RED_FLAG if len(codes) >= 2 else Level.CONCERN if codes else Level.NONE
    return Assessment(level, float(len(codes)), codes, [o["id"] for o in contributing],
                      sorted({o["department"] for o in contributing}))


async def record_inspection(service: Service, conn: asyncpg.Connection, inspection: dict,
                            establishment: dict) -> dict:
    """Store the inspection and its events; return the inspection id and any red flag raised."""
    await repo.insert_inspection(conn, inspection)
    await service.emit(conn, InspectionCompleted(
        inspection_id=inspection["id"], establishment_id=establishment["id"],
        jurisdiction=establishment["jurisdiction"], area=establishment["area"],
        department=inspection["department"], program=inspection["program"], reason=inspection["reason"],
        inspected_on=inspection["inspected_on"], result=inspection["result"],
        indicator_codes=inspection["indicator_codes"], checklist_version=inspection.get("checklist_version"),
        interpreter_language=inspection.get("interpreter_language"),
    ))
    red_flag = await screen(service, conn, establishment, as_of=inspection["inspected_on"])
    return {"inspection_id": inspection["id"], "red_flag": red_flag}


async def screen(service: Service, conn: asyncpg.Connection, establishment: dict, as_of: date) -> dict | None:
    """Fuse every department's recent inspections; raise a red flag, or escalate the open one."""
    observations = await repo.inspections_since(conn, establishment["id"], as_of - FUSION_WINDOW)
    assessment = first_rule(observations)
    if assessment.level.rank < Level.RED_FLAG.rank:
        return None
    open_flag = await repo.open_red_flag(conn, establishment["id"])
    if open_flag is None:
        flag_id = uuid.uuid4()
        await repo.insert_red_flag(conn, flag_id, establishment["id"], assessment.level, assessment.score,
                                   _explanation(assessment))
        await service.emit(conn, RedFlagRaised(**_red_flag_fields(flag_id, establishment, assessment)))
        return {"red_flag_id": flag_id, "level": assessment.level, "status": "raised"}
    if assessment.level.rank > Level(open_flag["level"]).rank:
        await repo.raise_red_flag_level(conn, open_flag["id"], assessment.level, assessment.score,
                                        _explanation(assessment))
        await service.emit(conn, RedFlagEscalated(previous_level=open_flag["level"],
                                                  **_red_flag_fields(open_flag["id"], establishment, assessment)))
        return {"red_flag_id": open_flag["id"], "level": assessment.level, "status": "escalated"}
    return {"red_flag_id": open_flag["id"], "level": open_flag["level"], "status": "already open"}


def _explanation(a: Assessment) -> dict:
    return {"rules_version": RULES_VERSION, "score": a.score, "indicator_codes": a.indicator_codes,
            "inspection_ids": a.inspection_ids, "departments": a.departments}


def _red_flag_fields(flag_id: uuid.UUID, establishment: dict, a: Assessment) -> dict:
    return dict(red_flag_id=flag_id, establishment_id=establishment["id"],
                jurisdiction=establishment["jurisdiction"], level=a.level, score=a.score, categories=[],
                indicator_codes=a.indicator_codes, contributing_inspection_ids=a.inspection_ids,
                departments=a.departments, rules_version=RULES_VERSION, raised_at=datetime.now(UTC))
