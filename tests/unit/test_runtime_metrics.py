"""Metric labels stay bounded: reason classes, route templates; never free text or ids."""

from __future__ import annotations

import httpx
import pytest
from fastapi import FastAPI
from prometheus_client import REGISTRY

from pathways_runtime import metrics

pytestmark = pytest.mark.unit


@pytest.mark.parametrize(("reason", "expected"), [
    ("invalid event: missing header ce_id", "invalid_event"),
    ("unprocessable: inspected_on: date in the future", "unprocessable"),
    ("handler error: RaiseException('boom')", "handler_error"),
    ("Something else entirely: with a colon", "other"),
])
def test_a_dead_letter_reason_becomes_its_class_never_its_text(reason, expected):
    assert metrics.reason_class(reason) == expected


def test_parking_counts_the_dead_letter_and_the_groups_outcome():
    def value(name, **labels):
        return REGISTRY.get_sample_value(name, labels) or 0.0

    before = (value("pathways_dead_letters_total", topic="unit.topic", reason_class="handler_error"),
              value("pathways_events_consumed_total", topic="unit.topic", consumer_group="g", outcome="parked"),
              value("pathways_events_consumed_total", topic="unit.topic", consumer_group="g", outcome="invalid"))
    metrics.parked("unit.topic", "g", "handler error: ValueError('person named X')")
    metrics.parked("unit.topic", "g", "invalid event: bad json")
    after = (value("pathways_dead_letters_total", topic="unit.topic", reason_class="handler_error"),
             value("pathways_events_consumed_total", topic="unit.topic", consumer_group="g", outcome="parked"),
             value("pathways_events_consumed_total", topic="unit.topic", consumer_group="g", outcome="invalid"))
    assert [a - b for a, b in zip(after, before, strict=True)] == [1, 1, 1]


async def test_http_requests_are_labelled_by_route_template_not_by_the_id_in_the_path():
    app = FastAPI()

    @app.get("/things/{thing_id}")
    async def thing(thing_id: str) -> dict:
        return {"id": thing_id}

    app.add_middleware(metrics.HttpMetricsMiddleware)
    labels = {"http_request_method": "GET", "http_route": "/things/{thing_id}", "http_response_status_code": "200"}
    before = REGISTRY.get_sample_value("http_server_requests_total", labels) or 0.0
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app), base_url="http://t") as http:
        assert (await http.get("/things/abc-123")).status_code == 200
        assert (await http.get("/nowhere/xyz")).status_code == 404
    assert REGISTRY.get_sample_value("http_server_requests_total", labels) == before + 1
    unmatched = {"http_request_method": "GET", "http_route": "unmatched", "http_response_status_code": "404"}
    assert REGISTRY.get_sample_value("http_server_requests_total", unmatched) >= 1
    exposed = metrics.generate_latest(REGISTRY).decode()
    assert "abc-123" not in exposed and "xyz" not in exposed


def test_consumer_lag_is_measured_for_each_group_on_the_topics_it_subscribed():
    from types import SimpleNamespace

    from faststream.kafka import KafkaBroker

    broker = KafkaBroker()
    broker.subscriber("redflag.raised", group_id="referral.redflag.raised")(lambda body: None)
    broker.subscriber("a.one", "a.two", group_id="notification")(lambda body: None)
    assert metrics.subscriptions(SimpleNamespace(broker=broker)) == {
        "referral.redflag.raised": ["redflag.raised"], "notification": ["a.one", "a.two"]}
