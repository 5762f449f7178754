"""`pathways establishments import FILE`: a license registry into the inspection service, with a progress bar.

The file is sent in chunks of whole CSV records, each with the header, to the
service's ``POST /establishments/import``: one code path for the API and the
CLI, and the bar moves as the service accepts each chunk. Line numbers in the
report are the file's own (each chunk says where it starts), and chunks share an
import id so that a duplicate license number in a later chunk is still reported.
"""

from __future__ import annotations

import asyncio
import csv
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from pathways_cli.inspection_api import client

app = typer.Typer(help="The establishment registry of the inspection service.", no_args_is_help=True)
console = Console()
CHUNK_RECORDS = 1000


@dataclass(frozen=True)
class Chunk:
    text: str  # the header line, then whole records exactly as in the file
    first_line: int  # the file's line number of the chunk's first record
    records: int


@dataclass
class Report:
    accepted: int = 0
    created: int = 0
    updated: int = 0
    rejects: list[dict] = field(default_factory=list)

    def add(self, part: dict) -> None:
        self.accepted += part["accepted"]
        self.created += part["created"]
        self.updated += part["updated"]
        self.rejects += part["rejects"]


def chunks(lines: list[str], size: int = CHUNK_RECORDS) -> Iterator[Chunk]:
    """Split at record boundaries (a quoted field may span lines), keeping the raw text of each record."""
    if not lines:
        yield Chunk("", 1, 0)
        return
    header, position = lines[0], 1
    buffer: list[str] = []
    first_line, count = 2, 0
    reader = csv.reader(_consumed(lines, 1, buffer))
    for _ in reader:
        count += 1
        if count == size:
            yield Chunk(header + "".join(buffer), first_line, count)
            position += len(buffer)
            first_line, count = position + 1, 0
            buffer.clear()
    if count or first_line == 2:
        yield Chunk(header + "".join(buffer), first_line, count)


def _consumed(lines: list[str], start: int, buffer: list[str]) -> Iterator[str]:
    for line in lines[start:]:
        buffer.append(line)
        yield line


async def import_file(http: httpx.AsyncClient, path: Path, mapping: list[str],
                      advance: Callable[[int], None] = lambda n: None, headers: dict | None = None) -> Report:
    """Send the file chunk by chunk; a chunk the service refuses as a whole stops the import with its reason."""
    lines = path.read_text(encoding="utf-8-sig").splitlines(keepends=True)
    report = Report()
    import_id = str(uuid.uuid4())  # lets the service see duplicates across chunks
    for chunk in chunks(lines):
        response = await http.post("/establishments/import", content=chunk.text.encode(),
                                   params={"map": mapping, "line_offset": chunk.first_line - 2,
                                           "import_id": import_id},
                                   headers={"content-type": "text/csv"} | (headers or {}))
        if response.status_code != 200:
            raise ImportRefused(response.status_code, response.text)
        report.add(response.json())
        advance(chunk.records)
    return report


class ImportRefused(Exception):
    def __init__(self, status: int, body: str) -> None:
        super().__init__(f"the inspection service answered {status}: {body}")


@app.command("import")
def import_command(
    file: Path = typer.Argument(..., exists=True, dir_okay=False, readable=True, help="The registry CSV."),
    map_: list[str] = typer.Option([], "--map", help="THEIR_COLUMN=OUR_COLUMN, once per renamed column."),
    url: str = typer.Option(None, help="Inspection service URL (default: the local stack)."),
    token_name: str = typer.Option("OPS_TOKEN", "--token", help="Environment variable holding the token."),
) -> None:
    """Import a license-registry CSV; idempotent on license number; bad rows are listed with line numbers."""
    total = _count_records(file)
    columns = (TextColumn("importing"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn())
    with Progress(*columns, console=console) as progress:
        task = progress.add_task("rows", total=total)
        try:
            report = asyncio.run(_run(file, map_, url, token_name, lambda n: progress.advance(task, n)))
        except ImportRefused as exc:
            console.print(f"[red]{exc}[/]")
            raise typer.Exit(2) from None
    _print_report(report)
    if report.rejects:
        raise typer.Exit(1)


async def _run(file: Path, mapping: list[str], url: str | None, token_name: str,
               advance: Callable[[int], None]) -> Report:
    async with client(token_name, url) as http:
        return await import_file(http, file, mapping, advance)


def _count_records(file: Path) -> int:
    with file.open(encoding="utf-8-sig", newline="") as f:
        return max(sum(1 for _ in csv.reader(f)) - 1, 0)


def _print_report(report: Report) -> None:
    console.print(f"[green]{report.accepted}[/] rows kept ({report.created} new, {report.updated} updated), "
                  f"[{'red' if report.rejects else 'green'}]{len(report.rejects)}[/] rejected")
    if report.rejects:
        table = Table("line", "reason", title="Rejected rows")
        for reject in sorted(report.rejects, key=lambda r: r["line"]):
            table.add_row(str(reject["line"]), reject["reason"])
        console.print(table)
