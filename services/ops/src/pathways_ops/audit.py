"""The console's own tables: the audit trail and what was done to each parked record. All SQL here."""

from __future__ import annotations

import json
from dataclasses import dataclass

import asyncpg

SCHEMA = "ops"


@dataclass(frozen=True)
class RecordRef:
    """A parked record, by where it sits on its dead-letter topic."""

    dlq_topic: str
    partition: int
    offset: int


class AuditRepository:
    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool

    async def record(self, actor: str, action: str, target: dict, why: str, outcome: str,
                     marks: list[RecordRef] = (), state: str | None = None) -> int:
        async with self._pool.acquire() as conn, conn.transaction():
            audit_id = await conn.fetchval(
                f"insert into {SCHEMA}.audit (actor, action, target, why, outcome) values ($1, $2, $3, $4, $5)"
                " returning id", actor, action, json.dumps(target), why, outcome)
            for ref in marks:
                await conn.execute(
                    f'insert into {SCHEMA}.dead_letter_actions (dlq_topic, partition, "offset", state, audit_id)'
                    ' values ($1, $2, $3, $4, $5) on conflict (dlq_topic, partition, "offset")'
                    " do update set state = excluded.state, audit_id = excluded.audit_id",
                    ref.dlq_topic, ref.partition, ref.offset, state, audit_id)
            return audit_id

    async def states(self) -> dict[RecordRef, str]:
        rows = await self._pool.fetch(f'select dlq_topic, partition, "offset", state from {SCHEMA}.dead_letter_actions')
        return {RecordRef(r["dlq_topic"], r["partition"], r["offset"]): r["state"] for r in rows}

    async def recent(self, limit: int = 200) -> list[dict]:
        rows = await self._pool.fetch(
            f"select id, at, actor, action, target, why, outcome from {SCHEMA}.audit order by id desc limit $1", limit)
        return [dict(r) | {"target": json.loads(r["target"])} for r in rows]

    async def processed(self, pairs: set[tuple[str, str]]) -> set[tuple[str, str]]:
        """Which (consumer group, event id) pairs some service's inbox holds: those events were handled."""
        if not pairs:
            return set()
        schemas = [r["table_schema"] for r in await self._pool.fetch(
            "select table_schema from information_schema.tables where table_name = 'inbox'"
            " and table_schema <> $1", SCHEMA)]
        groups, ids = [g for g, _ in pairs], [e for _, e in pairs]
        found: set[tuple[str, str]] = set()
        for schema in schemas:
            rows = await self._pool.fetch(
                f'select consumer_group, event_id from "{schema}".inbox'
                " where (consumer_group, event_id) in (select * from unnest($1::text[], $2::text[]))", groups, ids)
            found |= {(r["consumer_group"], r["event_id"]) for r in rows}
        return found
