"""All the SQL of the inspection service, as repositories over one connection (or a pool, for reads).

A unit of work (``service_layer.unit_of_work.InspectionUnitOfWork``) creates
them on its transaction's connection, so whatever they write commits with the
events the use case emits, or not at all. Rows come back as plain dicts.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from datetime import date, datetime, timedelta

import asyncpg

from pathways_runtime.errors import Conflict

SCHEMA = "inspection"

ESTABLISHMENT_COLUMNS = ("id", "license_number", "name", "license_type", "license_status", "license_expiry",
                         "address", "area", "jurisdiction")
Executor = asyncpg.Connection | asyncpg.Pool


def _decoded(row: asyncpg.Record | None, *json_columns: str) -> dict | None:
    if row is None:
        return None
    found = dict(row)
    for column in json_columns:
        if isinstance(found.get(column), str):
            found[column] = json.loads(found[column])
    return found


class ReadAhead:
    """What the items of one chunk of a bulk intake read, read for all of them at once, and kept current by
    what they write: their establishments (locked), which of their inspections were recorded before, every
    department's inspections of those establishments in the earliest screening window any item needs, and
    the establishments' open red flags (locked). Four statements per chunk instead of four per item; the
    locks are taken in the order one by one would take them (establishments by id, then their flags).

    An item that rolls back after it wrote (``wrote``: its writes are gone, the copies here are not) makes
    it stale: every read goes to the database from then on."""

    def __init__(self) -> None:
        self.establishments: dict[str, dict | None] = {}  # None: asked for, not in the registry
        self.recorded: set[uuid.UUID] = set()
        self.checked: set[uuid.UUID] = set()  # inspection ids whose ``recorded`` is known
        self.inspections: dict[str, tuple[date, list[dict]]] = {}  # establishment -> (rows since, its rows)
        self.open_flags: dict[str, dict | None] = {}
        self.active = True
        self.wrote = False  # since the current item began

    def item_began(self) -> None:
        self.wrote = False

    def item_rolled_back(self) -> None:
        if self.wrote:
            self.active = False

    @classmethod
    async def load(cls, conn: asyncpg.Connection, items: list[tuple[str, uuid.UUID, date]],
                   window_days: Callable[[dict], int]) -> ReadAhead:
        """``items``: (establishment id, inspection id, inspected on) of each item of the chunk;
        ``window_days``: an establishment's screening window, from its jurisdiction's rules."""
        ahead = cls()
        ids = sorted({e for e, _, _ in items})
        rows = await conn.fetch(f"select * from {SCHEMA}.establishments where id = any($1::text[]) order by id"
                                " for update", ids)
        ahead.establishments = dict.fromkeys(ids) | {r["id"]: dict(r) for r in rows}
        inspection_ids = list({i for _, i, _ in items})
        ahead.recorded = {r[0] for r in await conn.fetch(
            f"select id from {SCHEMA}.inspections where id = any($1::uuid[])", inspection_ids)}
        ahead.checked = set(inspection_ids)
        earliest: dict[str, date] = {}
        for establishment_id, _, inspected_on in items:
            found = ahead.establishments[establishment_id]
            if found is not None:
                start = inspected_on - timedelta(days=window_days(found))
                earliest[establishment_id] = min(start, earliest.get(establishment_id, start))
        ahead.inspections = {e: (since, []) for e, since in earliest.items()}
        for r in await conn.fetch(
                f"select i.establishment_id, i.id, i.department, i.program, i.inspected_on, i.indicator_codes"
                f" from {SCHEMA}.inspections i join unnest($1::text[], $2::date[]) as w(id, since)"
                " on i.establishment_id = w.id and i.inspected_on >= w.since",
                list(earliest), list(earliest.values())):
            row = dict(r)
            ahead.inspections[row.pop("establishment_id")][1].append(row)
        flags = await conn.fetch(f"select * from {SCHEMA}.red_flags where establishment_id = any($1::text[])"
                                 " and status = 'open' order by establishment_id for update", list(earliest))
        ahead.open_flags = dict.fromkeys(earliest) | {r["establishment_id"]: _decoded(r, "explanation")
                                                      for r in flags}
        return ahead


class EstablishmentRepository:
    """The registry of licensed establishments (businesses, never persons)."""

    def __init__(self, conn: Executor, ahead: ReadAhead | None = None) -> None:
        self.conn = conn
        self._ahead = ahead

    async def get(self, establishment_id: str, *, for_update: bool = False) -> dict | None:
        """The establishment; ``for_update`` also locks it for this transaction (``lock``), in the same round trip."""
        if self._ahead and self._ahead.active and establishment_id in self._ahead.establishments:
            found = self._ahead.establishments[establishment_id]  # locked when read ahead
            return dict(found) if found is not None else None
        row = await self.conn.fetchrow(f"select * from {SCHEMA}.establishments where id = $1"
                                       f"{' for update' if for_update else ''}", establishment_id)
        return dict(row) if row else None

    async def by_license_number(self, license_number: str) -> dict | None:
        row = await self.conn.fetchrow(f"select * from {SCHEMA}.establishments where license_number = $1",
                                       license_number)
        return dict(row) if row else None

    async def upsert(self, row: dict) -> bool:
        """Insert or update by license number; True when the row was new.

        Conflict when the id already belongs to another license number (the primary key would clash).
        """
        values = [row.get(c) for c in ESTABLISHMENT_COLUMNS]
        updates = ", ".join(f"{c} = excluded.{c}" for c in ESTABLISHMENT_COLUMNS[2:])
        try:
            return await self.conn.fetchval(
                f"insert into {SCHEMA}.establishments ({', '.join(ESTABLISHMENT_COLUMNS)})"
                f" values ({', '.join(f'${i}' for i in range(1, len(values) + 1))})"
                f" on conflict (license_number) do update set {updates}, updated_at = now()"
                " returning (xmax = 0)",
                *values,
            )
        except asyncpg.UniqueViolationError as exc:  # another writer took the id meanwhile
            raise Conflict(f"id: establishment {row['id']!r} exists with another license_number") from exc

    async def upsert_many(self, rows: list[dict]) -> tuple[int, int]:
        """Insert or update many rows by license number in one statement; (created, updated)."""
        if not rows:
            return 0, 0
        arrays = [[row.get(c) for row in rows] for c in ESTABLISHMENT_COLUMNS]
        types = ["text"] * 5 + ["date"] + ["text"] * 3
        unnest = ", ".join(f"${i}::{t}[]" for i, t in enumerate(types, start=1))
        updates = ", ".join(f"{c} = excluded.{c}" for c in ESTABLISHMENT_COLUMNS[2:])
        created = await self.conn.fetch(
            f"insert into {SCHEMA}.establishments ({', '.join(ESTABLISHMENT_COLUMNS)}) select * from unnest({unnest})"
            f" on conflict (license_number) do update set {updates}, updated_at = now() returning (xmax = 0) as new",
            *arrays,
        )
        new = sum(1 for r in created if r["new"])
        return new, len(created) - new

    async def license_numbers_of(self, ids: list[str]) -> dict[str, str]:
        rows = await self.conn.fetch(f"select id, license_number from {SCHEMA}.establishments where id = any($1)",
                                     ids)
        return {r["id"]: r["license_number"] for r in rows}

    async def lock(self, establishment_id: str) -> None:
        """Serialise screening per establishment: two inspections at once must not both raise a red flag."""
        await self.conn.execute(f"select 1 from {SCHEMA}.establishments where id = $1 for update", establishment_id)

    async def set_certification(self, establishment_id: str, signed: bool, verified_on: date | None) -> None:
        if self._ahead and self._ahead.establishments.get(establishment_id):
            self._ahead.wrote = True
            self._ahead.establishments[establishment_id] |= {"clean_hotels_signed": signed,
                                                             "clean_hotels_verified_on": verified_on}
        await self.conn.execute(
            f"update {SCHEMA}.establishments set clean_hotels_signed = $2, clean_hotels_verified_on = $3,"
            " updated_at = now() where id = $1",
            establishment_id, signed, verified_on,
        )

    async def list(self, jurisdiction: str | None = None, certified: bool | None = None, limit: int = 1000,
                   offset: int = 0) -> list[dict]:
        rows = await self.conn.fetch(
            f"select * from {SCHEMA}.establishments"
            " where ($1::text is null or jurisdiction = $1)"
            " and ($2::boolean is null or coalesce(clean_hotels_signed, false) = $2)"
            " order by id limit $3 offset $4",
            jurisdiction, certified, limit, offset,
        )
        return [dict(r) for r in rows]

    async def all(self, jurisdiction: str | None = None) -> list[dict]:
        rows = await self.conn.fetch(
            f"select {', '.join(ESTABLISHMENT_COLUMNS)} from {SCHEMA}.establishments"
            " where $1::text is null or jurisdiction = $1 order by id",
            jurisdiction,
        )
        return [dict(r) for r in rows]


class InspectionRepository:
    def __init__(self, conn: Executor, ahead: ReadAhead | None = None) -> None:
        self.conn = conn
        self._ahead = ahead

    async def add(self, inspection: dict) -> None:
        if self._ahead:
            self._ahead.wrote = True
            self._ahead.recorded.add(inspection["id"])
            self._ahead.checked.add(inspection["id"])
            window = self._ahead.inspections.get(inspection["establishment_id"])
            if window is not None and inspection["inspected_on"] >= window[0]:
                window[1].append({k: inspection[k] for k in ("id", "department", "program", "inspected_on",
                                                             "indicator_codes")})
        await self.conn.execute(
            f"insert into {SCHEMA}.inspections (id, establishment_id, department, program, reason, inspected_on,"
            " result, indicator_codes, checklist_version, answers, interpreter_language, recorded_by)"
            " values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
            inspection["id"], inspection["establishment_id"], inspection["department"], inspection["program"],
            inspection["reason"], inspection["inspected_on"], inspection["result"], inspection["indicator_codes"],
            inspection.get("checklist_version"), json.dumps(inspection.get("answers") or {}),
            inspection.get("interpreter_language"), inspection["recorded_by"],
        )

    async def exists(self, inspection_id: uuid.UUID) -> bool:
        if self._ahead and self._ahead.active and inspection_id in self._ahead.checked:
            return inspection_id in self._ahead.recorded
        return await self.conn.fetchval(f"select exists (select 1 from {SCHEMA}.inspections where id = $1)",
                                        inspection_id)

    async def since(self, establishment_id: str, since: date) -> list[dict]:
        """Every department's inspections of one establishment since a date: the input of fused screening."""
        window = self._ahead.inspections.get(establishment_id) if self._ahead and self._ahead.active else None
        if window is not None and since >= window[0]:
            # uuid order is byte order, in Python as in PostgreSQL
            return sorted((dict(r) for r in window[1] if r["inspected_on"] >= since),
                          key=lambda r: (r["inspected_on"], r["id"]))
        rows = await self.conn.fetch(
            f"select id, department, program, inspected_on, indicator_codes from {SCHEMA}.inspections"
            " where establishment_id = $1 and inspected_on >= $2 order by inspected_on, id",
            establishment_id, since,
        )
        return [dict(r) for r in rows]

    async def records(self, since: date | None = None, until: date | None = None,
                      with_answers: bool = False) -> list[dict]:
        answers = ", answers" if with_answers else ""
        rows = await self.conn.fetch(
            f"select id, establishment_id, program, reason, inspected_on, result, checklist_version{answers}"
            f" from {SCHEMA}.inspections where ($1::date is null or inspected_on >= $1)"
            " and ($2::date is null or inspected_on < $2) order by inspected_on, id",
            since, until,
        )
        return [_decoded(r, "answers") for r in rows]

    async def last_inspected(self, program: str) -> dict[str, date]:
        rows = await self.conn.fetch(
            f"select establishment_id, max(inspected_on) as last from {SCHEMA}.inspections"
            " where program = $1 group by establishment_id",
            program,
        )
        return {r["establishment_id"]: r["last"] for r in rows}


