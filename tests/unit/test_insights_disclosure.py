"""Disclosure control: no published count under k, and no suppressed count recoverable from the totals.

The attacker here knows what a release publishes (every unsuppressed inner cell, row total, column
total and the grand total) and that inner cells add up to the totals. It solves those equations by
exact rational elimination, independently of the graph argument ``protect`` relies on: a suppressed
cell is recovered when its unit vector lies in the row space of the equations over the unknowns.
"""

from __future__ import annotations

from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pathways_insights.domain.disclosure import K_MINIMUM, as_rows, protect, with_margins

pytestmark = pytest.mark.unit


def _rank(matrix: list[list[Fraction]]) -> int:
    rows = [r[:] for r in matrix]
    rank, columns = 0, len(rows[0]) if rows else 0
    for c in range(columns):
        pivot = next((i for i in range(rank, len(rows)) if rows[i][c] != 0), None)
        if pivot is None:
            continue
        rows[rank], rows[pivot] = rows[pivot], rows[rank]
        for i in range(len(rows)):
            if i != rank and rows[i][c] != 0:
                factor = rows[i][c] / rows[rank][c]
                rows[i] = [a - factor * b for a, b in zip(rows[i], rows[rank])]
        rank += 1
    return rank


def recoverable(values: list[list[int | None]]) -> set[tuple[int, int]]:
    """The suppressed cells the attacker can compute exactly from a published table with margins."""
    unknowns = [(r, c) for r, row in enumerate(values) for c, v in enumerate(row) if v is None]
    if not unknowns:
        return set()
    index = {cell: n for n, cell in enumerate(unknowns)}
    last_r, last_c = len(values) - 1, len(values[0]) - 1
    equations = []
    # Each row: its inner cells minus its total is zero; the totals row likewise. Columns the same.
    lines = [[(r, c) for c in range(last_c + 1)] for r in range(last_r + 1)]
    lines += [[(r, c) for r in range(last_r + 1)] for c in range(last_c + 1)]
    for line in lines:
        coefficients = [Fraction(0)] * len(unknowns)
        for cell in line:
            sign = -1 if cell == line[-1] else 1  # the last entry of a line is its total
            if cell in index:
                coefficients[index[cell]] += sign
        equations.append(coefficients)
    base = _rank(equations)
    found = set()
    for cell, n in index.items():
        unit = [Fraction(int(i == n)) for i in range(len(unknowns))]
        if _rank([*equations, unit]) == base:
            found.add(cell)
    return found


tables = st.integers(1, 5).flatmap(lambda rows: st.integers(1, 5).flatmap(lambda columns: st.lists(
    st.lists(st.one_of(st.integers(0, 12), st.integers(0, 60)), min_size=columns, max_size=columns),
    min_size=rows, max_size=rows)))


def _protected(counts: list[list[int]], k: int):
    return protect([f"r{i}" for i in range(len(counts))], [f"c{j}" for j in range(len(counts[0]))], counts, k)


@settings(max_examples=200, deadline=None)
@given(counts=tables, k=st.integers(K_MINIMUM, 15))
def test_no_published_count_is_under_k_and_no_suppressed_count_can_be_recovered(counts, k):
    table = _protected(counts, k)
    full = with_margins(counts)
    published = [v for row in table.values for v in row if v is not None]
    assert all(v == 0 or v >= k for v in published)
    # What is published is the truth.
    assert all(v is None or v == full[r][c] for r, row in enumerate(table.values) for c, v in enumerate(row))
    # Every small count, inner or total, is hidden.
    assert {(r, c) for r, row in enumerate(full) for c, v in enumerate(row) if 0 < v < k} <= table.suppressed
    assert not recoverable([list(row) for row in table.values])
    # Every hidden count is at least 1: moving along any solution of the equations by a small step keeps
    # the table non-negative, so knowing counts are never negative does not pin a hidden count either.
    assert all(full[r][c] > 0 for r, c in table.suppressed)


def test_the_attacker_does_recover_a_lone_suppressed_cell():
    # The attack is real: with only the small cell hidden, the row total gives it away.
    assert recoverable([[5, 20, None], [30, 40, 70], [35, 60, 95]]) == {(0, 2)}
    assert recoverable([[None, 20, 25], [30, 40, 70], [35, 60, 95]]) == {(0, 0)}


def test_a_small_cell_takes_partners_in_its_row_and_column():
    counts = [[3, 20, 30], [25, 40, 50], [35, 45, 60]]
    table = _protected(counts, K_MINIMUM)
    assert table.primary == {(0, 0)}
    assert len(table.complementary) >= 3  # a cycle: a cell in its row, one in its column, one closing them
    assert table.values[0][0] is None and not recoverable([list(r) for r in table.values])


def test_zero_is_published_and_a_table_without_small_counts_is_untouched():
    table = _protected([[0, 20], [15, 0]], K_MINIMUM)
    assert table.suppressed == frozenset()
    assert table.values == ((0, 20, 20), (15, 0, 15), (15, 20, 35))


def test_k_is_never_under_eleven():
    with pytest.raises(ValueError, match="at least 11"):
        _protected([[1]], 10)


def test_rows_for_json_and_csv_name_each_cell():
    rows = as_rows(_protected([[3, 30], [40, 50]], K_MINIMUM))
    assert rows[0] == {"row": "r0", "column": "c0", "count": None, "suppressed": True}
    assert rows[-1] == {"row": "total", "column": "total", "count": 123, "suppressed": False}
