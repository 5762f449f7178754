"""Bulk import of a license-registry CSV: keep every good row, report every bad one by line number."""

from __future__ import annotations

from collections.abc import Mapping
import uuid
from dataclasses import asdict

import asyncpg

from pathways_inspection.adapters import repository as repo
from pathways_inspection.domain.registry_csv import EstablishmentRow, Reject, iter_registry_csv

BATCH = 2000  # rows per statement: large enough to be fast, small enough to keep statements modest


async def import_registry(pool: asyncpg.Pool, text: str, mapping: Mapping[str, str] | None = None,
                          line_offset: int = 0, import_id: uuid.UUID | None = None) -> dict:
    """Upsert the good rows (idempotent on license number); report the bad ones with the file's line numbers.

    A large file may come in chunks: ``line_offset`` maps a chunk's lines to the file's, and chunks sharing
    an ``import_id`` see each other's license numbers, so a duplicate across chunks is still a reject.
    Raises ``RegistryFormatError`` when the file as a whole is unreadable (no header, missing columns).
    """
    rows: list[dict] = []
    rejects: list[dict] = []
    for outcome in iter_registry_csv(text, mapping):
        if isinstance(outcome, Reject):
            rejects.append(asdict(outcome) | {"line": outcome.line + line_offset})
        else:
            rows.append(_establishment(outcome) | {"line": outcome.line + line_offset})
    created = updated = 0
    async with pool.acquire() as conn:
        rows = await _without_id_clashes(conn, rows, rejects)
        if import_id is not None:
            rows = await _unclaimed(conn, import_id, rows, rejects)
        for start in range(0, len(rows), BATCH):
            async with conn.transaction():  # each batch stands alone: a failure later keeps earlier rows
                new, changed = await repo.upsert_establishments(conn, rows[start:start + BATCH])
            created, updated = created + new, updated + changed
    return {"accepted": len(rows), "created": created, "updated": updated, "rejected": len(rejects),
            "rejects": rejects}


async def _without_id_clashes(conn: asyncpg.Connection, rows: list[dict], rejects: list[dict]) -> list[dict]:
    """A new row's id is its license number; an establishment added by hand may already use that id."""
    holders = await repo.license_numbers_of(conn, [r["id"] for r in rows])
    clashes = {r["id"] for r in rows if holders.get(r["id"], r["license_number"]) != r["license_number"]}
    for row in rows:
        if row["id"] in clashes:
            rejects.append({"line": row["line"], "fields": ["license_number"],
                            "reason": f"license_number: id {row['id']!r} is already establishment of license "
                                      f"{holders[row['id']]!r}"})
    rejects.sort(key=lambda r: r["line"])
    return [r for r in rows if r["id"] not in clashes]


async def _unclaimed(conn: asyncpg.Connection, import_id: uuid.UUID, rows: list[dict],
                     rejects: list[dict]) -> list[dict]:
    """Rows whose license number no earlier chunk of this import took; the others become rejects."""
    claimed = await repo.claimed_lines(conn, import_id, [r["license_number"] for r in rows])
    for row in rows:
        if row["license_number"] in claimed:
            rejects.append({"line": row["line"], "fields": ["license_number"],
                            "reason": f"license_number: duplicate of line {claimed[row['license_number']]}"})
    rejects.sort(key=lambda r: r["line"])
    fresh = [r for r in rows if r["license_number"] not in claimed]
    await repo.claim(conn, import_id, [(r["license_number"], r["line"]) for r in fresh])
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
