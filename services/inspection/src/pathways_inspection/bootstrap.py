"""Composition root of the inspection service: ``bootstrap()`` builds it; importing this module starts nothing."""

from __future__ import annotations

from pathlib import Path

from pathways_contracts.events import (
    EstablishmentCertificationChanged,
    InspectionCompleted,
    InspectionScheduled,
    InspectionSubmitted,
    RedFlagEscalated,
    RedFlagRaised,
)
from pathways_inspection.service_layer.submissions import on_submitted
from pathways_inspection.service_layer.unit_of_work import InspectionUnitOfWork
from pathways_inspection.settings import InspectionSettings
from pathways_runtime.service import Service

DESCRIPTION = ("Every department's inspections of licensed establishments, and the screening that turns what "
               "inspectors saw into red flags.")


def bootstrap(settings: InspectionSettings | None = None) -> Service:
    service = Service("inspection", schema="inspection", migrations=Path(__file__).parent / "migrations",
                      description=DESCRIPTION, settings=settings or InspectionSettings(),
                      unit_of_work=InspectionUnitOfWork)
    service.declare_publisher(InspectionCompleted, title="inspection.completed",
                              description="An inspector recorded an inspection (indicator codes, no person data).")
    service.declare_publisher(RedFlagRaised, title="redflag.raised",
                              description="Screening of every department's recent inspections of an establishment "
                                          "reached the red-flag level.")
    service.declare_publisher(RedFlagEscalated, title="redflag.escalated",
                              description="An open red flag's level went up.")
    service.declare_publisher(InspectionScheduled, title="inspection.scheduled",
                              description="A follow-up inspection was scheduled after a red flag or a failed "
                                          "sanitation item.")
    service.declare_publisher(EstablishmentCertificationChanged, title="establishment.certification_changed",
                              description="A lodging establishment's Clean Hotels certification changed.")
    # The handler table: event type -> the use case it feeds.
    service.consumers.on(InspectionSubmitted, title="Record a submitted inspection",
                         description="Departmental systems may send inspections as events; they are validated "
                                     "like HTTP ones, and a bad one is parked on the DLQ with the reason.",
                         )(on_submitted)
    return service
