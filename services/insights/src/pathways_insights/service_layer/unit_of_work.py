"""The insights unit of work: its projection and its release audit, on one transaction."""

from __future__ import annotations

import asyncpg

from pathways_insights.adapters.repository import ProjectionRepository, ReleaseRepository
from pathways_runtime.uow import PostgresUnitOfWork


class InsightsUnitOfWork(PostgresUnitOfWork):
    projection: ProjectionRepository
    releases: ReleaseRepository

    def bind(self, conn: asyncpg.Connection) -> None:
        self.projection = ProjectionRepository(conn, self.schema)
        self.releases = ReleaseRepository(conn, self.schema)
