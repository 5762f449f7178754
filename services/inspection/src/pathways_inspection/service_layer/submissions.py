"""Inspections that departmental systems send as ``inspection.submitted`` events instead of over HTTP.

The event becomes the same ``RecordInspection`` command as ``POST /inspections``
and goes to the same handler. A bad submission cannot become good by
retrying: the handler's ``InvalidCommand`` names every bad field, and the
consumer pipeline parks the event at once on ``inspection.submitted.dlq`` with
that reason, where ops can see it and the department can resend a fixed one.
A resubmission of a recorded inspection (same ``inspection_id``) changes nothing.
"""

from __future__ import annotations

from pathways_contracts import CloudEvent
from pathways_contracts.events import InspectionSubmitted
from pathways_inspection.service_layer.commands import RecordInspection, build
from pathways_inspection.service_layer.recording import record_inspection
from pathways_inspection.service_layer.unit_of_work import InspectionUnitOfWork


def command_of(event: InspectionSubmitted) -> RecordInspection:
    fields = event.model_dump(exclude={"source_system"}) | {"recorded_by": event.source_system}
    return build(RecordInspection, fields, loc=())


async def on_submitted(event: CloudEvent[InspectionSubmitted], uow: InspectionUnitOfWork) -> None:
    await record_inspection(command_of(event.data), uow)
