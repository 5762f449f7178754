"""`pathways bench` (`make bench`): screening throughput over a large registry, as a table and as JSON.

It starts what it needs (an embedded PostgreSQL in a fresh temporary folder;
screening does not touch the broker, events wait in the outbox) and stops it.
"""

from __future__ import annotations

import asyncio
import json
import tempfile
from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

app = typer.Typer(help="Screening throughput: inspections screened per second over a large registry.",
                  invoke_without_command=True)
console = Console()


@app.callback()
def bench(
    establishments: int = typer.Option(100_000, help="Registry size."),
    history: float = typer.Option(3.0, help="Past-year inspections per establishment, on average."),
    count: int = typer.Option(5_000, help="New inspections to record and screen."),
    concurrency: int = typer.Option(8, help="Concurrent database connections recording inspections."),
    out: Path = typer.Option(Path("bench-results/screening.json"), help="Where the JSON results go."),
) -> None:
    """Inspections screened per second with cross-department fusion (record, fuse a year, decide)."""
    from pathways_cli.screening_bench import run  # the service's own use case, imported only here
    from pathways_runtime.embedded import EmbeddedPostgres

    with tempfile.TemporaryDirectory(prefix="pathways-bench-") as tmp:
        with console.status("starting PostgreSQL"):
            pg = EmbeddedPostgres(Path(tmp) / "pg").start()
        try:
            with console.status(f"loading {establishments:,} establishments and a year of history, then screening"):
                result = asyncio.run(run(pg.url, establishments, history, count, concurrency))
        finally:
            pg.stop()
    table = Table("measure", "value", title="Screening throughput")
    for key, value in result.items():
        table.add_row(key.replace("_", " "), f"{value:,}" if isinstance(value, int | float) else str(value))
    console.print(table)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n")
    console.print(f"wrote {out}")
