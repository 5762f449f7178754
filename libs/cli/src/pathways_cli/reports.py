"""`pathways reports coverage` and `red-flag-rate`: the equity reports as tables, and coverage as an SVG chart."""

from __future__ import annotations

import asyncio
from pathlib import Path
from xml.sax.saxutils import escape

import typer
from rich.console import Console
from rich.table import Table

from pathways_cli.inspection_api import client

app = typer.Typer(help="Equity reports of the inspection service.", no_args_is_help=True)
console = Console()


async def fetch(path: str, params: dict, url: str | None, token_name: str) -> dict:
    async with client(token_name, url) as http:
        response = await http.get(path, params={k: v for k, v in params.items() if v is not None})
        response.raise_for_status()
        return response.json()


@app.command()
def coverage(
    period_start: str = typer.Option(None, help="YYYY-MM-DD (default: 1 January this year)."),
    period_days: int = typer.Option(365),
    jurisdiction: str = typer.Option(None),
    chart: Path = typer.Option(None, help="Also write a bar chart of the shares to this .svg file."),
    url: str = typer.Option(None, help="Inspection service URL (default: the local stack)."),
    token_name: str = typer.Option("OPS_TOKEN", "--token", help="Environment variable holding the token."),
) -> None:
    """Share of active establishments inspected in the period, per area and program."""
    params = {"period_start": period_start, "period_days": period_days, "jurisdiction": jurisdiction}
    report = asyncio.run(fetch("/reports/coverage", params, url, token_name))
    console.print(coverage_table(report))
    if chart:
        chart.write_text(coverage_svg(report), encoding="utf-8")
        console.print(f"wrote {chart}")


@app.command("red-flag-rate")
def red_flag_rate(
    period_start: str = typer.Option(None, help="YYYY-MM-DD (default: 1 January this year)."),
    period_days: int = typer.Option(365),
    url: str = typer.Option(None),
    token_name: str = typer.Option("OPS_TOKEN", "--token"),
) -> None:
    """Share of inspections per reason (routine vs complaint) that contributed to a red flag."""
    report = asyncio.run(fetch("/reports/red-flag-rate", {"period_start": period_start,
                                                           "period_days": period_days}, url, token_name))
    table = Table("reason", "inspections", "red-flagged", "rate",
                  title=f"Red-flag rate {report['period_start']} – {report['period_end']}")
    for row in report["rows"]:
        rate = "–" if row["rate"] is None else f"{row['rate']:.1%}"
        table.add_row(row["reason"], str(row["inspections"]), str(row["red_flagged"]), rate)
    console.print(table)


def coverage_table(report: dict) -> Table:
    table = Table("area", "program", "active", "inspected", "share",
                  title=f"Coverage {report['period_start']} – {report['period_end']}")
    for row in report["rows"]:
        table.add_row(row["area"], row["program"], str(row["active"]), str(row["inspected"]), f"{row['share']:.1%}")
    return table


BAR_HEIGHT, GAP, LABEL_WIDTH, BAR_WIDTH = 22, 6, 320, 400


def coverage_svg(report: dict) -> str:
    """A horizontal bar per (area, program): uniform bars are what equitable coverage looks like."""
    rows = report["rows"]
    height = 60 + len(rows) * (BAR_HEIGHT + GAP)
    width = LABEL_WIDTH + BAR_WIDTH + 80
    title = f"Routine coverage {report['period_start']} – {report['period_end']}"
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" font-family="sans-serif" font-size="12">',
        f'<title>{escape(title)}</title>',
        f'<text x="10" y="24" font-size="16" font-weight="bold">{escape(title)}</text>',
    ]
    for i, row in enumerate(rows):
        parts += _bar(i, row)
    x100 = LABEL_WIDTH + BAR_WIDTH
    parts.append(f'<line x1="{x100}" y1="40" x2="{x100}" y2="{height - 10}" stroke="#999" stroke-dasharray="4 3"/>')
    parts.append("</svg>")
    return "\n".join(parts) + "\n"


def _bar(i: int, row: dict) -> list[str]:
    y = 44 + i * (BAR_HEIGHT + GAP)
    length = round(BAR_WIDTH * max(0.0, min(1.0, row["share"])), 1)
    label = f"{row['area']} · {row['program']}"
    return [
        f'<text x="{LABEL_WIDTH - 8}" y="{y + 15}" text-anchor="end">{escape(label)}</text>',
        f'<rect x="{LABEL_WIDTH}" y="{y}" width="{length}" height="{BAR_HEIGHT}" fill="#2b6cb0">'
        f'<title>{row["inspected"]} of {row["active"]}</title></rect>',
        f'<text x="{LABEL_WIDTH + length + 6}" y="{y + 15}">{row["share"]:.0%} ({row["inspected"]}/{row["active"]})</text>',
    ]
