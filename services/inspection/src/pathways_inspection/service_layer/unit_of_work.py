"""The inspection service's unit of work: one transaction, its repositories, and the outbox behind ``emit``.

Unit tests use ``tests/unit/inspection_fakes.FakeInspectionUnitOfWork``, with
in-memory repositories implementing the same methods.
"""

from __future__ import annotations

import asyncpg

from pathways_inspection.adapters.repository import (
    EstablishmentRepository,
    FollowUpRepository,
    ImportClaimRepository,
    InspectionRepository,
    RedFlagRepository,
)
from pathways_runtime.uow import PostgresUnitOfWork


class InspectionUnitOfWork(PostgresUnitOfWork):
    establishments: EstablishmentRepository
    inspections: InspectionRepository
    red_flags: RedFlagRepository
    follow_ups: FollowUpRepository
    import_claims: ImportClaimRepository

    def bind(self, conn: asyncpg.Connection) -> None:
        self.establishments = EstablishmentRepository(conn)
        self.inspections = InspectionRepository(conn)
        self.red_flags = RedFlagRepository(conn)
        self.follow_ups = FollowUpRepository(conn)
        self.import_claims = ImportClaimRepository(conn)

    def another(self) -> InspectionUnitOfWork:
        """A unit of its own transaction on the same pool, to run beside this one (a lane of a batch)."""
        return type(self)(self._pool, schema=self.schema, source=self.source)

    async def item(self) -> InspectionUnitOfWork:
        """The unit of the next item of a batch in this unit's transaction: it can fail alone while the
        others commit with the batch (it rides on the batch's item savepoint); its events are written with
        this unit's, in one statement."""
        return type(self)(None, schema=self.schema, source=self.source, conn=self.conn,
                          scope=await self.item_scope())
