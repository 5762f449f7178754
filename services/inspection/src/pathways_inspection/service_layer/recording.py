"""Recording an inspection: store it, announce it, screen the establishment, schedule follow-ups, in one unit.

One handler for every edge: ``POST /inspections``, each item of
``POST /inspections/batch`` and the ``inspection.submitted`` consumer.
"""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, date, datetime, timedelta

from pathways_contracts.catalog import load_catalog
from pathways_contracts.events import (
    EstablishmentCertificationChanged,
    InspectionCompleted,
    InspectionScheduled,
    RedFlagEscalated,
    RedFlagRaised,
)
from pathways_contracts.vocab import InspectionReason, Level, Program
from pathways_inspection.domain import screening
from pathways_inspection.domain.scheduling import FollowUpReason, follow_up
from pathways_inspection.service_layer.commands import RecordInspection, build
from pathways_inspection.service_layer.unit_of_work import InspectionUnitOfWork
from pathways_inspection.service_layer.validation import check_inspection
from pathways_runtime.errors import InvalidCommand, Problem

CLEAN_HOTELS_SIGNED = "prev_clean_hotels_signed"
CLEAN_HOTELS_VERIFIED_ON = "prev_clean_hotels_verified_on"


async def record_inspection(cmd: RecordInspection, uow: InspectionUnitOfWork) -> dict:
    """The inspection id, the codes recorded and any red flag raised or escalated.

    ``created`` is False when an inspection with this id was recorded before: a resend changes nothing.
    Raises ``InvalidCommand`` naming every bad field (codes, answers, checklist, establishment).
    """
    checked = check_inspection(cmd.program, cmd.result, cmd.indicator_codes, cmd.answers, cmd.checklist_version)
    if checked.problems:
        raise InvalidCommand(Problem(("body", *p.loc), p.msg, p.type) for p in checked.problems)
    inspection = cmd.model_dump(exclude={"inspection_id"}) | {
        "id": cmd.inspection_id, "indicator_codes": checked.indicator_codes,
        "checklist_version": checked.checklist_version}
    async with uow:
        # Locked first: screening is serialised per establishment (two inspections at once must not both
        # raise a red flag), and a resend of the same inspection finds it recorded.
        establishment = await uow.establishments.get(cmd.establishment_id, for_update=True)
        if establishment is None:
            raise InvalidCommand.field("establishment_id", f"no establishment {cmd.establishment_id!r} in the registry",
                                       "unknown_establishment")
        if await uow.inspections.exists(cmd.inspection_id):
            return {"inspection_id": cmd.inspection_id, "indicator_codes": checked.indicator_codes,
                    "red_flag": None, "created": False}
        await uow.inspections.add(inspection)
        if cmd.reason == InspectionReason.FOLLOW_UP:
            await uow.follow_ups.complete(establishment["id"], cmd.program)
        await uow.emit(_completed(inspection, establishment))
        if cmd.program == Program.LODGING:
            await _record_certification(uow, inspection, establishment)
        red_flag = await _screen(uow, establishment, as_of=cmd.inspected_on)
        if red_flag is not None and red_flag["status"] in ("raised", "escalated"):
            await _schedule_follow_up(uow, establishment, inspection, FollowUpReason.RED_FLAG,
                                      red_flag_id=red_flag["red_flag_id"])
        if checked.sanitation_failed:
            await _schedule_follow_up(uow, establishment, inspection, FollowUpReason.FAILED_SANITATION)
        await uow.commit()
    return {"inspection_id": cmd.inspection_id, "indicator_codes": checked.indicator_codes, "red_flag": red_flag,
            "created": True}


def _completed(inspection: dict, establishment: dict) -> InspectionCompleted:
    return InspectionCompleted(
        inspection_id=inspection["id"], establishment_id=establishment["id"],
        jurisdiction=establishment["jurisdiction"], area=establishment["area"],
        department=inspection["department"], program=inspection["program"], reason=inspection["reason"],
        inspected_on=inspection["inspected_on"], result=inspection["result"],
        indicator_codes=inspection["indicator_codes"], checklist_version=inspection.get("checklist_version"),
        interpreter_language=inspection.get("interpreter_language"),
    )


