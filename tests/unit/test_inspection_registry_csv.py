"""Registry CSV import (good rows kept, bad rows rejected with line and reason) and the LIVES export."""

import csv
import io
from datetime import date

import pytest

from pathways_contracts.vocab import InspectionReason, InspectionResult, Program
from pathways_inspection.domain.registry import Establishment, InspectionRecord, LicenseStatus
from pathways_inspection.domain.registry_csv import (
    RegistryFormatError,
    lives_export,
    parse_registry_csv,
)

pytestmark = pytest.mark.unit

HEADER = "license_number,name,license_type,license_status,license_expiry,address,area,jurisdiction\n"


def good(n: int) -> str:
    return f"M-{n},Spa {n},massage_establishment,active,2026-06-30,{n} Main St,ward-{n % 3},rochester\n"


def test_good_rows_are_parsed():
    result = parse_registry_csv(HEADER + good(1) + good(2))
    assert result.rejects == ()
    first = result.rows[0]
    assert (first.line, first.license_number, first.license_status) == (2, "M-1", LicenseStatus.ACTIVE)
    assert first.license_expiry == date(2026, 6, 30)
    assert (first.address, first.area, first.jurisdiction) == ("1 Main St", "ward-1", "rochester")


def test_bad_rows_are_rejected_with_line_and_reason_and_good_rows_kept():
    text = (
        HEADER
        + good(1)
        + ",No Number,massage_establishment,active,,,,rochester\n"  # line 3
        + "M-3,Bad Date,massage_establishment,active,2026-02-30,,,rochester\n"  # line 4
        + "M-4,Odd Status,massage_establishment,dormant,,,,rochester\n"  # line 5
        + good(1)  # line 6: duplicate of line 2
        + "M-7,Too Short,massage_establishment\n"  # line 7
        + good(8)
    )
    result = parse_registry_csv(text)
    assert [r.license_number for r in result.rows] == ["M-1", "M-8"]
    assert [(r.line, r.reason) for r in result.rejects] == [
        (3, "license_number: missing"),
        (4, "license_expiry: not a date '2026-02-30' (expected YYYY-MM-DD or MM/DD/YYYY)"),
        (5, "license_status: unknown status 'dormant' "
            "(expected one of active, pending, suspended, revoked, expired, inactive)"),
        (6, "license_number: duplicate of line 2"),
        (7, "expected 8 fields, found 3"),
    ]
    assert result.rejects[0].fields == ("license_number",)


def test_a_record_the_csv_module_cannot_read_is_a_reject_and_the_rows_after_it_are_kept():
    # Found by the API fuzzer: csv.Error reached the endpoint as a 500. A field over the csv module's
    # size limit is unreadable; the good rows around it are still imported.
    huge = "M-2," + "x" * (csv.field_size_limit() + 1) + ",massage_establishment,active,,,,rochester\n"
    result = parse_registry_csv(HEADER + good(1) + huge + good(3))
    assert [r.license_number for r in result.rows] == ["M-1", "M-3"]
    assert [(r.line, r.reason.split(":")[0]) for r in result.rejects] == [(3, "not readable as CSV")]


def test_a_bare_carriage_return_ends_a_line_instead_of_failing():
    # The fuzzer's input: "new-line character seen in unquoted field" before newline="".
    result = parse_registry_csv(HEADER + good(1).replace("\n", "\r") + good(2))
    assert [r.license_number for r in result.rows] == ["M-1", "M-2"]
    assert result.rejects == ()


def test_several_problems_in_one_row_are_one_reject():
    result = parse_registry_csv(HEADER + "M-1,,massage_establishment,,someday,,,rochester\n")
    (reject,) = result.rejects
    assert reject.fields == ("name", "license_status", "license_expiry")
    assert reject.reason.startswith("name: missing; license_status: missing; license_expiry: not a date")


def test_line_numbers_count_physical_lines_across_quoted_newlines_and_blank_lines():
    text = HEADER + 'M-1,"Spa\nTwo lines",massage_establishment,active,,,,rochester\n' + "\n" + ",x,y,active,,,,z\n"
    result = parse_registry_csv(text)
    assert result.rows[0].line == 2
    assert result.rejects[0].line == 5


