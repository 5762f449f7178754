"""The overview's small time series: a sample of every service's counters and gauges every few seconds,
kept in memory (the last hour at most), drawn as inline SVG sparklines."""

from __future__ import annotations

import time
from collections import defaultdict, deque

from markupsafe import Markup

from pathways_ops.sources import ServiceStatus


class History:
    def __init__(self, keep: int = 360) -> None:
        self._series: dict[str, deque[tuple[float, float]]] = defaultdict(lambda: deque(maxlen=keep))

    def add(self, statuses: list[ServiceStatus], at: float | None = None) -> None:
        at = time.time() if at is None else at
        for key, value in observations(statuses).items():
            self._series[key].append((at, value))

    def rate(self, key: str) -> list[float]:
        """Per-second increase of a counter between consecutive samples (a restart counts as zero)."""
        points = list(self._series.get(key, ()))
        return [max(v2 - v1, 0) / max(t2 - t1, 1e-9) for (t1, v1), (t2, v2) in zip(points, points[1:])]

    def values(self, key: str) -> list[float]:
        return [v for _, v in self._series.get(key, ())]


def observations(statuses: list[ServiceStatus]) -> dict[str, float]:
    """The series the overview charts, from one scrape of every service."""
    seen: dict[str, float] = defaultdict(float)
    for s in statuses:
        for topic, n in s.total("pathways_events_consumed_total", by="topic", outcome="processed").items():
            seen[f"consumed:{topic}"] += n
        for topic, n in s.total("pathways_events_published_total", by="topic").items():
            seen[f"published:{topic}"] += n
        for group, n in s.total("pathways_consumer_lag_records", by="consumer_group").items():
            seen[f"lag:{group}"] += n
        for schema, n in s.total("pathways_outbox_backlog", by="schema").items():
            seen[f"backlog:{schema}"] += n
        seen[f"dead_letters:{s.name}"] += s.total("pathways_dead_letters_total")
        seen[f"shed:{s.name}"] += s.total("pathways_http_requests_shed_total")
    return dict(seen)


def sparkline(values: list[float], width: int = 120, height: int = 24) -> Markup:
    """An inline SVG polyline of ``values`` (the page needs nothing from the internet)."""
    if len(values) < 2:
        return Markup(f'<svg class="spark" width="{width}" height="{height}" role="img" aria-label="no data yet">'
                      f'<line x1="0" y1="{height - 1}" x2="{width}" y2="{height - 1}" /></svg>')
    top = max(values) or 1.0
    step = width / (len(values) - 1)
    points = " ".join(f"{i * step:.1f},{height - 1 - (v / top) * (height - 2):.1f}" for i, v in enumerate(values))
    return Markup(f'<svg class="spark" width="{width}" height="{height}" role="img" aria-label="last '
                  f'{len(values)} samples, peak {top:.3g}"><polyline points="{points}" /></svg>')