class RedFlagRepository:
    def __init__(self, conn: Executor, ahead: ReadAhead | None = None) -> None:
        self.conn = conn
        self._ahead = ahead

    async def open_for(self, establishment_id: str) -> dict | None:
        """The establishment's open red flag, locked for this transaction."""
        if self._ahead and self._ahead.active and establishment_id in self._ahead.open_flags:
            found = self._ahead.open_flags[establishment_id]  # locked when read ahead
            return dict(found) if found is not None else None
        row = await self.conn.fetchrow(
            f"select * from {SCHEMA}.red_flags where establishment_id = $1 and status = 'open' for update",
            establishment_id,
        )
        return _decoded(row, "explanation")

    async def add(self, red_flag_id: uuid.UUID, establishment_id: str, level: str, score: float,
                  explanation: dict) -> None:
        if self._ahead and establishment_id in self._ahead.open_flags:
            self._ahead.wrote = True
            now = datetime.now().astimezone()
            self._ahead.open_flags[establishment_id] = {
                "id": red_flag_id, "establishment_id": establishment_id, "level": level, "score": score,
                "status": "open", "explanation": explanation, "raised_at": now, "updated_at": now}
        await self.conn.execute(
            f"insert into {SCHEMA}.red_flags (id, establishment_id, level, score, explanation)"
            " values ($1, $2, $3, $4, $5)",
            red_flag_id, establishment_id, level, score, json.dumps(explanation, default=str),
        )

    async def raise_level(self, red_flag_id: uuid.UUID, level: str, score: float, explanation: dict) -> None:
        for flag in (self._ahead.open_flags.values() if self._ahead else ()):
            if flag is not None and flag["id"] == red_flag_id:
                self._ahead.wrote = True
                flag |= {"level": level, "score": score, "explanation": explanation}
        await self.conn.execute(
            f"update {SCHEMA}.red_flags set level = $2, score = $3, explanation = $4, updated_at = now()"
            " where id = $1",
            red_flag_id, level, score, json.dumps(explanation, default=str),
        )

    async def latest(self, establishment_id: str) -> dict | None:
        """The open red flag, else the most recent one (read-only: no lock)."""
        row = await self.conn.fetchrow(
            f"select * from {SCHEMA}.red_flags where establishment_id = $1"
            " order by status = 'open' desc, raised_at desc limit 1",
            establishment_id,
        )
        return _decoded(row, "explanation")

    async def exists(self, red_flag_id: uuid.UUID) -> bool:
        return await self.conn.fetchval(f"select exists (select 1 from {SCHEMA}.red_flags where id = $1)",
                                        red_flag_id)

    async def contributing_inspection_ids(self) -> set[str]:
        """Every inspection that contributed to a red flag, as the flags' stored explanations name them."""
        rows = await self.conn.fetch(
            f"select jsonb_array_elements_text(explanation -> 'contributing_inspection_ids') as id"
            f" from {SCHEMA}.red_flags"
        )
        return {r["id"] for r in rows}


