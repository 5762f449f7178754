"""Fakes for unit tests: every use case runs in milliseconds, with no broker and no database.

A service's fake unit of work subclasses ``FakeUnitOfWork`` and sets in-memory
repositories in ``__init__``; a test then checks what was stored, what was
``emitted`` (only what a committed unit emitted is kept in ``published``), and
whether the unit ``committed``.
"""

from __future__ import annotations

from pathways_contracts import CloudEvent
from pathways_runtime.uow import UnitOfWork


class FakeUnitOfWork(UnitOfWork):
    def __init__(self, source: str = "/pathways/test") -> None:
        super().__init__(source)
        self.published: list[CloudEvent] = []  # events of committed units, in order
        self.commits = 0
        self._pending: list[CloudEvent] = []

    async def _begin(self) -> None:
        self._pending = []

    async def _record(self, event: CloudEvent) -> None:
        self._pending.append(event)

    async def _commit(self) -> None:
        self.published += self._pending
        self._pending = []
        self.commits += 1

    async def rollback(self) -> None:
        # In-memory repositories are not transactional: a test of a rollback checks `published`.
        self._pending = []

    def events(self, model: type) -> list:
        """The data of the published events of one type."""
        return [e.data for e in self.published if isinstance(e.data, model)]


def isolated_settings(monkeypatch, tmp_path, *names: str) -> None:
    """Settings read in a test see none of ``names`` from the caller's environment, a state folder of
    the test's own, and no stray ``.env`` (the working folder is the test's; nothing is written into
    the repository)."""
    for name in names:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("PATHWAYS_STATE_DIR", str(tmp_path / "state"))
    monkeypatch.chdir(tmp_path)
