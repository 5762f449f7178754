"""The ops console's pure parts: trace timelines, sparklines, who may sign in, where sign-in may lead."""

from __future__ import annotations

import json

import jwt
import pytest
from fastapi import HTTPException

from pathways_ops.app import _safe_next
from pathways_ops.auth import check
from pathways_ops.history import History, sparkline
from pathways_ops.settings import OpsSettings
from pathways_ops.sources import ServiceStatus, traces
from pathways_runtime.auth import Role, issue_token
from pathways_runtime.settings import Settings

pytestmark = pytest.mark.unit
SECRET = "unit-secret-of-at-least-32-bytes-long"


def span(service, span_id, parent, kind, start_ms, end_ms, **attributes):
    return {"trace_id": "t" * 32, "span_id": span_id, "parent_id": parent, "name": f"{service} {kind}",
            "kind": kind, "service": service, "start": start_ms * 1_000_000, "end": end_ms * 1_000_000,
            "status": "UNSET", "attributes": attributes}


def test_a_trace_shows_each_hop_and_the_time_its_message_waited_in_the_queue(tmp_path):
    spans = [span("inspection", "a", None, "SERVER", 0, 100),
             span("inspection", "b", "a", "CLIENT", 10, 20, **{"db.system": "postgresql"}),
             span("inspection", "c", "a", "PRODUCER", 50, 60),
             span("referral", "d", "c", "CONSUMER", 260, 300, **{"pathways.subject": "case-1"})]
    (tmp_path / "all.jsonl").write_text("".join(json.dumps(s) + "\n" for s in spans))
    settings = OpsSettings(PATHWAYS_TRACE_DIR=str(tmp_path))

    [trace] = traces(settings, "case-1")
    assert trace.services == ["inspection", "referral"]
    assert [(r.service, r.kind, r.queued_ms) for r in trace.rows] == [
        ("inspection", "SERVER", None), ("inspection", "PRODUCER", None), ("referral", "CONSUMER", 200.0)]
    assert trace.total_ms == 300
    assert len(traces(settings, "case-1", with_database=True)[0].rows) == 4
    assert traces(settings, "nobody") == []


def test_overview_rates_come_from_consecutive_samples():
    history = History()
    for at, value in ((0, 0.0), (10, 50.0), (20, 50.0)):
        history.add([ServiceStatus("referral", "u", samples=[
            ("pathways_events_consumed_total", {"topic": "redflag.raised", "outcome": "processed"}, value)])], at)
    assert history.rate("consumed:redflag.raised") == [5.0, 0.0]
    assert "polyline" in sparkline(history.rate("consumed:redflag.raised"))
    assert "no data yet" in sparkline([])


def test_the_overview_follows_each_services_requests_refused_as_overloaded():
    history = History()
    for at, shed in ((0, 0.0), (5, 40.0)):
        history.add([ServiceStatus("inspection", "u", samples=[("pathways_http_requests_shed_total", {}, shed)]),
                     ServiceStatus("referral", "u")], at)
    assert history.rate("shed:inspection") == [8.0]
    assert history.values("shed:referral") == [0.0, 0.0]  # a service that never shed shows 0, not nothing


def test_only_an_ops_token_opens_the_console():
    settings = Settings(_env_file=None, PATHWAYS_JWT_SECRET=SECRET)
    assert check(settings, issue_token(SECRET, subject="on-call", role=Role.OPS, org="ops")).subject == "on-call"
    with pytest.raises(HTTPException) as refused:
        check(settings, issue_token(SECRET, subject="d", role=Role.DEPARTMENT, org="health-department"))
    assert refused.value.status_code == 403
    with pytest.raises(jwt.InvalidTokenError):
        check(settings, issue_token("another-secret-of-at-least-32-bytes", subject="x", role=Role.OPS, org="ops"))


@pytest.mark.parametrize(("target", "expected"), [
    ("/dead-letters?topic=a", "/dead-letters?topic=a"), ("https://elsewhere.example", "/"),
    ("//elsewhere.example/x", "/"), ("", "/")])
def test_sign_in_leads_only_to_a_page_of_the_console(target, expected):
    assert _safe_next(target) == expected
