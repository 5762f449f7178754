"""License-registry CSV import and the LIVES open-data export.

Import keeps every good row and rejects each bad one with its line number and
reasons, so a clerk can fix the file and import it again (import is
idempotent on license number, which the adapter enforces).

The export follows the LIVES layout (businesses, inspections, violations)
used by open-data portals. It carries business facts and failed checklist
items marked ``open_data`` only: never indicator codes, answers in free text,
or anything about a person.
"""

import csv
import io
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import date, datetime

from pathways_contracts.vocab import InspectionReason
from pathways_inspection.domain.checklists import Checklist, failed_items, load_checklist
from pathways_inspection.domain.registry import Establishment, InspectionRecord, LicenseStatus

COLUMNS = (
    "license_number", "name", "license_type", "license_status",
    "license_expiry", "address", "area", "jurisdiction",
)  # fmt: skip
REQUIRED_COLUMNS = ("license_number", "name", "license_type", "license_status", "jurisdiction")
DATE_FORMATS = ("%Y-%m-%d", "%m/%d/%Y")  # ISO, and the US form many registries export


class RegistryFormatError(ValueError):
    """The file as a whole cannot be read (no header, or required columns missing)."""


@dataclass(frozen=True, slots=True)
class EstablishmentRow:
    line: int
    license_number: str
    name: str
    license_type: str
    license_status: LicenseStatus
    jurisdiction: str
    license_expiry: date | None = None
    address: str | None = None
    area: str | None = None


@dataclass(frozen=True, slots=True)
class Reject:
    line: int
    reason: str
    fields: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class ImportResult:
    rows: tuple[EstablishmentRow, ...]
    rejects: tuple[Reject, ...]


def parse_registry_csv(source: str | Iterable[str], mapping: Mapping[str, str] | None = None) -> ImportResult:
    """Parse a whole registry file; ``mapping`` is ``{our_column: their_column}``."""
    rows: list[EstablishmentRow] = []
    rejects: list[Reject] = []
    for outcome in iter_registry_csv(source, mapping):
        (rows if isinstance(outcome, EstablishmentRow) else rejects).append(outcome)
    return ImportResult(tuple(rows), tuple(rejects))


def iter_registry_csv(
    source: str | Iterable[str], mapping: Mapping[str, str] | None = None
) -> Iterator[EstablishmentRow | Reject]:
    """Row by row, so the CLI can show progress on a large file.

    A record the csv module cannot read (a field over its size limit, a stray line break) is a reject
    of its own; the records after it are still read. ``newline=""``, as the csv module asks, so a bare
    carriage return ends a line instead of failing the record.
    """
    lines = io.StringIO(source, newline="") if isinstance(source, str) else source
    reader = csv.reader(lines)
    try:
        header = next(reader, None)
    except csv.Error as exc:
        raise RegistryFormatError(f"the header row is not readable as CSV: {exc}") from None
    layout = _layout(header, mapping or {})
    first_line_of: dict[str, int] = {}
    record_start = reader.line_num + 1
    while True:
        try:
            record = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            line, record_start = record_start, reader.line_num + 1
            yield Reject(line, f"not readable as CSV: {exc}")
            continue
        line, record_start = record_start, reader.line_num + 1  # a quoted field may span lines
        if not any(cell.strip() for cell in record):
            continue
        outcome = _parse_record(record, line, layout)
        if isinstance(outcome, EstablishmentRow):
            outcome = _unless_duplicate(outcome, first_line_of)
        yield outcome


@dataclass(frozen=True, slots=True)
class _Layout:
    positions: dict[str, int]  # our column -> index in their file
    width: int


def _layout(header: list[str] | None, mapping: Mapping[str, str]) -> _Layout:
    if not header:
        raise RegistryFormatError("the file is empty: expected a header row")
    names = [cell.strip().lstrip("\ufeff").lower() for cell in header]
    unknown = sorted(set(mapping) - set(COLUMNS))
    if unknown:
        raise RegistryFormatError(f"column mapping names unknown columns: {', '.join(unknown)}")
    positions = {}
    for column in COLUMNS:
        theirs = mapping.get(column, column).strip().lower()
        if theirs in names:
            positions[column] = names.index(theirs)
    missing = [c for c in REQUIRED_COLUMNS if c not in positions]
    if missing:
        raise RegistryFormatError(f"header is missing required columns: {', '.join(missing)}")
    return _Layout(positions, len(header))


