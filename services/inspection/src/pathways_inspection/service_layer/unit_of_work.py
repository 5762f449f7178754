"""The inspection service's unit of work: one transaction, its repositories, and the outbox behind ``emit``.

Unit tests use ``tests/unit/inspection_fakes.FakeInspectionUnitOfWork``, with
in-memory repositories implementing the same methods.
"""

from __future__ import annotations

import uuid
from datetime import date

import asyncpg

from pathways_inspection.adapters.repository import (
    EstablishmentRepository,
    FollowUpRepository,
    ImportClaimRepository,
    InspectionRepository,
    ReadAhead,
    RedFlagRepository,
)
from pathways_inspection.domain import screening
from pathways_runtime.uow import PostgresUnitOfWork


class InspectionUnitOfWork(PostgresUnitOfWork):
    establishments: EstablishmentRepository
    inspections: InspectionRepository
    red_flags: RedFlagRepository
    follow_ups: FollowUpRepository
    import_claims: ImportClaimRepository

    ahead: ReadAhead | None = None  # a bulk intake chunk's reads, done at once (``read_ahead``)
    _is_item = False  # one item of a batch, on a savepoint of its block (``item``)

    def bind(self, conn: asyncpg.Connection) -> None:
        self.establishments = EstablishmentRepository(conn, self.ahead)
        self.inspections = InspectionRepository(conn, self.ahead)
        self.red_flags = RedFlagRepository(conn, self.ahead)
        self.follow_ups = FollowUpRepository(conn)
        self.import_claims = ImportClaimRepository(conn)

    def another(self) -> InspectionUnitOfWork:
        """A unit of its own transaction on the same pool, to run beside this one (a lane of a batch)."""
        return type(self)(self._pool, schema=self.schema, source=self.source)

    async def item(self) -> InspectionUnitOfWork:
        """The unit of the next item of a batch in this unit's transaction: it can fail alone while the
        others commit with the batch (it rides on the batch's item savepoint); its events are written with
        this unit's, in one statement."""
        item = type(self)(None, schema=self.schema, source=self.source, conn=self.conn,
                          scope=await self.item_scope())
        item.ahead, item._is_item = self.ahead, True
        if self.ahead is not None:
            self.ahead.item_began()
        return item

    async def read_ahead(self, items: list[tuple[str, uuid.UUID, date]]) -> None:
        """Read what these items (establishment id, inspection id, inspected on) of this block will read, at
        once; the block's items read it from memory (and lock nothing more than they would have)."""
        self.ahead = await ReadAhead.load(
            self.conn, items, lambda e: screening.load_rules(e["jurisdiction"]).fusion_window_days)
        self.bind(self.conn)

    async def rollback(self) -> None:
        if self.ahead is not None and self._is_item and not self.committed:
            self.ahead.item_rolled_back()
        await super().rollback()

    async def _end(self) -> None:
        if not self._is_item:
            self.ahead = None  # the block's: the next one reads afresh
        await super()._end()
