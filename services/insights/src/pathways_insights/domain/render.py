"""Reports as text tables, CSV and small hand-written SVG charts (no plotting library to install or patch)."""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from xml.sax.saxutils import escape

from pathways_insights.domain.simulation import SimulationReport

CURRENT, PROPOSED = "#718096", "#2b6cb0"


def text_table(headers: Sequence[str], rows: Sequence[Sequence[object]], title: str = "") -> str:
    cells = [[str(h) for h in headers], *[["–" if v is None else str(v) for v in row] for row in rows]]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]
    lines = [title] if title else []
    for n, row in enumerate(cells):
        lines.append("  ".join(v.ljust(w) if i == 0 else v.rjust(w) for i, (v, w) in enumerate(zip(row, widths))))
        if n == 0:
            lines.append("  ".join("-" * w for w in widths))
    return "\n".join(lines) + "\n"


def _pct(rate: float | None) -> str:
    return "–" if rate is None else f"{rate:.1%}"


def simulation_text(report: SimulationReport) -> str:
    c, p = report.current, report.proposed
    parts = [
        f"Policy simulation {report.period_start} – {report.period_end}: {report.inspections} inspections of "
        f"{report.establishments} establishments\n"
        f"current: rules {', '.join(c.rules_versions) or '–'}, routing {', '.join(c.routing_versions) or '–'}   "
        f"proposed: rules {', '.join(p.rules_versions) or '–'}, routing {', '.join(p.routing_versions) or '–'}\n",
        text_table(["", "current", "proposed"], [
            ["red flags", c.red_flags, p.red_flags],
            *[[f"  {lv}", c.by_level.get(lv, 0), p.by_level.get(lv, 0)]
              for lv in sorted(c.by_level.keys() | p.by_level.keys())],
            ["days to first referral (median)", c.time_to_first_referral.median_days,
             p.time_to_first_referral.median_days],
            ["days to first referral (mean)", c.time_to_first_referral.mean_days,
             p.time_to_first_referral.mean_days],
        ]),
        text_table(["red flags", "added", "removed", "level changed"],
                   [["all", report.changes.added, report.changes.removed, report.changes.level_changed]]),
    ]
    for title, groups in (("establishment type", report.by_establishment_type), ("area", report.by_area),
                          ("program", report.by_program)):
        if groups:
            parts.append(text_table([title, "added", "removed", "level changed"],
                                    [[g.group, g.added, g.removed, g.level_changed] for g in groups]))
    parts.append(text_table(["referrals to", "current", "proposed", "difference"],
                            [[r.agency_kind, r.current, r.proposed, f"{r.difference:+d}"] for r in report.referrals]))
    for title, rates in (("area", report.equity_by_area), ("inspection reason", report.equity_by_reason)):
        parts.append(text_table([title, "inspections", "red-flag rate now", "proposed"],
                                [[r.group, r.inspections, _pct(r.current_rate), _pct(r.proposed_rate)]
                                 for r in rates]))
    return "\n".join(parts)


def grouped_bars_svg(title: str, labels: Sequence[str], series: Sequence[tuple[str, str, Sequence[float]]],
                     value_format: str = "{:g}") -> str:
    """Horizontal grouped bars: one group per label, one bar per series (name, colour, values)."""
    bar, gap, label_width, bar_width = 14, 10, 260, 380
    group_height = bar * len(series) + gap
    height = 70 + len(labels) * group_height
    width = label_width + bar_width + 90
    top = max([v for _, _, values in series for v in values] + [1e-9])
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" font-family="sans-serif" font-size="12">',
        f"<title>{escape(title)}</title>",
        f'<text x="10" y="22" font-size="15" font-weight="bold">{escape(title)}</text>',
    ]
    for n, (name, colour, _) in enumerate(series):
        x = 10 + n * 150
        parts.append(f'<rect x="{x}" y="32" width="12" height="12" fill="{colour}"/>'
                     f'<text x="{x + 18}" y="43">{escape(name)}</text>')
    for i, label in enumerate(labels):
        y0 = 56 + i * group_height
        parts.append(f'<text x="{label_width - 8}" y="{y0 + group_height / 2}" text-anchor="end">'
                     f"{escape(label)}</text>")
        for n, (name, colour, values) in enumerate(series):
            value = values[i]
            length = round(bar_width * value / top, 1)
            y = y0 + n * bar
            parts.append(f'<rect x="{label_width}" y="{y}" width="{length}" height="{bar - 2}" fill="{colour}">'
                         f"<title>{escape(name)}: {escape(value_format.format(value))}</title></rect>"
                         f'<text x="{label_width + length + 4}" y="{y + bar - 4}" font-size="10">'
                         f"{escape(value_format.format(value))}</text>")
    parts.append("</svg>")
    return "\n".join(parts) + "\n"


def simulation_svg(report: SimulationReport) -> str:
    """Red-flag rate per area and per inspection reason, now and under the proposal: the equity view."""
    rates = [*(("area " + r.group, r) for r in report.equity_by_area),
             *(("reason " + r.group, r) for r in report.equity_by_reason)]
    return grouped_bars_svg(
        f"Red-flag rate, {report.period_start} – {report.period_end}: current vs proposed",
        [label for label, _ in rates],
        [("current", CURRENT, [r.current_rate or 0.0 for _, r in rates]),
         ("proposed", PROPOSED, [r.proposed_rate or 0.0 for _, r in rates])],
        value_format="{:.1%}",
    )


def statistics_csv(rows: Sequence[dict]) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=["row", "column", "count"], extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({**row, "count": "suppressed" if row["count"] is None else row["count"]})
    return out.getvalue()


def statistics_svg(title: str, row_labels: Sequence[str], values: Sequence[Sequence[int | None]]) -> str:
    """The published row totals as bars (suppressed ones drawn as a hatched stub, labelled 'suppressed')."""
    totals = [row[-1] for row in values[:-1]]
    series_values = [float(v) if v is not None else 0.0 for v in totals]
    return grouped_bars_svg(title, [f"{label}{'' if t is not None else ' (suppressed)'}"
                                    for label, t in zip(row_labels, totals)],
                            [("published total", PROPOSED, series_values)], value_format="{:.0f}")
