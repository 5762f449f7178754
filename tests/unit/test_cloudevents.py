"""The CloudEvents binary-mode binding: what goes on the wire, and what is refused."""

import json
import uuid
from datetime import UTC, date, datetime

import pytest

from pathways_contracts import CloudEvent, InvalidEvent, decode, encode
from pathways_contracts.events import InspectionCompleted

pytestmark = pytest.mark.unit


def _inspection() -> InspectionCompleted:
    return InspectionCompleted(
        inspection_id=uuid.uuid4(), establishment_id="EST-1", jurisdiction="olmsted", department="health",
        program="massage_establishment", reason="routine", inspected_on=date(2026, 5, 1), result="fail",
        indicator_codes=["SX-FORENSIC-LIGHT-POSITIVE"],
    )


def test_binary_mode_headers_key_and_value():
    event = CloudEvent(data=_inspection(), source="/pathways/inspection", time=datetime(2026, 5, 1, tzinfo=UTC))
    key, value, headers = encode(event)
    assert key == b"EST-1"
    assert headers["ce_type"] == "inspection.completed"
    assert headers["ce_subject"] == "EST-1"
    assert headers["ce_specversion"] == "1.0"
    assert headers["ce_time"] == "2026-05-01T00:00:00Z"
    assert headers["ce_dataschema"] == "urn:pathways:schema:inspection.completed:v1"
    assert headers["content-type"] == "application/json"
    assert json.loads(value)["establishment_id"] == "EST-1"


def test_round_trip():
    event = CloudEvent(data=_inspection(), source="/pathways/inspection")
    _, value, headers = encode(event)
    back = decode([(k, v.encode()) for k, v in headers.items()], value, expected_type="inspection.completed")
    assert back.id == event.id and back.data == event.data


@pytest.mark.parametrize(
    ("mutate", "reason"),
    [
        (lambda h, v: (h | {"ce_type": "nope.unknown"}, v), "unknown event type"),
        (lambda h, v: ({k: x for k, x in h.items() if k != "ce_id"}, v), "missing CloudEvents header"),
        (lambda h, v: (h, b"{not json"), "not JSON"),
        (lambda h, v: (h, json.dumps({**json.loads(v), "program": "casino"}).encode()), "program"),
        (lambda h, v: (h | {"ce_subject": "EST-2"}, v), "does not match"),
        (lambda h, v: (h | {"ce_dataschema": "urn:pathways:schema:inspection.completed:v2"}, v),
         "unsupported schema version"),
    ],
)
def test_invalid_records_are_named(mutate, reason):
    _, value, headers = encode(CloudEvent(data=_inspection(), source="/x"))
    bad_headers, bad_value = mutate(headers, value)
    with pytest.raises(InvalidEvent, match=reason):
        decode(bad_headers, bad_value)


def test_wrong_topic_type_is_refused():
    _, value, headers = encode(CloudEvent(data=_inspection(), source="/x"))
    with pytest.raises(InvalidEvent, match="on the topic of"):
        decode(headers, value, expected_type="redflag.raised")
