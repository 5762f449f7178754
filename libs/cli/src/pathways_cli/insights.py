"""`pathways simulate` and `pathways stats`: the insights service's simulation and statistics, from a shell.

Both call the service's HTTP API (one code path with the API), with a token from the environment or a
development token: `simulate` as the triage team (TRIAGE_TOKEN), `stats` as ops (OPS_TOKEN), or as a
researcher with `--token RESEARCHER_TOKEN`.
"""

from __future__ import annotations

import asyncio
import json
import os
from datetime import date
from pathlib import Path

import httpx
import typer
from rich.console import Console

from pathways_cli import stack
from pathways_cli.inspection_api import token

console = Console()


def insights_url() -> str:
    return os.environ.get("PATHWAYS_INSIGHTS_URL") or next(s.url for s in stack.services() if s.name == "insights")


async def _call(method: str, path: str, token_name: str, url: str | None, **kwargs) -> httpx.Response:
    async with httpx.AsyncClient(base_url=url or insights_url(), timeout=300,
                                 headers={"Authorization": f"Bearer {token(token_name)}"}) as http:
        response = await http.request(method, path, **kwargs)
    if response.status_code >= 400:
        console.print(f"[red]{response.status_code}[/] {response.text}")
        raise typer.Exit(1)
    return response


def _read_json(path: Path | None, what: str) -> dict | None:
    if path is None:
        return None
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise typer.BadParameter(f"{path}: {exc}", param_hint=what) from exc


def simulate(
    rules: Path = typer.Option(None, "--rules", help="A proposed screening rules file (policy/screening format)."),
    routing: Path = typer.Option(None, "--routing", help="A proposed routing policy file (policy/routing format)."),
    period_start: str = typer.Option(None, "--from", help="YYYY-MM-DD (default: 1 January this year)."),
    period_end: str = typer.Option(None, "--to", help="YYYY-MM-DD (default: 31 December this year)."),
    jurisdiction: str = typer.Option(None, help="Only this jurisdiction's establishments."),
    as_json: bool = typer.Option(False, "--json", help="Print the report as JSON instead of tables."),
    chart: Path = typer.Option(None, help="Also write the equity chart (SVG) to this file."),
    url: str = typer.Option(None, help="Insights service URL (default: the local stack)."),
    token_name: str = typer.Option("TRIAGE_TOKEN", "--token", help="Environment variable holding the token."),
) -> None:
    """Replay a past period through the current rules and proposed ones: nothing is emitted or written."""
    if rules is None and routing is None:
        raise typer.BadParameter("give --rules, --routing or both")
    year = date.today().year
    body = {"period_start": period_start or f"{year}-01-01", "period_end": period_end or f"{year}-12-31",
            "jurisdiction": jurisdiction, "proposed_rules": _read_json(rules, "--rules"),
            "proposed_routing": _read_json(routing, "--routing")}

    async def go() -> None:
        fmt = "json" if as_json else "text"
        response = await _call("POST", "/simulations", token_name, url, params={"format": fmt}, json=body)
        print(response.text)
        if chart:
            svg = await _call("POST", "/simulations", token_name, url, params={"format": "svg"}, json=body)
            chart.write_text(svg.text, encoding="utf-8")
            console.print(f"wrote {chart}")

    asyncio.run(go())


def stats(
    measure: str = typer.Option("referrals", help="inspections, red_flags, cases_opened, cases_closed, referrals, "
                                                  "referrals_accepted/declined/expired/completed, "
                                                  "victim_service_engaged."),
    rows: list[str] = typer.Option(None, "--row", help="A row dimension (repeat): quarter, area, program, "
                                                       "category, agency_kind."),
    column: str = typer.Option(None, help="The column dimension."),
    period_start: str = typer.Option(None, "--from"),
    period_end: str = typer.Option(None, "--to"),
    k: int = typer.Option(None, help="Publish no count under k (at least the configured k, never under 11)."),
    fmt: str = typer.Option("csv", "--format", help="csv, json or svg."),
    out: Path = typer.Option(None, help="Write to this file instead of printing."),
    url: str = typer.Option(None),
    token_name: str = typer.Option("OPS_TOKEN", "--token"),
) -> None:
    """A k-anonymous release of counts (complementary suppression; the release is audited)."""
    params = {"measure": measure, "column": column, "period_start": period_start, "period_end": period_end,
              "k": k, "format": fmt}
    query = [(key, v) for key, v in params.items() if v is not None] + [("rows", r) for r in rows or []]

    async def go() -> None:
        response = await _call("GET", "/statistics", token_name, url, params=query)
        if out:
            out.write_text(response.text, encoding="utf-8")
            console.print(f"wrote {out}")
        else:
            print(response.text)

    asyncio.run(go())


def bench_simulation(
    establishments: int = typer.Option(100_000, help="Registry size."),
    per_year: float = typer.Option(3.0, help="Inspections per establishment in the year, on average."),
    out: Path = typer.Option(Path("bench-results/simulation.json"), help="Where the JSON results go."),
) -> None:
    """Policy simulation speed: a year of a registry replayed through the current and a lower threshold."""
    from rich.table import Table

    from pathways_insights.bench import run  # the service's own replay, imported only here

    with console.status(f"generating a year of {establishments:,} establishments and replaying it twice"):
        result = run(establishments, per_year)
    table = Table("measure", "value", title="Policy simulation")
    for key, value in result.items():
        table.add_row(key.replace("_", " "), f"{value:,}" if isinstance(value, int | float) else str(value))
    console.print(table)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n")
    console.print(f"wrote {out}")
