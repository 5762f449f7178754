"""CloudEvents 1.0 Kafka protocol binding, binary content mode.

The event's attributes travel as ``ce_*`` headers, ``content-type`` says the
value is JSON, and the value is the event's data alone. Any department's
system, in any language, reads it with a stock Kafka client and a
CloudEvents SDK.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Generic, TypeVar

from pydantic import ValidationError

from pathways_contracts.base import Event, event_class

SPECVERSION = "1.0"
CONTENT_TYPE = "application/json"
REQUIRED_HEADERS = ("ce_specversion", "ce_id", "ce_source", "ce_type", "ce_time", "ce_subject")


class InvalidEvent(ValueError):
    """A Kafka record that is not a valid Pathways event; ``reason`` says why."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


E = TypeVar("E", bound=Event)


@dataclass(frozen=True)
class CloudEvent(Generic[E]):
    """One event: its CloudEvents attributes and its typed data (``CloudEvent[RedFlagRaised]``)."""

    data: E
    source: str
    id: str = field(default_factory=lambda: str(uuid.uuid4()))
    time: datetime = field(default_factory=lambda: datetime.now(UTC))

    @property
    def type(self) -> str:
        return self.data.event_type

    @property
    def subject(self) -> str:
        return self.data.subject

    @property
    def key(self) -> bytes:
        """The Kafka partition key: the subject."""
        return self.subject.encode()

    def headers(self) -> dict[str, str]:
        return {
            "ce_specversion": SPECVERSION,
            "ce_id": self.id,
            "ce_source": self.source,
            "ce_type": self.type,
            "ce_time": self.time.isoformat().replace("+00:00", "Z"),
            "ce_subject": self.subject,
            "ce_dataschema": self.data.dataschema(),
            "content-type": CONTENT_TYPE,
        }

    def value(self) -> bytes:
        return self.data.model_dump_json().encode()


def encode(event: CloudEvent) -> tuple[bytes, bytes, dict[str, str]]:
    """``(key, value, headers)`` for a Kafka record in binary mode."""
    return event.key, event.value(), event.headers()


def _text_headers(headers: Any) -> dict[str, str]:
    items = headers.items() if isinstance(headers, dict) else headers or ()
    out: dict[str, str] = {}
    for name, raw in items:
        out[name] = raw.decode("utf-8", "replace") if isinstance(raw, bytes | bytearray) else str(raw)
    return out


def decode(headers: Any, value: bytes | None, expected_type: str | None = None) -> CloudEvent:
    """Parse and validate a Kafka record; raise ``InvalidEvent`` naming what is wrong."""
    h = _text_headers(headers)
    missing = [name for name in REQUIRED_HEADERS if not h.get(name)]
    if missing:
        raise InvalidEvent(f"missing CloudEvents header(s): {', '.join(missing)}")
    if h["ce_specversion"] != SPECVERSION:
        raise InvalidEvent(f"unsupported ce_specversion {h['ce_specversion']!r}")
    if h.get("content-type", CONTENT_TYPE).split(";")[0].strip() != CONTENT_TYPE:
        raise InvalidEvent(f"unsupported content-type {h['content-type']!r}")
    if expected_type is not None and h["ce_type"] != expected_type:
        raise InvalidEvent(f"ce_type {h['ce_type']!r} on the topic of {expected_type!r}")
    try:
        model = event_class(h["ce_type"])
    except KeyError:
        raise InvalidEvent(f"unknown event type {h['ce_type']!r}") from None
    if h.get("ce_dataschema") and h["ce_dataschema"] != model.dataschema():
        # Another major version of the schema: this consumer cannot read it safely (park it, upgrade, replay).
        raise InvalidEvent(f"unsupported schema version {h['ce_dataschema']!r} (this consumer reads "
                           f"{model.dataschema()!r})")
    try:  # parsed and validated in one pass (pydantic's own parser: half the time of json.loads + validate)
        data = model.model_validate_json(value or b"")
    except ValidationError as exc:
        if exc.errors()[0]["type"] == "json_invalid":
            raise InvalidEvent(f"value is not JSON: {exc.errors()[0]['msg']}") from None
        raise InvalidEvent(f"schema violation: {_describe(exc)}") from None
    try:
        time = datetime.fromisoformat(h["ce_time"].replace("Z", "+00:00"))
    except ValueError:
        raise InvalidEvent(f"ce_time {h['ce_time']!r} is not RFC 3339") from None
    if data.subject != h["ce_subject"]:
        raise InvalidEvent(f"ce_subject {h['ce_subject']!r} does not match the data ({data.subject!r})")
    return CloudEvent(data=data, source=h["ce_source"], id=h["ce_id"], time=time)


def _describe(exc: ValidationError) -> str:
    return "; ".join(
        f"{'.'.join(str(p) for p in err['loc']) or '(root)'}: {err['msg']}" for err in exc.errors()
    )
