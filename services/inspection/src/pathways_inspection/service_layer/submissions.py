"""Inspections that departmental systems send as ``inspection.submitted`` events instead of over HTTP.

Same validation as the HTTP API. A bad submission cannot become good by
retrying, so the handler raises ``InvalidSubmission`` (``Unprocessable``) naming every bad field;
the consumer pipeline parks it at once on ``inspection.submitted.dlq`` with that
reason, where ops can see it and the department can resend a fixed one.
"""

from __future__ import annotations

from pathways_contracts import CloudEvent
from pathways_contracts.events import InspectionSubmitted
from pathways_inspection.adapters import repository as repo
from pathways_inspection.service_layer.recording import record_inspection
from pathways_inspection.service_layer.validation import check_inspection
from pathways_runtime.errors import Unprocessable
from pathways_runtime.uow import PostgresUnitOfWork


class InvalidSubmission(Unprocessable):
    """The reason names each bad field as ``field.path: why``."""


async def on_submitted(envelope: CloudEvent[InspectionSubmitted], uow: PostgresUnitOfWork) -> None:
    """Validate and record a submitted inspection (a resubmission of a recorded one is ignored)."""
    event = envelope.data
    checked = check_inspection(event.program, event.result, event.indicator_codes, event.answers,
                               event.checklist_version)
    if checked.problems:
        raise InvalidSubmission("; ".join(f"{'.'.join(map(str, p.loc))}: {p.msg}" for p in checked.problems))
    establishment = await repo.get_establishment(uow.conn, event.establishment_id)
    if establishment is None:
        raise InvalidSubmission(f"establishment_id: no establishment {event.establishment_id!r} in the registry")
    if await repo.inspection_exists(uow.conn, event.inspection_id):
        return
    inspection = event.model_dump() | {"id": event.inspection_id, "recorded_by": event.source_system,
                                       "indicator_codes": checked.indicator_codes,
                                       "checklist_version": checked.checklist_version}
    await record_inspection(uow, inspection, establishment, checked.sanitation_failed)
