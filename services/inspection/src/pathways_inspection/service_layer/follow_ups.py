"""Follow-up inspections a department asks for (the health consumer after a red flag), in the same table
as the automatic ones, so one planned visit answers every reason for going back."""

from __future__ import annotations

import asyncpg

from pathways_contracts.events import InspectionScheduled
from pathways_contracts.vocab import Program
from pathways_inspection.adapters import repository as repo
from pathways_runtime.uow import PostgresUnitOfWork

REQUESTED = "requested"


class Unprocessable(ValueError):
    """A request field the registry cannot honour; ``field`` names it for the 422."""

    def __init__(self, field: str, kind: str, message: str) -> None:
        super().__init__(message)
        self.field, self.kind = field, kind


async def request_follow_up(uow: PostgresUnitOfWork, request: dict) -> tuple[dict, bool]:
    """The follow-up that answers the request, and whether it was scheduled now (False: it already was)."""
    conn = uow.conn
    if request.get("idempotency_key") and (done := await repo.follow_up_by_key(conn, request["idempotency_key"])):
        return done, False
    establishment = await _establishment(conn, request["establishment_id"])
    request = request | {"program": _program(request.get("program"), establishment)}
    await _check_red_flag(conn, request.get("red_flag_id"))
    await repo.lock_establishment(conn, establishment["id"])  # one visit planned, however many ask at once
    if pending := await repo.pending_follow_up(conn, establishment["id"], request["program"]):
        return pending, False
    new_id = await repo.insert_requested_follow_up(conn, request)
    if new_id is None:  # the same key committed meanwhile
        return await repo.follow_up_by_key(conn, request["idempotency_key"]), False
    await _announce(uow, new_id, establishment, request)
    return await repo.scheduled_inspection(conn, new_id), True


async def _establishment(conn: asyncpg.Connection, establishment_id: str) -> dict:
    establishment = await repo.get_establishment(conn, establishment_id)
    if establishment is None:
        raise Unprocessable("establishment_id", "unknown_establishment",
                            f"no establishment {establishment_id!r} in the registry")
    return establishment


def _program(asked: str | None, establishment: dict) -> str:
    """The program asked for, else the one that inspects the establishment's license type."""
    if asked:
        return asked
    if establishment["license_type"] in set(Program):
        return establishment["license_type"]
    raise Unprocessable("program", "missing",
                        f"license type {establishment['license_type']!r} has no inspection program: name one")


async def _check_red_flag(conn: asyncpg.Connection, red_flag_id) -> None:
    if red_flag_id is not None and not await repo.red_flag_exists(conn, red_flag_id):
        raise Unprocessable("red_flag_id", "unknown_red_flag", f"no red flag {red_flag_id}")


async def _announce(uow: PostgresUnitOfWork, new_id, establishment: dict, request: dict) -> None:
    await uow.emit(InspectionScheduled(
        scheduled_inspection_id=new_id, establishment_id=establishment["id"],
        jurisdiction=establishment["jurisdiction"], program=request["program"], reason=REQUESTED,
        due_on=request["due_on"], red_flag_id=request.get("red_flag_id")))
