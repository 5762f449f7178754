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
(a rolled-back block's events are dropped). A unit nested in another (``parent``: one item of a
batch, on a savepoint of the batch's transaction) hands its events to the parent instead, so a
whole batch writes its events in one statement.

The consumer pipeline gives a handler a unit of work on its own (batch)
transaction, inside the savepoint it holds for the event: the handler's first
``async with uow`` opens nothing more (a rollback returns to the event's
savepoint, a commit leaves the effects to the batch's commit), so one event's
failure rolls back that event's effects only, at no extra round trip. A
further ``async with uow`` in the same handler opens a savepoint of its own.
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
    one's in one round trip (the transaction's commit releases the last). A unit of work given the name
    (``savepoint=``) rides on it."""

    def __init__(self, conn: asyncpg.Connection, name: str) -> None:
        self._conn = conn
        self.name = name
        self._held = False

    async def next(self) -> str:
        await self._conn.execute(f"release savepoint {self.name}; savepoint {self.name}" if self._held
                                 else f"savepoint {self.name}")
        self._held = True
        return self.name


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
    """A transaction on a pooled connection (or, inside the consumer pipeline, a savepoint on its connection).

    Subclasses create their repositories on ``self.conn`` in ``bind``.
    """

    def __init__(self, pool: asyncpg.Pool | None, *, schema: str, source: str,
                 conn: asyncpg.Connection | None = None, savepoint: str | None = None,
                 parent: PostgresUnitOfWork | None = None) -> None:
        super().__init__(source)
        if (pool is None) == (conn is None):
            raise ValueError("a unit of work takes a pool (its own transaction) or a connection (a savepoint)")
        self._pool = pool
        self._given = conn
        # A savepoint the caller established for this unit on ``conn`` (the pipeline's, per event): the
        # first block rides on it instead of opening another; None once used.
        self._savepoint = savepoint
        self._on_savepoint = False
        self.schema = schema
        self.conn: asyncpg.Connection = conn  # type: ignore[assignment] (set in _begin when from the pool)
        self._tx: asyncpg.transaction.Transaction | None = None
        self._parent = parent  # who writes this unit's outbox rows (with its own)
        self._rows: list[outbox.Row] = []  # emitted in this unit, not yet written (or handed to the parent)
        self._block_start = 0  # the first of ``_rows`` emitted in the current block
        self._items: ItemSavepoints | None = None  # the current block's, once it has items (a batch)

    def bind(self, conn: asyncpg.Connection) -> None:
        """Create the service's repositories on ``conn``; called at the start of each unit."""

    async def item_savepoint(self) -> str:
        """Set the savepoint of the next item of a batch in this block (the previous item's released, in one
        round trip): a unit on it (``savepoint=``, ``parent=self``) fails alone."""
        if self._items is None:
            self._items = ItemSavepoints(self.conn, "pathways_item")
        return await self._items.next()

    async def _begin(self) -> None:
        self._block_start, self._items = len(self._rows), None
        if self._savepoint is not None:
            self._on_savepoint, self._tx = True, None
            self.bind(self.conn)
            return
        self._on_savepoint = False
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
        if self._on_savepoint:
            self._savepoint = None  # used: a later block opens its own
            return
        if self._given is None and self.conn is not None:
            await self._pool.release(self.conn)
            self.conn = None  # type: ignore[assignment]

    async def _commit(self) -> None:
        rows, self._rows = self._rows, []
        if self._parent is not None:
            self._parent._rows.extend(rows)
        else:
            await outbox.add_rows(self.conn, self.schema, rows)
        if not self._on_savepoint:  # on the caller's savepoint, the caller's transaction commits
            await self._tx.commit()

    async def rollback(self) -> None:
        if self.committed:
            return
        del self._rows[self._block_start:]
        if self._on_savepoint:  # back to the start of this unit; the savepoint stays for the caller
            await self.conn.execute(f"rollback to savepoint {self._savepoint}")
        elif self._tx is not None:
            await self._tx.rollback()

    async def _record(self, event: CloudEvent) -> None:
        self._rows.append(outbox.row(event))
