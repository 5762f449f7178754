"""The establishment registry: one establishment by hand, or a license-registry CSV in bulk."""

from __future__ import annotations

from dataclasses import asdict

from pathways_inspection.domain.registry_csv import EstablishmentRow, Reject, iter_registry_csv
from pathways_inspection.service_layer.commands import ImportRegistry, UpsertEstablishment
from pathways_inspection.service_layer.unit_of_work import InspectionUnitOfWork
from pathways_runtime.errors import Conflict

BATCH = 2000  # rows per statement: large enough to be fast, small enough to keep statements modest


async def upsert_establishment(cmd: UpsertEstablishment, uow: InspectionUnitOfWork) -> dict:
    """Add or update by license number; ``Conflict`` (409) when the id or the license number is another's."""
    async with uow:
        same_id = await uow.establishments.get(cmd.id)
        if same_id is not None and same_id["license_number"] != cmd.license_number:
            raise Conflict(f"id: establishment {cmd.id!r} exists with license_number "
                           f"{same_id['license_number']!r}; an id cannot change its license_number")
        same_license = await uow.establishments.by_license_number(cmd.license_number)
        if same_license is not None and same_license["id"] != cmd.id:
            raise Conflict(f"license_number: {cmd.license_number!r} belongs to establishment "
                           f"{same_license['id']!r}")
        created = await uow.establishments.upsert(cmd.model_dump())
        await uow.commit()
    return {"id": cmd.id, "created": created}


async def import_registry(cmd: ImportRegistry, uow: InspectionUnitOfWork) -> dict:
    """Upsert the good rows (idempotent on license number); report the bad ones with the file's line numbers.

    A large file may come in chunks: ``line_offset`` maps a chunk's lines to the file's, and chunks sharing
    an ``import_id`` see each other's license numbers, so a duplicate across chunks is still a reject.
    Raises ``RegistryFormatError`` when the file as a whole is unreadable (no header, missing columns).
    """
    rows: list[dict] = []
    rejects: list[dict] = []
    for outcome in iter_registry_csv(cmd.text, cmd.mapping):
        if isinstance(outcome, Reject):
            rejects.append(asdict(outcome) | {"line": outcome.line + cmd.line_offset})
        else:
            rows.append(_establishment(outcome) | {"line": outcome.line + cmd.line_offset})
    async with uow:
        rows = await _without_id_clashes(uow, rows, rejects)
        if cmd.import_id is not None:
            rows = await _unclaimed(uow, cmd, rows, rejects)
        await uow.commit()
    created = updated = 0
    for start in range(0, len(rows), BATCH):
        async with uow:  # each batch stands alone: a failure later keeps earlier rows
            new, changed = await uow.establishments.upsert_many(rows[start:start + BATCH])
            await uow.commit()
        created, updated = created + new, updated + changed
    return {"accepted": len(rows), "created": created, "updated": updated, "rejected": len(rejects),
            "rejects": rejects}


async def _without_id_clashes(uow: InspectionUnitOfWork, rows: list[dict], rejects: list[dict]) -> list[dict]:
    """A new row's id is its license number; an establishment added by hand may already use that id."""
    holders = await uow.establishments.license_numbers_of([r["id"] for r in rows])
    clashes = {r["id"] for r in rows if holders.get(r["id"], r["license_number"]) != r["license_number"]}
    for row in rows:
        if row["id"] in clashes:
            rejects.append({"line": row["line"], "fields": ["license_number"],
                            "reason": f"license_number: id {row['id']!r} is already establishment of license "
                                      f"{holders[row['id']]!r}"})
    rejects.sort(key=lambda r: r["line"])
    return [r for r in rows if r["id"] not in clashes]


async def _unclaimed(uow: InspectionUnitOfWork, cmd: ImportRegistry, rows: list[dict],
                     rejects: list[dict]) -> list[dict]:
    """Rows whose license number no earlier chunk of this import took; the others become rejects."""
    claimed = await uow.import_claims.claimed_lines(cmd.import_id, [r["license_number"] for r in rows])
    for row in rows:
        if row["license_number"] in claimed:
            rejects.append({"line": row["line"], "fields": ["license_number"],
                            "reason": f"license_number: duplicate of line {claimed[row['license_number']]}"})
    rejects.sort(key=lambda r: r["line"])
    fresh = [r for r in rows if r["license_number"] not in claimed]
    await uow.import_claims.claim(cmd.import_id, [(r["license_number"], r["line"]) for r in fresh])
    return fresh


def _establishment(row: EstablishmentRow) -> dict:
    # The registry file has no id column: a new establishment's id is its license number.
    return {"id": row.license_number, "license_number": row.license_number, "name": row.name,
            "license_type": row.license_type, "license_status": row.license_status.value,
            "license_expiry": row.license_expiry, "address": row.address, "area": row.area,
            "jurisdiction": row.jurisdiction}


def parse_mapping(pairs: list[str]) -> dict[str, str]:
    """``["their=ours", ...]`` as the domain's ``{ours: theirs}``; ValueError names a malformed pair."""
    mapping = {}
    for pair in pairs:
        theirs, sep, ours = pair.partition("=")
        if not sep or not theirs.strip() or not ours.strip():
            raise ValueError(f"{pair!r} is not THEIR_COLUMN=OUR_COLUMN")
        mapping[ours.strip()] = theirs.strip()
    return mapping
