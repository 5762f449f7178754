"""In-memory repositories of the inspection service, behind a fake unit of work: the use cases' unit tests.

Each repository implements the methods of its PostgreSQL twin in
``pathways_inspection.adapters.repository`` that the use cases call, with the
same meaning (e.g. one pending automatic follow-up per establishment, program
and reason; the open red flag first, then the latest).
"""

from __future__ import annotations

import copy
import uuid
from datetime import UTC, date, datetime

from pathways_runtime.errors import Conflict
from pathways_runtime.testing import FakeUnitOfWork


class FakeEstablishments:
    def __init__(self) -> None:
        self.rows: dict[str, dict] = {}
        self.locked: list[str] = []

    async def get(self, establishment_id: str, *, for_update: bool = False) -> dict | None:
        row = self.rows.get(establishment_id)
        if row and for_update:
            self.locked.append(establishment_id)
        return dict(row) if row else None

    async def by_license_number(self, license_number: str) -> dict | None:
        return next((dict(r) for r in self.rows.values() if r["license_number"] == license_number), None)

    async def upsert(self, row: dict) -> bool:
        held = await self.by_license_number(row["license_number"])
        if held is None:
            if row["id"] in self.rows:
                raise Conflict(f"id: establishment {row['id']!r} exists with another license_number")
            self.rows[row["id"]] = {"clean_hotels_signed": None, "clean_hotels_verified_on": None} | dict(row)
            return True
        self.rows[held["id"]].update({k: v for k, v in row.items() if k not in ("id", "license_number")})
        return False

    async def upsert_many(self, rows: list[dict]) -> tuple[int, int]:
        created = [await self.upsert(r) for r in rows]
        return sum(created), len(created) - sum(created)

    async def license_numbers_of(self, ids: list[str]) -> dict[str, str]:
        return {i: self.rows[i]["license_number"] for i in ids if i in self.rows}

    async def lock(self, establishment_id: str) -> None:
        self.locked.append(establishment_id)

    async def set_certification(self, establishment_id: str, signed: bool, verified_on: date | None) -> None:
        self.rows[establishment_id].update(clean_hotels_signed=signed, clean_hotels_verified_on=verified_on)

    async def list(self, jurisdiction=None, certified=None, limit=1000, offset=0) -> list[dict]:
        rows = [r for _, r in sorted(self.rows.items())
                if (jurisdiction is None or r["jurisdiction"] == jurisdiction)
                and (certified is None or bool(r.get("clean_hotels_signed")) == certified)]
        return [dict(r) for r in rows[offset:offset + limit]]

    async def all(self, jurisdiction=None) -> list[dict]:
        return await self.list(jurisdiction, limit=10**9)


class FakeInspections:
    def __init__(self) -> None:
        self.rows: dict[uuid.UUID, dict] = {}

    async def add(self, inspection: dict) -> None:
        assert inspection["id"] not in self.rows, "primary key"
        self.rows[inspection["id"]] = copy.deepcopy(inspection)

    async def exists(self, inspection_id) -> bool:
        return inspection_id in self.rows

    async def since(self, establishment_id: str, since: date) -> list[dict]:
        rows = [r for r in self.rows.values() if r["establishment_id"] == establishment_id and r["inspected_on"] >= since]
        return sorted(rows, key=lambda r: (r["inspected_on"], str(r["id"])))

    async def records(self, since=None, until=None, with_answers=False) -> list[dict]:
        rows = [r for r in self.rows.values()
                if (since is None or r["inspected_on"] >= since) and (until is None or r["inspected_on"] < until)]
        keep = ("id", "establishment_id", "program", "reason", "inspected_on", "result", "checklist_version")
        return [{k: r.get(k) for k in keep} | ({"answers": r.get("answers") or {}} if with_answers else {})
                for r in sorted(rows, key=lambda r: (r["inspected_on"], str(r["id"])))]

    async def last_inspected(self, program: str) -> dict[str, date]:
        last: dict[str, date] = {}
        for r in self.rows.values():
            if r["program"] == program:
                last[r["establishment_id"]] = max(last.get(r["establishment_id"], r["inspected_on"]), r["inspected_on"])
        return last


class FakeRedFlags:
    def __init__(self) -> None:
        self.rows: dict[uuid.UUID, dict] = {}

    async def open_for(self, establishment_id: str) -> dict | None:
        return next((dict(r) for r in self.rows.values()
                     if r["establishment_id"] == establishment_id and r["status"] == "open"), None)

    async def add(self, red_flag_id, establishment_id, level, score, explanation) -> None:
        assert await self.open_for(establishment_id) is None, "one open red flag per establishment"
        now = datetime.now(UTC)
        self.rows[red_flag_id] = {"id": red_flag_id, "establishment_id": establishment_id, "level": str(level),
                                  "score": score, "status": "open", "explanation": explanation, "raised_at": now,
                                  "updated_at": now}

    async def raise_level(self, red_flag_id, level, score, explanation) -> None:
        self.rows[red_flag_id].update(level=str(level), score=score, explanation=explanation)

    async def latest(self, establishment_id: str) -> dict | None:
        rows = [r for r in self.rows.values() if r["establishment_id"] == establishment_id]
        rows.sort(key=lambda r: (r["status"] == "open", r["raised_at"]), reverse=True)
        return dict(rows[0]) if rows else None

    async def exists(self, red_flag_id) -> bool:
        return red_flag_id in self.rows

    async def contributing_inspection_ids(self) -> set[str]:
        return {str(i) for r in self.rows.values() for i in r["explanation"]["contributing_inspection_ids"]}


