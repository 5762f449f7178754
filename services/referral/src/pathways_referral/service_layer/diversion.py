"""Pre-court diversion (seed 002): an officer refers a person to a community programme instead of charging.

The officer's referral carries only what the programme needs to make contact; the person's details
(if the officer records any) go to the encrypted people store like anyone else's. The police later
see whether the programme accepted and engaged, never its notes, reasons or outcome.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import asyncpg

from pathways_referral.adapters import people as people_repo
from pathways_referral.adapters import repository as repo
from pathways_referral.domain.policy import load_policy
from pathways_referral.domain.vocab import AgencyKind
from pathways_referral.service_layer.directory import current_directory
from pathways_referral.service_layer.placement import DIVERSION_TARGET, Emit, offer


class NotPolice(PermissionError):
    """Only a police department (an organisation of kind police in the directory) may divert."""


class NoProgramme(LookupError):
    pass


async def is_police(conn: asyncpg.Connection | asyncpg.Pool, org: str) -> bool:
    agency = (await current_directory(conn)).get(org)
    return agency is not None and agency.kind is AgencyKind.POLICE


async def divert(conn: asyncpg.Connection, emit: Emit, officer_org: str, officer: str, intake: dict,
                 person: dict | None) -> tuple[uuid.UUID, uuid.UUID]:
    """Open a diversion case and refer it to the programme; returns (case id, referral id)."""
    if not await is_police(conn, officer_org):
        raise NotPolice(officer_org)
    case_id = await repo.insert_diversion_case(conn, intake["jurisdiction"])
    case = await repo.case_row(conn, case_id)
    if person:
        await people_repo.insert_person(conn, case_id, person, officer)
    referral_id = await offer(conn, emit, case, DIVERSION_TARGET, load_policy(case["jurisdiction"]),
                              await current_directory(conn), datetime.now(UTC), referred_by_org=officer_org,
                              intake=intake)
    if referral_id is None:
        raise NoProgramme(f"no diversion programme serves {intake['jurisdiction']!r}")
    return case_id, referral_id


def police_view(row: asyncpg.Record) -> dict:
    """What the referring officer's department may know: accepted? engaged? Nothing else."""
    return {"referral_id": str(row["id"]), "referred_at": row["created_at"].isoformat(),
            "accepted": row["accepted_at"] is not None, "engaged": row["engaged_at"] is not None}
