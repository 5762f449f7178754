"""Composition root of the insights service: ``bootstrap(settings) -> Service``; nothing happens at import."""

from __future__ import annotations

from pathlib import Path

from pathways_insights.settings import InsightsSettings
from pathways_runtime.service import Service

DESCRIPTION = ("Policy simulation and k-anonymous statistics, from its own projection of the bus: establishment-, "
               "case- and referral-level facts only. It emits nothing.")


def bootstrap(settings: InsightsSettings | None = None) -> Service:
    from pathways_insights.entrypoints.consumers import CONSUMED, on_event
    from pathways_insights.service_layer.unit_of_work import InsightsUnitOfWork

    service = Service("insights", schema="insights", migrations=Path(__file__).parent / "migrations",
                      description=DESCRIPTION, settings=settings or InsightsSettings(),
                      unit_of_work=InsightsUnitOfWork)
    # One consumer of every topic it reads: one group join instead of one per topic.
    service.consumers.on_each(CONSUMED, title="Project for simulation and statistics",
                              description="Records inspections, red flags, cases and referral steps (ids, codes, "
                                          "areas, programs, days: never a person) in the insights projection.",
                              )(on_event)
    return service
