"""What a department receives: the event as a CloudEvent in the HTTP binding's structured mode, redacted.

The body is one JSON object with the CloudEvents attributes (``specversion``,
``id``, ``source``, ``type``, ``subject``, ``time``, ``datacontenttype``) and
``data``: only what the subscription's role may see. The same object is the
body of a webhook (``Content-Type: application/cloudevents+json``) and of an email.
"""

from __future__ import annotations

from datetime import UTC
from functools import lru_cache
from typing import Any

from pathways_contracts.catalog import load_catalog
from pathways_notification.domain.model import PendingDelivery
from pathways_notification.domain.redaction import redact

SPECVERSION = "1.0"
STRUCTURED_CONTENT_TYPE = "application/cloudevents+json"
DATA_CONTENT_TYPE = "application/json"


@lru_cache(maxsize=1)
def _dimensions() -> dict[str, str]:
    return {i.code: str(i.dimension) for i in load_catalog().indicators}


def dimension_of(code: str) -> str | None:
    """The catalog dimension of an indicator code; None (withheld by redaction) when unknown."""
    return _dimensions().get(code)


def structured_event(delivery: PendingDelivery) -> dict[str, Any]:
    """The redacted event for the delivery's subscription, as a structured-mode CloudEvent."""
    return {
        "specversion": SPECVERSION,
        "id": delivery.event_id,
        "source": delivery.source,
        "type": delivery.event_type,
        "subject": delivery.subject,
        "time": delivery.time.astimezone(UTC).isoformat().replace("+00:00", "Z"),
        "datacontenttype": DATA_CONTENT_TYPE,
        "data": redact(delivery.role, delivery.event_type, delivery.body, dimension_of),
    }
