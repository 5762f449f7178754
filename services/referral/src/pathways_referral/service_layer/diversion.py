"""Pre-court diversion (seed 002): an officer refers a person to a community programme instead of charging.

The officer's referral carries only what the programme needs to make contact; the person's details
(if the officer records any) go to the encrypted people store like anyone else's. The police later
see whether the programme accepted and engaged, never its notes, reasons or outcome.
"""

from __future__ import annotations

import uuid

from pathways_referral.domain.policy import load_policy
from pathways_referral.domain.vocab import AgencyKind
from pathways_referral.service_layer.commands import Divert
from pathways_referral.service_layer.directory import directory_of
from pathways_referral.service_layer.placement import DIVERSION_TARGET, offer
from pathways_referral.service_layer.unit_of_work import ReferralUnitOfWork
from pathways_runtime.errors import Forbidden, InvalidCommand


async def handle_divert(cmd: Divert, uow: ReferralUnitOfWork) -> tuple[uuid.UUID, uuid.UUID]:
    """Open a diversion case and refer it to the programme; returns (case id, referral id)."""
    intake = cmd.request.model_dump(mode="json", exclude={"person"})
    person = cmd.request.person.model_dump(exclude_none=True) if cmd.request.person else None
    async with uow:
        directory = await directory_of(uow)
        police = directory.get(cmd.officer_org)
        if police is None or police.kind is not AgencyKind.POLICE:
            raise Forbidden("only a police department may refer to diversion")
        case = await uow.cases.add_diversion(cmd.request.jurisdiction)
        if person:
            await uow.people.add(case["id"], person, cmd.officer)
        referral_id = await offer(uow, case, DIVERSION_TARGET, load_policy(case["jurisdiction"]), directory,
                                  uow.now(), referred_by_org=cmd.officer_org, intake=intake)
        if referral_id is None:
            raise InvalidCommand.field("jurisdiction", f"no diversion programme serves {cmd.request.jurisdiction!r}")
        await uow.commit()
    return case["id"], referral_id


def police_view(row: dict) -> dict:
    """What the referring officer's department may know: accepted? engaged? Nothing else."""
    return {"referral_id": str(row["id"]), "referred_at": row["created_at"].isoformat(),
            "accepted": row["accepted_at"] is not None, "engaged": row["engaged_at"] is not None}
