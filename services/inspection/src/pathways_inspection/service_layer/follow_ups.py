"""Follow-up inspections a department asks for (the health consumer after a red flag), in the same table
as the automatic ones, so one planned visit answers every reason for going back."""

from __future__ import annotations

from pathways_contracts.events import InspectionScheduled
from pathways_contracts.vocab import Program
from pathways_inspection.service_layer.commands import RequestFollowUp
from pathways_inspection.service_layer.unit_of_work import InspectionUnitOfWork
from pathways_runtime.errors import InvalidCommand

REQUESTED = "requested"


async def request_follow_up(cmd: RequestFollowUp, uow: InspectionUnitOfWork) -> tuple[dict, bool]:
    """The follow-up that answers the request, and whether it was scheduled now (False: it already was)."""
    async with uow:
        if cmd.idempotency_key and (done := await uow.follow_ups.by_key(cmd.idempotency_key)):
            return done, False
        establishment = await uow.establishments.get(cmd.establishment_id)
        if establishment is None:
            raise InvalidCommand.field("establishment_id", f"no establishment {cmd.establishment_id!r} in the registry",
                                       "unknown_establishment")
        program = _program(cmd.program, establishment)
        if cmd.red_flag_id is not None and not await uow.red_flags.exists(cmd.red_flag_id):
            raise InvalidCommand.field("red_flag_id", f"no red flag {cmd.red_flag_id}", "unknown_red_flag")
        await uow.establishments.lock(establishment["id"])  # one visit planned, however many ask at once
        if pending := await uow.follow_ups.pending(establishment["id"], program):
            return pending, False
        new_id = await uow.follow_ups.add_requested(establishment["id"], program, cmd.due_on, cmd.red_flag_id,
                                                    cmd.requested_by, cmd.idempotency_key)
        if new_id is None:  # the same key committed meanwhile
            return await uow.follow_ups.by_key(cmd.idempotency_key), False
        await uow.emit(InspectionScheduled(
            scheduled_inspection_id=new_id, establishment_id=establishment["id"],
            jurisdiction=establishment["jurisdiction"], program=program, reason=REQUESTED, due_on=cmd.due_on,
            red_flag_id=cmd.red_flag_id))
        scheduled = await uow.follow_ups.get(new_id)
        await uow.commit()
    return scheduled, True


def _program(asked: Program | None, establishment: dict) -> str:
    """The program asked for, else the one that inspects the establishment's license type."""
    if asked:
        return asked
    if establishment["license_type"] in set(Program):
        return establishment["license_type"]
    raise InvalidCommand.field("program", f"license type {establishment['license_type']!r} has no inspection "
                                          "program: name one", "missing")
