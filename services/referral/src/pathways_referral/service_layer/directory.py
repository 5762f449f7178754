"""The live agency directory: the database table, seeded from the package's sample file on first use."""

from __future__ import annotations

import asyncpg

from pathways_referral.adapters import repository as repo
from pathways_referral.domain.directory import Directory, Organization, load_directory


async def current_directory(conn: asyncpg.Connection | asyncpg.Pool) -> Directory:
    docs = await repo.agency_documents(conn)
    if not docs:
        await seed_directory(conn)
        docs = await repo.agency_documents(conn)
    return Directory(version="live", organizations=[Organization.model_validate(d) for d in docs])


async def seed_directory(conn: asyncpg.Connection | asyncpg.Pool) -> None:
    # Only ever inserts: an agency edited over the API is never overwritten by the sample file.
    for org in load_directory().organizations:
        await repo.insert_agency(conn, org.id, org.kind.value, org.model_dump(mode="json"))
