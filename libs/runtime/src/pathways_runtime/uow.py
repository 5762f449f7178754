"""The unit of work: one database transaction around one use case.

A use case gets a unit of work and does everything inside it::

    async with uow:
        establishment = await uow.establishments.get(cmd.establishment_id)
        ...
        await uow.emit(InspectionCompleted(...))   # for the outbox, in this transaction
        await uow.commit()

Leaving the block without ``commit()`` rolls back, events included: the domain
rows and the events they cause commit together or not at all. A service's unit
of work subclasses ``PostgresUnitOfWork`` and creates its repositories in
``bind``; unit tests pass a ``pathways_runtime.testing.FakeUnitOfWork`` instead.

What a block emits is kept in memory and written to the outbox in one statement when it commits
(a rolled-back block's events are dropped). A unit nested in someone else's transaction rides on a
``Scope`` the owner gives it (one item of a batch, one event of the consumer pipeline's batch): its
first block opens nothing more, and its events are handed to the owner, so a whole batch writes its
events in one statement.

A scope holds the savepoint the owner set for the unit: a rollback returns to it, so one item's
failure rolls back that item's effects only, at no extra round trip. A further ``async with uow``
in the same handler opens a savepoint of its own.
"""

from __future__ import annotations

import abc
from types import TracebackType
from typing import Self

import asyncpg

from pathways_contracts import CloudEvent, Event
from pathways_runtime import outbox


class ItemSavepoints:
    """One savepoint per item of a batch on the batch's connection, so one item's failure rolls back its
    effects only: ``await next()`` before each item releases the previous item's savepoint and sets this
    one's in one round trip (the transaction's commit releases the last). A unit of work given a
    ``Scope`` with the name rides on it."""

    def __init__(self, conn: asyncpg.Connection, name: str) -> None:
        self._conn = conn
        self.name = name
        self._held = False

    async def next(self) -> str:
        await self._conn.execute(f"release savepoint {self.name}; savepoint {self.name}" if self._held
                                 else f"savepoint {self.name}")
        self._held = True
        return self.name


class Scope:
    """Someone else's transaction, as a unit of work nested in it sees it."""

    def __init__(self, savepoint: str, rows: list[outbox.Row] | None = None) -> None:
        self.savepoint = savepoint  # set by the owner for the unit, on the owner's connection
        self.rows: list[outbox.Row] = [] if rows is None else rows  # committed units' events, for the owner


class UnitOfWork(abc.ABC):
    """What a use case sees: repositories (attributes of the subclass), ``emit``, ``commit``."""

    source: str  # the CloudEvents source of what this unit emits, ``/pathways/<service>``

    def __init__(self, source: str) -> None:
        self.source = source
        self.emitted: list[CloudEvent] = []  # what was emitted in this unit (kept after commit)
        self.committed = False

    async def __aenter__(self) -> Self:
        self.committed = False
        await self._begin()
        return self

    async def __aexit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                        tb: TracebackType | None) -> None:
        try:
            if not self.committed:
                await self.rollback()
        finally:
            await self._end()

    async def emit(self, data: Event) -> CloudEvent:
        """Wrap ``data`` as a CloudEvent from this service and record it for publication in this unit."""
        event = CloudEvent(data=data, source=self.source)
        await self._record(event)
        self.emitted.append(event)
        return event

    async def commit(self) -> None:
        await self._commit()
        self.committed = True

    @abc.abstractmethod
    async def rollback(self) -> None: ...

    @abc.abstractmethod
    async def _begin(self) -> None: ...

    async def _end(self) -> None:
        return None

    @abc.abstractmethod
    async def _commit(self) -> None: ...

    @abc.abstractmethod
    async def _record(self, event: CloudEvent) -> None: ...


class PostgresUnitOfWork(UnitOfWork):
    """A transaction on a pooled connection (or, inside someone else's, a ``Scope`` on its connection).

    Subclasses create their repositories on ``self.conn`` in ``bind``.
    """

    def __init__(self, pool: asyncpg.Pool | None, *, schema: str, source: str,
                 conn: asyncpg.Connection | None = None, scope: Scope | None = None) -> None:
        super().__init__(source)
        if (pool is None) == (conn is None):
            raise ValueError("a unit of work takes a pool (its own transaction) or a connection (someone else's)")
        self._pool = pool
        self._given = conn
        # The owner's transaction on ``conn`` (the pipeline's, per event): the first block rides on it instead
        # of opening another; None once used.
        self._scope = scope
        self._on_scope: Scope | None = None  # the current block's, when it rides on one
        self.schema = schema
        self.conn: asyncpg.Connection = conn  # type: ignore[assignment] (set in _begin when from the pool)
        self._tx: asyncpg.transaction.Transaction | None = None
        self._rows: list[outbox.Row] = []  # emitted in this unit, not yet written (or handed to the owner)
        self._block_start = 0  # the first of ``_rows`` emitted in the current block
        self._items: ItemSavepoints | None = None  # the current block's, once it has items (a batch)

    def bind(self, conn: asyncpg.Connection) -> None:
        """Create the service's repositories on ``conn``; called at the start of each unit."""

    async def item_scope(self) -> Scope:
        """The scope of the next item of a batch in this block: its savepoint set (the previous item's
        released, in one round trip), its events written with this unit's. A unit on it fails alone."""
        if self._items is None:
            self._items = ItemSavepoints(self.conn, "pathways_item")
        return Scope(await self._items.next(), rows=self._rows)

    async def _begin(self) -> None:
        self._block_start, self._items = len(self._rows), None
        if self._scope is not None:
            self._on_scope, self._tx = self._scope, None
            self.bind(self.conn)
            return
        self._on_scope = None
        if self._given is None:
            self.conn = await self._pool.acquire()
        self._tx = self.conn.transaction()  # asyncpg makes it a savepoint inside an open transaction
        try:
            await self._tx.start()
        except BaseException:
            # __aexit__ does not run when __aenter__ fails: give the connection back here, or every failed
            # BEGIN (the database going away) would keep one pooled connection until the pool is exhausted.
            await self._end()
            raise
        self.bind(self.conn)

    async def _end(self) -> None:
        if self._on_scope is not None:
            self._scope = self._on_scope = None  # used: a later block opens its own
            return
        if self._given is None and self.conn is not None:
            await self._pool.release(self.conn)
            self.conn = None  # type: ignore[assignment]

    async def _commit(self) -> None:
        rows, self._rows = self._rows, []
        if self._on_scope is not None:  # the owner writes them with its own and commits its transaction
            self._on_scope.rows.extend(rows)
            return
        await outbox.add_rows(self.conn, self.schema, rows)
        await self._tx.commit()

    async def rollback(self) -> None:
        if self.committed:
            return
        del self._rows[self._block_start:]
        if self._on_scope is not None:  # back to the start of this unit; the savepoint stays for the owner
            await self.conn.execute(f"rollback to savepoint {self._on_scope.savepoint}")
        elif self._tx is not None:
            await self._tx.rollback()

    async def _record(self, event: CloudEvent) -> None:
        self._rows.append(outbox.row(event))
