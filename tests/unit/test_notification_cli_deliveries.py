"""`pathways deliveries list|replay` speaks the notification API as documented (against a recording transport)."""

import httpx
import pytest
from typer.testing import CliRunner

from pathways_cli import deliveries
from pathways_cli.main import app

pytestmark = pytest.mark.unit
PARKED = {"id": "d-1", "department": "police", "channel": "webhook", "event_type": "case.opened",
          "status": "parked", "attempts": 6, "last_error": "HTTP 503"}


@pytest.fixture
def api(monkeypatch):
    seen: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        if request.method == "GET":
            return httpx.Response(200, json=[PARKED])
        if request.url.path == "/deliveries/missing/replay":
            return httpx.Response(409, json={"detail": "delivery missing is delivered"})
        return httpx.Response(200, json={"replayed": ["d-1"]})

    monkeypatch.setattr(deliveries, "client", lambda: httpx.Client(transport=httpx.MockTransport(answer),
                                                                    base_url="http://notification"))
    return seen


def test_list_asks_for_parked_deliveries_by_default(api):
    result = CliRunner().invoke(app, ["deliveries", "list"])
    assert result.exit_code == 0, result.output
    assert api[0].url.params["status"] == "parked" and "d-1" in result.output


def test_replay_one_delivery_or_a_whole_subscription(api):
    assert CliRunner().invoke(app, ["deliveries", "replay", "d-1"]).exit_code == 0
    assert CliRunner().invoke(app, ["deliveries", "replay", "--subscription-id", "s-9"]).exit_code == 0
    assert [r.url.path for r in api] == ["/deliveries/d-1/replay", "/deliveries/replay"]
    assert api[1].url.params["subscription_id"] == "s-9"


def test_replay_needs_exactly_one_target_and_reports_a_refusal(api):
    assert CliRunner().invoke(app, ["deliveries", "replay"]).exit_code != 0
    refused = CliRunner().invoke(app, ["deliveries", "replay", "missing"])
    assert refused.exit_code != 0 and api[-1].url.path == "/deliveries/missing/replay"