def test_us_dates_case_and_blank_optional_fields_are_accepted():
    row = "M-1,Spa,massage_establishment,Active,06/30/2026,,,rochester\n"
    (parsed,) = parse_registry_csv(HEADER + row).rows
    assert parsed.license_expiry == date(2026, 6, 30)
    assert parsed.address is None and parsed.area is None


def test_column_mapping_and_extra_columns():
    text = "Lic No,DBA,Type,Status,Expires,City,Street\nM-1,Spa,massage_establishment,active,,rochester,1 Main\n"
    mapping = {"license_number": "Lic No", "name": "DBA", "license_type": "Type", "license_status": "Status",
               "license_expiry": "Expires", "jurisdiction": "City", "address": "Street"}
    (row,) = parse_registry_csv(text, mapping).rows
    assert (row.license_number, row.name, row.jurisdiction, row.address, row.area) == (
        "M-1", "Spa", "rochester", "1 Main", None)


def test_header_missing_required_columns_is_a_format_error():
    with pytest.raises(RegistryFormatError, match="license_status, jurisdiction"):
        parse_registry_csv("license_number,name,license_type\nM-1,Spa,massage\n")
    with pytest.raises(RegistryFormatError, match="empty"):
        parse_registry_csv("")


def test_byte_order_mark_in_header_is_ignored():
    assert len(parse_registry_csv("\ufeff" + HEADER + good(1)).rows) == 1


def test_ten_thousand_rows_with_fifty_bad_ones():
    lines = [HEADER]
    bad_lines = set()
    for n in range(10_000):
        if n % 200 == 7:
            lines.append(f"M-{n},Spa,massage_establishment,active,13/45/2026,,,rochester\n")
            bad_lines.add(n + 2)
        else:
            lines.append(good(n))
    result = parse_registry_csv(lines)
    assert len(result.rows) == 9_950
    assert {r.line for r in result.rejects} == bad_lines


# --- LIVES export -------------------------------------------------------------

SPA = Establishment(id="E1", license_number="M-1", name="Spa One", license_type="massage_establishment",
                    license_status=LicenseStatus.ACTIVE, jurisdiction="rochester", address="1 Main St", area="ward-1")


def massage_inspection(**answers) -> InspectionRecord:
    return InspectionRecord(
        inspection_id="I1", establishment_id="E1", program=Program.MASSAGE, reason=InspectionReason.FOLLOW_UP,
        inspected_on=date(2025, 3, 4), result=InspectionResult.FAIL, answers=answers,
        checklist_version="massage_establishment.v1",
    )


def rows(text: str) -> list[dict]:
    return list(csv.DictReader(io.StringIO(text)))


def test_lives_export_layout():
    inspection = massage_inspection(san_restroom="fail", forensic_lighting="positive", lic_holder_present=False,
                                    obs_workers_living_on_site=True)
    files = lives_export([SPA], [inspection])
    assert sorted(files) == ["businesses.csv", "inspections.csv", "violations.csv"]
    assert files["businesses.csv"].splitlines()[0] == (
        "business_id,name,address,city,state,postal_code,latitude,longitude,phone_number")
    assert rows(files["businesses.csv"])[0]["name"] == "Spa One"
    assert rows(files["inspections.csv"]) == [{"business_id": "E1", "score": "", "date": "20250304", "type": "followup"}]
    violations = rows(files["violations.csv"])
    assert [v["code"] for v in violations] == ["lic_holder_present", "san_restroom"]


def test_lives_export_never_publishes_screening_signals():
    inspection = massage_inspection(forensic_lighting="positive", test_kit="positive", obs_minor_working=True,
                                    obs_workers_living_on_site=True, prem_paraphernalia=True)
    files = lives_export([SPA], [inspection])
    assert rows(files["violations.csv"]) == []
    everything = "".join(files.values())
    for secret in ("SEX-", "VUL-", "forensic", "minor", "positive"):
        assert secret not in everything


def test_inspections_of_unknown_establishments_are_not_exported():
    other = massage_inspection()
    files = lives_export([], [other])
    assert rows(files["inspections.csv"]) == []