def _parse_record(record: list[str], line: int, layout: _Layout) -> EstablishmentRow | Reject:
    if len(record) != layout.width:
        return Reject(line, f"expected {layout.width} fields, found {len(record)}")
    values = {c: record[i].strip() for c, i in layout.positions.items()}
    problems = {c: "missing" for c in REQUIRED_COLUMNS if not values[c]}
    # PostgreSQL cannot store a NUL: a row carrying one is rejected here, not failed in the database.
    problems |= {c: "contains a NUL character" for c, v in values.items() if "\x00" in v}
    status = _status(values["license_status"], problems)
    expiry = _date(values.get("license_expiry", ""), problems)
    if problems:
        reason = "; ".join(f"{field}: {why}" for field, why in problems.items())
        return Reject(line, reason, tuple(problems))
    return EstablishmentRow(
        line=line,
        license_number=values["license_number"],
        name=values["name"],
        license_type=values["license_type"],
        license_status=status,
        jurisdiction=values["jurisdiction"],
        license_expiry=expiry,
        address=values.get("address") or None,
        area=values.get("area") or None,
    )


def _status(text: str, problems: dict[str, str]) -> LicenseStatus | None:
    if not text:
        return None
    try:
        return LicenseStatus(text.lower())
    except ValueError:
        allowed = ", ".join(LicenseStatus)
        problems["license_status"] = f"unknown status {text!r} (expected one of {allowed})"
        return None


def _date(text: str, problems: dict[str, str]) -> date | None:
    if not text:
        return None
    for fmt in DATE_FORMATS:
        try:
            return datetime.strptime(text, fmt).date()
        except ValueError:
            continue
    problems["license_expiry"] = f"not a date {text!r} (expected YYYY-MM-DD or MM/DD/YYYY)"
    return None


def _unless_duplicate(row: EstablishmentRow, first_line_of: dict[str, int]) -> EstablishmentRow | Reject:
    # Only accepted rows claim a license number, so a bad first row does not block a good later one.
    first = first_line_of.setdefault(row.license_number, row.line)
    if first != row.line:
        return Reject(row.line, f"license_number: duplicate of line {first}", ("license_number",))
    return row


# --- LIVES open-data export ---------------------------------------------------

LIVES_BUSINESS_COLUMNS = (
    "business_id", "name", "address", "city", "state", "postal_code", "latitude", "longitude", "phone_number",
)  # fmt: skip
LIVES_INSPECTION_COLUMNS = ("business_id", "score", "date", "type")
LIVES_VIOLATION_COLUMNS = ("business_id", "date", "code", "description")
LIVES_TYPES = {
    InspectionReason.ROUTINE: "routine",
    InspectionReason.COMPLAINT: "complaint",
    InspectionReason.FOLLOW_UP: "followup",
}


def lives_export(
    establishments: Iterable[Establishment], inspections: Iterable[InspectionRecord]
) -> dict[str, str]:
    """``{file name: CSV text}`` for businesses.csv, inspections.csv and violations.csv."""
    by_id = {e.id: e for e in establishments}
    exported = [i for i in inspections if i.establishment_id in by_id]
    businesses = sorted(
        (e.id, e.name, e.address or "", "", "", "", "", "", "") for e in by_id.values()
    )  # city, state, postal code, coordinates and phone are not in the registry
    visits = sorted(
        (i.establishment_id, "", _lives_date(i.inspected_on), LIVES_TYPES[i.reason]) for i in exported
    )  # no numeric score: these programs record pass / fail, not points
    violations = sorted(
        (i.establishment_id, _lives_date(i.inspected_on), item.id, f"Not met: {item.question}")
        for i in exported
        for item in failed_items(_checklist_of(i), i.answers)
        if item.open_data
    )
    return {
        "businesses.csv": _csv(LIVES_BUSINESS_COLUMNS, businesses),
        "inspections.csv": _csv(LIVES_INSPECTION_COLUMNS, visits),
        "violations.csv": _csv(LIVES_VIOLATION_COLUMNS, violations),
    }


def _checklist_of(inspection: InspectionRecord) -> Checklist:
    version = "v1"
    if inspection.checklist_version:
        version = inspection.checklist_version.rsplit(".", 1)[-1]
    return load_checklist(inspection.program, version)


def _lives_date(day: date) -> str:
    return day.strftime("%Y%m%d")


def _csv(header: tuple[str, ...], rows: Iterable[tuple[str, ...]]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    return out.getvalue()
