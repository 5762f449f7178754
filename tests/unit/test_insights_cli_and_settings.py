"""`pathways simulate` / `pathways stats` send what they are given, and k is configurable but never under 11."""

from __future__ import annotations

import json

import pytest
from pydantic import ValidationError
from typer.testing import CliRunner

from pathways_cli import insights as cli
from pathways_cli.main import app
from pathways_insights.settings import InsightsSettings

pytestmark = pytest.mark.unit


class _Response:
    text = "ok"


@pytest.fixture
def calls(monkeypatch) -> list[tuple]:
    sent: list[tuple] = []

    async def call(method, path, token_name, url, **kwargs):
        sent.append((method, path, token_name, kwargs))
        return _Response()

    monkeypatch.setattr(cli, "_call", call)
    return sent


def test_simulate_sends_the_proposed_files_and_the_period(calls, tmp_path):
    rules = tmp_path / "rules.json"
    rules.write_text(json.dumps({"version": "proposed"}))
    result = CliRunner().invoke(app, ["simulate", "--rules", str(rules), "--from", "2026-01-01", "--to", "2026-06-30",
                                      "--chart", str(tmp_path / "equity.svg")])
    assert result.exit_code == 0, result.output
    [(method, path, token, text), (_, _, _, svg)] = calls
    assert (method, path, token) == ("POST", "/simulations", "TRIAGE_TOKEN")
    assert text["params"] == {"format": "text"} and svg["params"] == {"format": "svg"}
    assert text["json"] == {"period_start": "2026-01-01", "period_end": "2026-06-30", "jurisdiction": None,
                            "proposed_rules": {"version": "proposed"}, "proposed_routing": None}
    assert (tmp_path / "equity.svg").read_text() == "ok"


def test_simulate_needs_a_proposal_and_readable_json(calls, tmp_path):
    assert CliRunner().invoke(app, ["simulate"]).exit_code != 0
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    result = CliRunner().invoke(app, ["simulate", "--routing", str(bad)])
    assert result.exit_code != 0 and "--routing" in result.output
    assert calls == []


def test_stats_sends_the_dimensions_and_the_token_named(calls):
    result = CliRunner().invoke(app, ["stats", "--measure", "inspections", "--row", "quarter", "--row", "area",
                                      "--column", "category", "--k", "15", "--token", "RESEARCHER_TOKEN"])
    assert result.exit_code == 0, result.output
    [(method, path, token, kwargs)] = calls
    assert (method, path, token) == ("GET", "/statistics", "RESEARCHER_TOKEN")
    assert kwargs["params"] == [("measure", "inspections"), ("column", "category"), ("k", 15), ("format", "csv"),
                                ("rows", "quarter"), ("rows", "area")]


def test_k_is_configurable_upwards_and_never_under_eleven():
    assert InsightsSettings().k_anonymity == 11
    assert InsightsSettings(PATHWAYS_INSIGHTS_K=20).k_anonymity == 20
    with pytest.raises(ValidationError):
        InsightsSettings(PATHWAYS_INSIGHTS_K=10)


def test_imminent_danger_rules_are_read_as_the_referral_service_reads_them():
    assert InsightsSettings(PATHWAYS_REFERRAL_IMMINENT_DANGER_RULES="HR-A, HR-B,").imminent_danger_rules == {
        "HR-A", "HR-B"}
