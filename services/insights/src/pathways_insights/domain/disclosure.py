"""Disclosure control: a two-way table of counts, with its margins, safe to publish.

Rule 1 (k-anonymity, primary suppression): a count between 1 and k-1 is never published, wherever it
is: an inner cell, a row or column total, or the grand total. Zeros are published (a zero is nobody).

Rule 2 (complementary suppression): no suppressed count can be recovered from what is published.
Write the table with its margins as an (R+1)×(C+1) array whose margins are negated: then every row
and every column sums to zero, and those are all the equations an attacker has. Take the bipartite
graph whose nodes are the rows and columns of that array and whose edges are the suppressed cells. A
suppressed cell is determined by the equations exactly when its edge is a bridge of that graph (on a
cycle, adding +1/-1 alternately around it keeps every sum; on a bridge, the sums on one side of it give
its value). So suppression goes on until the graph has no bridge. Complementary cells are chosen among
non-zero counts only: every cell of a cycle is then at least 1, so the alternating +1/-1 stays a
non-negative table, and even an attacker who knows counts are never negative cannot pin a cell down.

The property test in ``tests/unit/test_insights_disclosure.py`` attacks published tables by linear
algebra, independently of this graph argument.
"""

from __future__ import annotations

import heapq
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import networkx as nx

K_MINIMUM = 11  # the Counter-Trafficking Data Collaborative's k: configurable upwards, never lower
K_MAXIMUM = 2**31 - 1  # a release records its k as an integer column

Cell = tuple[int, int]  # (row, column) in the array with margins: row R and column C are the totals


@dataclass(frozen=True)
class Protected:
    """A published table: ``values[r][c]`` is a count or None (suppressed); the last row and column are totals."""

    row_labels: tuple[str, ...]
    column_labels: tuple[str, ...]
    values: tuple[tuple[int | None, ...], ...]
    primary: frozenset[Cell]
    complementary: frozenset[Cell]
    k: int

    @property
    def suppressed(self) -> frozenset[Cell]:
        return self.primary | self.complementary


def with_margins(counts: Sequence[Sequence[int]]) -> list[list[int]]:
    """The table with a total column on the right and a total row at the bottom."""
    columns = len(counts[0]) if counts else 0
    rows = [[*row, sum(row)] for row in counts]
    totals = [sum(row[c] for row in rows) for c in range(columns + 1)]
    return [*rows, totals]


def protect(row_labels: Sequence[str], column_labels: Sequence[str], counts: Sequence[Sequence[int]],
            k: int) -> Protected:
    """Suppress what rules 1 and 2 require; ``counts`` has no margins (they are computed here)."""
    if k < K_MINIMUM:
        raise ValueError(f"k must be at least {K_MINIMUM}")
    if len(counts) != len(row_labels) or any(len(row) != len(column_labels) for row in counts):
        raise ValueError("counts must have one row per row label and one value per column label")
    if any(v < 0 for row in counts for v in row):
        raise ValueError("counts are never negative")
    full = with_margins(counts)
    cells = [(r, c) for r in range(len(full)) for c in range(len(full[0]))]
    primary = {cell for cell in cells if 0 < full[cell[0]][cell[1]] < k}
    suppressed = _complete(full, set(primary))
    values = tuple(tuple(None if (r, c) in suppressed else v for c, v in enumerate(row)) for r, row in enumerate(full))
    return Protected(tuple(row_labels), tuple(column_labels), values, frozenset(primary),
                     frozenset(suppressed - primary), k)


def _bridges(cells: set[Cell]) -> list[Cell]:
    """The suppressed cells an attacker could solve for (one edge per cell: rows and columns are the nodes)."""
    graph = nx.Graph()
    graph.add_edges_from((("r", r), ("c", c)) for r, c in cells)
    return sorted((a[1], b[1]) if a[0] == "r" else (b[1], a[1]) for a, b in nx.bridges(graph))


def _complete(full: list[list[int]], suppressed: set[Cell]) -> set[Cell]:
    """Add complementary suppressions until no suppressed cell is a bridge."""
    while bridges := _bridges(suppressed):
        cell = bridges[0]
        path = _cheapest_cycle_through(full, suppressed, cell)
        if path is None:
            # Cannot happen for a non-zero cell: (r, c), its row total, its column total and the grand
            # total are all non-zero and make a cycle. Kept so that a future change fails loudly.
            raise AssertionError(f"no cycle closes through {cell}")
        suppressed |= path
    return suppressed


def _cheapest_cycle_through(full: list[list[int]], suppressed: set[Cell], bridge: Cell) -> set[Cell] | None:
    """The cells (new or already suppressed) of the cheapest path from the bridge's row to its column.

    A path that avoids the bridge itself closes a cycle with it. Already suppressed cells cost nothing;
    a new one costs its count (hiding small counts loses the least information), plus one so that a
    path of fewer cells is preferred among equal totals. Zero cells are never used (see the module doc).
    """
    start, goal = ("r", bridge[0]), ("c", bridge[1])
    rows, columns = len(full), len(full[0])

    def neighbours(node: tuple[str, int]):
        kind, index = node
        for other in range(columns if kind == "r" else rows):
            cell = (index, other) if kind == "r" else (other, index)
            if cell == bridge:
                continue
            value = full[cell[0]][cell[1]]
            if cell in suppressed:
                yield ("c" if kind == "r" else "r", other), cell, 0
            elif value > 0:
                yield ("c" if kind == "r" else "r", other), cell, value + 1

    best: dict[tuple[str, int], int] = {start: 0}
    came: dict[tuple[str, int], tuple[tuple[str, int], Cell]] = {}
    queue = [(0, start)]
    while queue:
        cost, node = heapq.heappop(queue)
        if node == goal:
            break
        if cost > best.get(node, cost):
            continue
        for nxt, cell, step in neighbours(node):
            if cost + step < best.get(nxt, float("inf")):
                best[nxt] = cost + step
                came[nxt] = (node, cell)
                heapq.heappush(queue, (cost + step, nxt))
    if goal not in came:
        return None
    path, node = set(), goal
    while node != start:
        node, cell = came[node]
        path.add(cell)
    return path


def as_rows(table: Protected) -> list[dict]:
    """One dict per inner cell, for JSON and CSV: row label, column label, count (None when suppressed)."""
    rows = []
    labels = [*table.row_labels, "total"]
    columns = [*table.column_labels, "total"]
    for r, row in enumerate(table.values):
        for c, value in enumerate(row):
            rows.append({"row": labels[r], "column": columns[c], "count": value,
                         "suppressed": (r, c) in table.suppressed})
    return rows


def check_published(table: Protected) -> None:
    """Raise if a published count is under k (a guard run on every release before it leaves the service)."""
    small = [v for row in table.values for v in row if v is not None and 0 < v < table.k]
    if small:
        raise AssertionError(f"{len(small)} published count(s) under k={table.k}")


def cross_tabulate(records: Sequence[Mapping[str, str]], rows: Sequence[str], column: str
                   ) -> tuple[list[str], list[str], list[list[int]]]:
    """Count records by the ``rows`` dimensions (joined) against the ``column`` dimension; labels sorted."""
    counts: dict[tuple[str, str], int] = {}
    for record in records:
        key = (" · ".join(record[d] for d in rows), record[column])
        counts[key] = counts.get(key, 0) + 1
    row_labels = sorted({r for r, _ in counts})
    column_labels = sorted({c for _, c in counts})
    table = [[counts.get((r, c), 0) for c in column_labels] for r in row_labels]
    return row_labels, column_labels, table