async def assess(uow: InspectionUnitOfWork, establishment: dict, as_of: date) -> screening.Assessment:
    """The jurisdiction's rules over every department's inspections of the establishment in its window."""
    rules = screening.load_rules(establishment["jurisdiction"])
    since = as_of - timedelta(days=rules.fusion_window_days)
    rows = await uow.inspections.since(establishment["id"], since)
    observations = [screening.Observation(r["id"], r["department"], Program(r["program"]), r["inspected_on"],
                                          tuple(r["indicator_codes"])) for r in rows]
    return screening.screen(observations, rules, load_catalog(rules.catalog_version), as_of)


async def _screen(uow: InspectionUnitOfWork, establishment: dict, as_of: date) -> dict | None:
    """Raise a red flag, or escalate the open one, as ``decide`` says; None below the red-flag level."""
    assessment = await assess(uow, establishment, as_of)
    open_flag = await uow.red_flags.open_for(establishment["id"])
    open_level = Level(open_flag["level"]) if open_flag else None
    match screening.decide(open_level, assessment):
        case screening.Decision.RAISE:
            flag_id = uuid.uuid4()
            await uow.red_flags.add(flag_id, establishment["id"], assessment.level, assessment.score,
                                    explanation(assessment))
            await uow.emit(RedFlagRaised(**_red_flag_fields(flag_id, establishment, assessment)))
            return _outcome(flag_id, assessment.level, "raised", assessment)
        case screening.Decision.ESCALATE:
            await uow.red_flags.raise_level(open_flag["id"], assessment.level, assessment.score,
                                            explanation(assessment))
            await uow.emit(RedFlagEscalated(previous_level=open_level,
                                            **_red_flag_fields(open_flag["id"], establishment, assessment)))
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


async def _schedule_follow_up(uow: InspectionUnitOfWork, establishment: dict, inspection: dict,
                              reason: FollowUpReason, red_flag_id: uuid.UUID | None = None) -> None:
    """A follow-up visit by the same program; one pending per establishment, program and reason."""
    due_on = follow_up(reason, inspection["inspected_on"])
    scheduled_id = await uow.follow_ups.add_automatic(establishment["id"], inspection["program"], reason, due_on,
                                                      inspection["id"], red_flag_id)
    if scheduled_id is None:
        return  # one is already pending: the visit it plans covers this too
    await uow.emit(InspectionScheduled(
        scheduled_inspection_id=scheduled_id, establishment_id=establishment["id"],
        jurisdiction=establishment["jurisdiction"], program=inspection["program"], reason=reason.value,
        due_on=due_on, source_inspection_id=inspection["id"], red_flag_id=red_flag_id))


async def _record_certification(uow: InspectionUnitOfWork, inspection: dict, establishment: dict) -> None:
    """Clean Hotels: a lodging inspection's answers update the certification; a change is published."""
    answers = inspection.get("answers") or {}
    if CLEAN_HOTELS_SIGNED not in answers:
        return
    signed = answers[CLEAN_HOTELS_SIGNED]
    verified = answers.get(CLEAN_HOTELS_VERIFIED_ON)
    verified_on = date.fromisoformat(verified) if signed and verified else None
    previous = (establishment.get("clean_hotels_signed"), establishment.get("clean_hotels_verified_on"))
    if previous == (signed, verified_on):
        return
    await uow.establishments.set_certification(establishment["id"], signed, verified_on)
    await uow.emit(EstablishmentCertificationChanged(
        establishment_id=establishment["id"], jurisdiction=establishment["jurisdiction"], certified=signed,
        previously_certified=previous[0], verified_on=verified_on, inspection_id=inspection["id"],
        changed_at=datetime.now(UTC)))