class FollowUpRepository:
    """Scheduled inspections outside the routine plan: automatic (red flag, failed sanitation) and requested."""

    def __init__(self, conn: Executor) -> None:
        self.conn = conn

    async def add_automatic(self, establishment_id: str, program: str, reason: str, due_on: date,
                            source_inspection_id: uuid.UUID, red_flag_id: uuid.UUID | None) -> uuid.UUID | None:
        """The new follow-up's id, or None when one for this establishment, program and reason is pending."""
        return await self.conn.fetchval(
            f"insert into {SCHEMA}.scheduled_inspections"
            " (id, establishment_id, program, reason, due_on, source_inspection_id, red_flag_id)"
            " values ($1, $2, $3, $4, $5, $6, $7)"
            " on conflict (establishment_id, program, reason) where status = 'scheduled' do nothing returning id",
            uuid.uuid4(), establishment_id, program, reason, due_on, source_inspection_id, red_flag_id,
        )

    async def add_requested(self, establishment_id: str, program: str, due_on: date, red_flag_id: uuid.UUID | None,
                            requested_by: str, idempotency_key: str | None) -> uuid.UUID | None:
        """The new follow-up's id, or None when a request with the same idempotency key scheduled one already,
        or one requested for this establishment and program is pending."""
        return await self.conn.fetchval(
            f"insert into {SCHEMA}.scheduled_inspections (id, establishment_id, program, reason, due_on, red_flag_id,"
            " requested_by, idempotency_key) values ($1, $2, $3, 'requested', $4, $5, $6, $7)"
            " on conflict do nothing returning id",
            uuid.uuid4(), establishment_id, program, due_on, red_flag_id, requested_by, idempotency_key,
        )

    async def get(self, scheduled_id: uuid.UUID) -> dict:
        return dict(await self.conn.fetchrow(f"select * from {SCHEMA}.scheduled_inspections where id = $1",
                                             scheduled_id))

    async def by_key(self, idempotency_key: str) -> dict | None:
        row = await self.conn.fetchrow(f"select * from {SCHEMA}.scheduled_inspections where idempotency_key = $1",
                                       idempotency_key)
        return dict(row) if row else None

    async def pending(self, establishment_id: str, program: str) -> dict | None:
        """A scheduled visit of this program, whatever led to it: one visit covers every reason."""
        row = await self.conn.fetchrow(
            f"select * from {SCHEMA}.scheduled_inspections where establishment_id = $1 and program = $2"
            " and status = 'scheduled' order by due_on limit 1", establishment_id, program)
        return dict(row) if row else None

    async def complete(self, establishment_id: str, program: str) -> None:
        await self.conn.execute(
            f"update {SCHEMA}.scheduled_inspections set status = 'done'"
            " where establishment_id = $1 and program = $2 and status = 'scheduled'",
            establishment_id, program,
        )

    async def due(self, program: str, until: date) -> list[dict]:
        rows = await self.conn.fetch(
            f"select id, establishment_id, program, reason, due_on, source_inspection_id, red_flag_id"
            f" from {SCHEMA}.scheduled_inspections where program = $1 and status = 'scheduled' and due_on < $2"
            " order by due_on, establishment_id",
            program, until,
        )
        return [dict(r) for r in rows]

    async def of_establishment(self, establishment_id: str) -> list[dict]:
        rows = await self.conn.fetch(
            f"select id, program, reason, due_on, status from {SCHEMA}.scheduled_inspections"
            " where establishment_id = $1 order by due_on, reason",
            establishment_id,
        )
        return [dict(r) for r in rows]


class ImportClaimRepository:
    """License numbers taken by earlier chunks of one registry import."""

    def __init__(self, conn: Executor) -> None:
        self.conn = conn

    async def claimed_lines(self, import_id: uuid.UUID, license_numbers: list[str]) -> dict[str, int]:
        rows = await self.conn.fetch(
            f"select license_number, line from {SCHEMA}.import_claims"
            " where import_id = $1 and license_number = any($2)",
            import_id, license_numbers,
        )
        return {r["license_number"]: r["line"] for r in rows}

    async def claim(self, import_id: uuid.UUID, claims: list[tuple[str, int]]) -> None:
        await self.conn.execute(
            f"insert into {SCHEMA}.import_claims (import_id, license_number, line)"
            " select $1, * from unnest($2::text[], $3::int[]) on conflict do nothing",
            import_id, [c[0] for c in claims], [c[1] for c in claims],
        )
