"""The pure parts of the wiring: inspection validation, the CLI's CSV chunker, the coverage SVG."""

from __future__ import annotations

import csv
import io
import xml.etree.ElementTree as ET

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pathways_cli.establishments import chunks
from pathways_cli.reports import coverage_svg
from pathways_contracts.vocab import InspectionResult, Program
from pathways_inspection.service_layer.registry import parse_mapping
from pathways_inspection.service_layer.validation import check_inspection

pytestmark = pytest.mark.unit


def test_unknown_and_wrong_program_codes_are_named_by_index():
    checked = check_inspection(Program.FOOD, InspectionResult.PASS, ["LAB-WAGE-THEFT", "NOPE", "SEX-TEST-KIT-POSITIVE"],
                               {}, None)
    assert [(p.loc, p.type) for p in checked.problems] == [
        (("indicator_codes", 1), "unknown_indicator"), (("indicator_codes", 2), "indicator_not_for_program")]


def test_failed_items_imply_indicators_and_entry_refused_is_one():
    checked = check_inspection(Program.RENTAL_HOUSING, InspectionResult.ENTRY_REFUSED, [],
                               {"safety_egress_clear": False}, None)
    assert checked.problems == []  # missing answers are expected when entry was refused
    assert checked.indicator_codes == ["OPS-ENTRY-REFUSED", "OPS-EXITS-BLOCKED"]


def test_a_checklist_of_another_program_is_refused():
    checked = check_inspection(Program.FOOD, InspectionResult.PASS, [], {}, "lodging.v1")
    assert [p.loc for p in checked.problems] == [("checklist_version",)]


def test_mapping_pairs_are_their_equals_ours():
    assert parse_mapping(["Lic No=license_number"]) == {"license_number": "Lic No"}
    with pytest.raises(ValueError, match="THEIR_COLUMN=OUR_COLUMN"):
        parse_mapping(["license_number"])


def _records(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text)))[1:]


@given(st.lists(st.tuples(st.text(alphabet="ab,\n\" ", max_size=6), st.integers(0, 9)), max_size=40),
       st.integers(1, 7))
def test_chunks_keep_whole_records_and_their_file_line_numbers(rows, size):
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["name", "n"])
    writer.writerows(rows)
    lines = out.getvalue().splitlines(keepends=True)
    parts = list(chunks(lines, size))
    assert [r for p in parts for r in _records(p.text)] == _records(out.getvalue())
    for part in parts:  # a chunk's first record starts on the file line it claims
        if part.records:
            body = "".join(lines[part.first_line - 1:])
            assert _records(lines[0] + body)[:part.records] == _records(part.text)


def test_coverage_chart_is_valid_svg_with_a_bar_per_row():
    report = {"period_start": "2026-01-01", "period_end": "2027-01-01", "rows": [
        {"area": "Ward <1>", "program": "massage_establishment", "active": 4, "inspected": 4, "share": 1.0},
        {"area": "Ward 2", "program": "massage_establishment", "active": 4, "inspected": 2, "share": 0.5}]}
    svg = ET.fromstring(coverage_svg(report))
    bars = svg.findall("{http://www.w3.org/2000/svg}rect")
    assert [float(b.get("width")) for b in bars] == [400.0, 200.0]