async def record_batch(items: list[dict], recorder: dict, uow: InspectionUnitOfWork, chunk: int = 100,
                       lanes: int = 1) -> list[dict]:
    """Record many inspections (bulk intake); one result per item, in the items' order.

    Each item is validated on its own: a bad one gets its 422 problems, named under its index
    (``["body", "inspections", 3, "indicator_codes", 0]``), and the good ones are recorded all the same.
    ``recorder`` (department, recorded_by) comes from the caller's token and overrides nothing an item may
    say: items may not name a department.

    The good items are shared among ``lanes`` concurrent lanes by establishment, so lanes never touch the
    same establishment and one establishment's inspections stay in one lane, in their order. A lane is
    its own transactions (``uow`` for the first, ``uow.another()`` for the others): each chunk of
    ``chunk`` items one transaction, each item a savepoint in it, what the chunk's items read read at
    once (``InspectionUnitOfWork.read_ahead``), the chunk's events one outbox statement. Within a chunk, items are taken in establishment order (stable): two batches then lock
    establishments in the same order and cannot deadlock. Recording is bound by database round trips,
    which lanes overlap.
    """
    results: list[dict | None] = [None] * len(items)
    commands: list[tuple[int, RecordInspection]] = []
    for index, item in enumerate(items):
        loc = ("body", "inspections", index)
        try:
            if not isinstance(item, dict):
                raise InvalidCommand([Problem(loc, "an inspection is a JSON object", "dict_type")])
            if taken := sorted(recorder.keys() & item.keys()):
                raise InvalidCommand(Problem((*loc, k), "comes from the caller's token", "extra_forbidden")
                                     for k in taken)
            commands.append((index, build(RecordInspection, item | recorder, loc=loc)))
        except InvalidCommand as exc:
            results[index] = _rejected(index, exc)
    shares = by_establishment(commands, lanes)
    try:
        async with asyncio.TaskGroup() as lanes_running:  # one lane failing cancels the others (their chunk rolls back)
            for number, share in enumerate(shares):
                lanes_running.create_task(_record_lane(share, uow if number == 0 else uow.another(), chunk, results))
    except ExceptionGroup as failed:
        # The first lane's error is the batch's, as if it had one lane: the edges map it (a database outage
        # is a 503 with Retry-After, not a 500).
        raise failed.exceptions[0] from None
    return results  # type: ignore[return-value] (every index got a result)


def by_establishment(commands: list[tuple[int, RecordInspection]], lanes: int) -> list[list[tuple[int, RecordInspection]]]:
    """The commands in at most ``lanes`` shares of about equal size, each establishment's in one share, in
    their order (the largest establishments placed first, each on the share with the fewest so far)."""
    per_establishment: dict[str, list[tuple[int, RecordInspection]]] = {}
    for command in commands:
        per_establishment.setdefault(command[1].establishment_id, []).append(command)
    shares: list[list[tuple[int, RecordInspection]]] = [[] for _ in range(min(lanes, len(per_establishment)))]
    for group in sorted(per_establishment.values(), key=len, reverse=True):
        min(shares, key=len).extend(group)
    for share in shares:
        share.sort(key=lambda c: c[0])  # back in the batch's order: chunks are cut from it
    return shares


async def _record_lane(commands: list[tuple[int, RecordInspection]], uow: InspectionUnitOfWork, chunk: int,
                       results: list[dict | None]) -> None:
    for start in range(0, len(commands), chunk):
        part = sorted(commands[start:start + chunk], key=lambda c: c[1].establishment_id)
        async with uow:
            await uow.read_ahead([(cmd.establishment_id, cmd.inspection_id, cmd.inspected_on) for _, cmd in part])
            for index, cmd in part:
                try:
                    recorded = await record_inspection(cmd, await uow.item())
                except InvalidCommand as exc:
                    results[index] = _rejected(index, _under(exc, ("body", "inspections", index)))
                else:
                    results[index] = {"index": index, "status": 201 if recorded["created"] else 200} | recorded
            await uow.commit()


def _under(exc: InvalidCommand, loc: tuple) -> InvalidCommand:
    """The handler names fields of one inspection (``["body", field]``); in a batch they are under its index."""
    return InvalidCommand(Problem((*loc, *p.loc[1:]) if p.loc[:1] == ("body",) else (*loc, *p.loc), p.msg, p.type)
                          for p in exc.problems)


def _rejected(index: int, exc: InvalidCommand) -> dict:
    return {"index": index, "status": 422, "detail": [p.as_detail() for p in exc.problems]}
