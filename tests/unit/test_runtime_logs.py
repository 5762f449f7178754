"""Structured logs keep every field, carry the trace, and never a person's details (issue 9, item 7)."""

from __future__ import annotations

import io
import json
import logging

import pytest
import structlog
from opentelemetry.sdk.trace import TracerProvider

from pathways_contracts.privacy import PERSON_WORDS
from pathways_runtime.settings import Settings
from pathways_runtime.telemetry import REDACTED, json_formatter, setup_logging

pytestmark = pytest.mark.unit


@pytest.fixture
def log_lines():
    """A logger whose lines go through the service's formatter into a buffer, parsed back."""
    out = io.StringIO()
    handler = logging.StreamHandler(out)
    handler.setFormatter(json_formatter("notification"))
    logger = logging.getLogger("tests.logs")
    logger.handlers[:], logger.propagate = [handler], False
    logger.setLevel(logging.INFO)
    yield logger, lambda: [json.loads(line) for line in out.getvalue().splitlines()]
    logger.handlers.clear()


def test_every_extra_field_reaches_the_line_with_the_trace_ids(log_lines):
    logger, lines = log_lines
    fields = {"delivery_id": "d-1", "subscription_id": "s-9", "status_code": 503, "latency_ms": 41.5,
              "outcome": "retry", "anything_new": {"nested": [1, 2]}}
    with TracerProvider().get_tracer("tests").start_as_current_span("deliver") as span:
        logger.info("delivery attempted", extra=fields)
    (line,) = lines()
    assert {k: line[k] for k in fields} == fields
    assert line["message"] == "delivery attempted"
    assert (line["level"], line["logger"], line["service"]) == ("info", "tests.logs", "notification")
    assert line["trace_id"] == format(span.get_span_context().trace_id, "032x")
    assert line["span_id"] == format(span.get_span_context().span_id, "016x")


def test_person_data_is_redacted_by_the_bus_rule_at_any_depth(log_lines):
    logger, lines = log_lines
    logger.warning("odd payload", extra={"victim_name": "Jane Doe", "phoneNumber": "555-0100",
                                         "payload": {"establishment_id": "est-1", "people": [{"dob": "1990"}]},
                                         "items": [{"contact_email": "jane@example.org"}]})
    (line,) = lines()
    assert line["victim_name"] == REDACTED and line["phoneNumber"] == REDACTED
    assert line["payload"] == {"establishment_id": "est-1", "people": REDACTED}
    assert line["items"] == [{"contact_email": REDACTED}]
    assert "Jane" not in json.dumps(line) and "555-0100" not in json.dumps(line)


@pytest.mark.parametrize("word", sorted(PERSON_WORDS))
def test_every_word_of_the_shared_list_is_redacted(log_lines, word):
    logger, lines = log_lines
    logger.info("x", extra={f"worker_{word}": "secret"})
    assert lines()[0][f"worker_{word}"] == REDACTED


def test_an_exception_is_kept_as_text(log_lines):
    logger, lines = log_lines
    try:
        raise ValueError("boom")
    except ValueError:
        logger.exception("failed", extra={"event_id": "e-1"})
    (line,) = lines()
    assert "ValueError: boom" in line["exception"] and line["event_id"] == "e-1"


def test_structlog_loggers_write_the_same_lines(capsys):
    setup_logging(Settings(_env_file=None, OTEL_SERVICE_NAME="referral"))
    structlog.get_logger("tests.structlog").info("case opened", case_id="c-1", survivor_alias="J")
    line = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert (line["message"], line["case_id"], line["service"]) == ("case opened", "c-1", "referral")
    assert line["survivor_alias"] == REDACTED
