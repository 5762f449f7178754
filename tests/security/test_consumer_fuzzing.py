"""Property-based fuzzing of a consumer with malformed events.

Hypothesis builds records for ``inspection.submitted`` — the topic departmental systems write to —
from mutated valid ones: headers dropped, replaced by random bytes (not always UTF-8) or duplicated,
values truncated, replaced, re-typed or blown up. Each is produced raw with a marker header. The
inspection service must park every one on the DLQ with a reason (none of them is a valid submission
of a known establishment) and stay up: a good submission sent after them is recorded.
"""

from __future__ import annotations

import json
import uuid

import httpx
import pytest
from confluent_kafka import Producer
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pathways_runtime.auth import Role
from processes import System
from support import announce, bearer, eventually, read_all

pytestmark = pytest.mark.security
TOPIC = "inspection.submitted"
RECORDS = 120


def _valid(subject: str) -> tuple[dict[str, bytes], dict]:
    data = {"inspection_id": str(uuid.uuid4()), "establishment_id": subject, "department": "health-department",
            "program": "food_establishment", "reason": "routine", "inspected_on": "2026-11-03", "result": "pass",
            "indicator_codes": [], "source_system": "fuzz"}
    headers = {"ce_specversion": b"1.0", "ce_id": str(uuid.uuid4()).encode(), "ce_source": b"/fuzz",
               "ce_type": TOPIC.encode(), "ce_time": b"2026-11-03T10:00:00Z", "ce_subject": subject.encode(),
               "content-type": b"application/json",
               "ce_dataschema": f"urn:pathways:schema:{TOPIC}:v1".encode()}
    return headers, data


_junk = st.one_of(st.binary(max_size=40), st.text(max_size=40).map(str.encode),
                  st.sampled_from([b"", b"\xff\xfe", b"1.0", b"null", b"inspection.completed", b"\x00"]))
_json_junk = st.recursive(st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
                          lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children,
                                                                                            max_size=4), max_leaves=10)


@st.composite
def malformed(draw) -> tuple[list[tuple[str, bytes]], bytes | None]:
    # Unknown establishments throughout: even a record that happens to be well formed is refused (parked).
    headers, data = _valid(f"fuzz-nowhere-{draw(st.integers(0, 10**6))}")
    for name in draw(st.lists(st.sampled_from(sorted(headers)), max_size=3, unique=True)):
        if draw(st.booleans()):
            del headers[name]
        else:
            headers[name] = draw(_junk)
    for name in draw(st.lists(st.sampled_from(sorted(data)), max_size=3, unique=True)):
        data[name] = draw(_json_junk)
    value = draw(st.one_of(
        st.just(json.dumps(data).encode()),
        st.just(json.dumps(data).encode()[: draw(st.integers(0, 40))]),
        st.binary(max_size=200),
        _json_junk.map(lambda j: json.dumps(j).encode()),
        st.none(),
    ))
    return list(headers.items()), value


async def test_every_malformed_record_is_parked_with_a_reason_and_the_consumer_goes_on(system: System, broker):
    producer = Producer({"bootstrap.servers": broker.bootstrap_servers, "message.max.bytes": 2_000_000})
    markers: list[str] = []

    @settings(max_examples=RECORDS, deadline=None, database=None, suppress_health_check=list(HealthCheck))
    @given(record=malformed())
    def produce(record) -> None:
        headers, value = record
        marker = f"fuzz-{len(markers)}"
        markers.append(marker)
        producer.produce(TOPIC, value=value, key=b"fuzz", headers=[*headers, ("fault_marker", marker.encode())])

    produce()
    producer.flush(30)

    parked: dict[str, str] = {}

    async def all_parked() -> bool:
        parked.update({r.headers.get("fault_marker"): r.headers.get("dlq_reason")
                       for r in await read_all(broker.bootstrap_servers, f"{TOPIC}.dlq")})
        return all(parked.get(m) for m in markers)

    try:
        await eventually(all_parked, timeout=120, interval=1)
    except AssertionError:
        missing = [m for m in markers if not parked.get(m)]
        raise AssertionError(f"{len(missing)} of {len(markers)} malformed records neither handled nor parked: "
                             f"{missing[:10]}") from None
    reasons = sorted({reason.split(":")[0] for reason in parked.values() if reason})
    announce("consumer fuzzing: %d malformed records produced, %d parked with a reason; reason kinds: %s",
                len(markers), len([m for m in markers if parked.get(m)]), reasons)

    establishment = f"fuzz-real-{uuid.uuid4().hex[:6]}"
    async with httpx.AsyncClient(timeout=10) as http:
        assert (await http.post(f"{system.url('inspection')}/establishments",
                                headers=bearer(Role.INSPECTOR, "health-department"), json={
            "id": establishment, "license_number": f"LIC-{establishment}", "name": "Real Diner",
            "license_type": "food", "license_status": "active", "jurisdiction": "metro-county"})).status_code == 201
    headers, data = _valid(establishment)
    producer.produce(TOPIC, value=json.dumps(data).encode(), key=establishment.encode(), headers=list(headers.items()))
    producer.flush(10)

    async def recorded():
        return [r for r in await read_all(broker.bootstrap_servers, "inspection.completed")
                if json.loads(r.value)["inspection_id"] == data["inspection_id"]]

    assert await eventually(recorded, timeout=60), "the consumer stopped after the malformed records"