class FakeFollowUps:
    def __init__(self) -> None:
        self.rows: dict[uuid.UUID, dict] = {}

    def _new(self, **row) -> uuid.UUID:
        new_id = uuid.uuid4()
        self.rows[new_id] = {"id": new_id, "status": "scheduled", "source_inspection_id": None, "red_flag_id": None,
                             "requested_by": None, "idempotency_key": None} | row
        return new_id

    async def add_automatic(self, establishment_id, program, reason, due_on, source_inspection_id, red_flag_id):
        if any(r["establishment_id"] == establishment_id and r["program"] == program and r["reason"] == reason
               and r["status"] == "scheduled" for r in self.rows.values()):
            return None
        return self._new(establishment_id=establishment_id, program=str(program), reason=str(reason), due_on=due_on,
                         source_inspection_id=source_inspection_id, red_flag_id=red_flag_id)

    async def add_requested(self, establishment_id, program, due_on, red_flag_id, requested_by, idempotency_key):
        if idempotency_key is not None and await self.by_key(idempotency_key):
            return None
        return self._new(establishment_id=establishment_id, program=str(program), reason="requested", due_on=due_on,
                         red_flag_id=red_flag_id, requested_by=requested_by, idempotency_key=idempotency_key)

    async def get(self, scheduled_id) -> dict:
        return dict(self.rows[scheduled_id])

    async def by_key(self, idempotency_key: str) -> dict | None:
        return next((dict(r) for r in self.rows.values() if r["idempotency_key"] == idempotency_key), None)

    async def pending(self, establishment_id: str, program: str) -> dict | None:
        rows = [r for r in self.rows.values() if r["establishment_id"] == establishment_id
                and r["program"] == program and r["status"] == "scheduled"]
        return dict(min(rows, key=lambda r: r["due_on"])) if rows else None

    async def complete(self, establishment_id: str, program: str) -> None:
        for r in self.rows.values():
            if r["establishment_id"] == establishment_id and r["program"] == program and r["status"] == "scheduled":
                r["status"] = "done"

    async def due(self, program: str, until: date) -> list[dict]:
        rows = [r for r in self.rows.values() if r["program"] == program and r["status"] == "scheduled"
                and r["due_on"] < until]
        return [dict(r) for r in sorted(rows, key=lambda r: (r["due_on"], r["establishment_id"]))]

    async def of_establishment(self, establishment_id: str) -> list[dict]:
        rows = [r for r in self.rows.values() if r["establishment_id"] == establishment_id]
        return [{k: r[k] for k in ("id", "program", "reason", "due_on", "status")}
                for r in sorted(rows, key=lambda r: (r["due_on"], r["reason"]))]


class FakeImportClaims:
    def __init__(self) -> None:
        self.rows: dict[tuple[uuid.UUID, str], int] = {}

    async def claimed_lines(self, import_id, license_numbers) -> dict[str, int]:
        return {n: self.rows[import_id, n] for n in license_numbers if (import_id, n) in self.rows}

    async def claim(self, import_id, claims) -> None:
        for number, line in claims:
            self.rows.setdefault((import_id, number), line)


class FakeInspectionUnitOfWork(FakeUnitOfWork):
    def __init__(self, source: str = "/pathways/inspection") -> None:
        super().__init__(source)
        self.establishments = FakeEstablishments()
        self.inspections = FakeInspections()
        self.red_flags = FakeRedFlags()
        self.follow_ups = FakeFollowUps()
        self.import_claims = FakeImportClaims()
        self.parent: FakeInspectionUnitOfWork | None = None

    def another(self) -> FakeInspectionUnitOfWork:
        """Shares the repositories and what is published: another transaction on the same store."""
        other = FakeInspectionUnitOfWork(self.source)
        other.establishments, other.inspections, other.red_flags = self.establishments, self.inspections, self.red_flags
        other.follow_ups, other.import_claims, other.published = self.follow_ups, self.import_claims, self.published
        return other

    async def read_ahead(self, items: list) -> None:
        """In memory every read is as cheap as a read ahead: nothing to do."""

    async def item(self) -> FakeInspectionUnitOfWork:
        """Shares the repositories; what it emits joins this unit's pending events when it commits."""
        child = FakeInspectionUnitOfWork(self.source)
        child.establishments, child.inspections, child.red_flags = self.establishments, self.inspections, self.red_flags
        child.follow_ups, child.import_claims, child.parent = self.follow_ups, self.import_claims, self
        return child

    async def _commit(self) -> None:
        if self.parent is None:
            await super()._commit()
        else:  # a savepoint released: its events wait for the enclosing transaction
            self.parent._pending += self._pending
            self._pending = []
            self.commits += 1
