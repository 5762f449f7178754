"""The confluent-kafka consumer of docs/consumer-without-the-kit.md, run as written against the live broker."""

from __future__ import annotations

import re
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

import pytest
from confluent_kafka import Consumer, TopicPartition

from pathways_consumer_kit import publish
from pathways_contracts.events import RedFlagRaised

pytestmark = pytest.mark.integration
DOC = Path(__file__).resolve().parents[2] / "docs" / "consumer-without-the-kit.md"


def _doc_code() -> dict:
    found = re.search(r"<!-- recipe:no-kit -->\s*```python\n(.*?)```", DOC.read_text(), re.DOTALL)
    assert found, "docs/consumer-without-the-kit.md lost its code block"
    namespace: dict = {}
    exec(compile(found.group(1), str(DOC), "exec"), namespace)  # noqa: S102 (our own documentation)
    return namespace


def _red_flag() -> RedFlagRaised:
    return RedFlagRaised(red_flag_id=uuid.uuid4(), establishment_id=f"est-{uuid.uuid4().hex[:8]}",
                         jurisdiction="doc", level="urgent", score=8.0, categories=["sex"],
                         indicator_codes=["SEX-LOCKED-DOORS"], contributing_inspection_ids=[uuid.uuid4()],
                         departments=["health-department"], rules_version="v1", raised_at=datetime.now(UTC))


async def test_the_documented_parser_reads_a_live_event_with_confluent_kafka(infrastructure):
    code = _doc_code()
    sent = await publish(_red_flag())
    # Partition assignment (no group) keeps the test quick on the embedded broker; run() uses a group.
    reader = Consumer({"bootstrap.servers": infrastructure.kafka, "group.id": "doc-test", "enable.auto.commit": False})
    metadata = reader.list_topics("redflag.raised", timeout=10).topics["redflag.raised"]
    reader.assign([TopicPartition("redflag.raised", p, 0) for p in metadata.partitions])
    try:
        found, deadline = None, time.monotonic() + 30
        while found is None and time.monotonic() < deadline:
            message = reader.poll(0.5)
            if message is not None and not message.error():
                event = code["to_event"](message)
                found = event if event["id"] == sent.id else None
    finally:
        reader.close()
    assert found is not None, "the event was not read"
    assert found["type"] == "redflag.raised" and found["subject"] == sent.subject
    assert found["data"]["level"] == "urgent" and found["time"].tzinfo is not None


def test_a_record_without_cloudevents_headers_is_refused():
    code = _doc_code()

    class Bare:
        def headers(self):
            return [("content-type", b"application/json")]

        def topic(self):
            return "redflag.raised"

        def value(self):
            return b"{}"

    with pytest.raises(code["NotAnEvent"]):
        code["to_event"](Bare())
