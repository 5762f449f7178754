"""Checking an inspection against the indicator catalog and the program's checklist.

Pydantic checks the shape of the payload; this checks its meaning. Every
problem is reported at once, each naming its field the way FastAPI does
(``["body", "indicator_codes", 2]``, ``["body", "answers", "lic_holder_present"]``),
so a departmental system can fix all of them in one round trip.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from pathways_contracts.catalog import Catalog, load_catalog
from pathways_contracts.vocab import InspectionResult, Program
from pathways_inspection.domain.checklists import (
    Checklist,
    implied_indicators,
    load_checklist,
    sanitation_failed,
    validate_answers,
)

ENTRY_REFUSED_CODE = "OPS-ENTRY-REFUSED"


@dataclass(frozen=True)
class Problem:
    loc: tuple[str | int, ...]
    type: str
    msg: str

    def as_detail(self) -> dict:
        return {"loc": ["body", *self.loc], "type": self.type, "msg": self.msg}


@dataclass
class Checked:
    """The inspection as screening sees it: every code, including those the answers imply."""

    indicator_codes: list[str] = field(default_factory=list)
    checklist_version: str | None = None
    sanitation_failed: bool = False
    problems: list[Problem] = field(default_factory=list)


def check_inspection(program: Program, result: InspectionResult, indicator_codes: list[str],
                     answers: dict, checklist_version: str | None, catalog: Catalog | None = None) -> Checked:
    catalog = catalog or load_catalog()
    checked = Checked(problems=_code_problems(program, indicator_codes, catalog))
    checklist = _checklist(program, checklist_version, checked.problems)
    codes = set(indicator_codes)
    if checklist is not None and (answers or checklist_version):
        checked.checklist_version = checklist.version
        checked.problems += _answer_problems(checklist, answers, result)
        codes.update(implied_indicators(checklist, answers))
        checked.sanitation_failed = sanitation_failed(checklist, answers)
    if result == InspectionResult.ENTRY_REFUSED:
        codes.add(ENTRY_REFUSED_CODE)  # being refused entry is itself an indicator
    checked.indicator_codes = sorted(codes)
    return checked


def _code_problems(program: Program, codes: list[str], catalog: Catalog) -> list[Problem]:
    problems = []
    for i, code in enumerate(codes):
        if code not in catalog:
            problems.append(Problem(("indicator_codes", i), "unknown_indicator",
                                    f"{code!r} is not in indicator catalog {catalog.version}"))
        elif program not in catalog.get(code).programs:
            problems.append(Problem(("indicator_codes", i), "indicator_not_for_program",
                                    f"{code!r} may not be recorded by the {program.value} program"))
    return problems


def _checklist(program: Program, version: str | None, problems: list[Problem]) -> Checklist | None:
    """The checklist named by ``version`` (``"v1"`` or ``"<program>.v1"``), by default v1."""
    wanted = (version or "v1").rsplit(".", 1)
    if len(wanted) == 2 and wanted[0] != program.value:
        problems.append(Problem(("checklist_version",), "checklist_mismatch",
                                f"{version!r} is not a checklist of the {program.value} program"))
        return None
    try:
        return load_checklist(program, wanted[-1])
    except LookupError as exc:
        problems.append(Problem(("checklist_version",), "unknown_checklist", str(exc)))
        return None


def _answer_problems(checklist: Checklist, answers: dict, result: InspectionResult) -> list[Problem]:
    problems = []
    for error in validate_answers(checklist, answers):
        item, _, reason = error.partition(": ")
        # Refused entry means most items could not be checked: missing answers are expected then.
        if reason == "required" and result == InspectionResult.ENTRY_REFUSED:
            continue
        problems.append(Problem(("answers", item), "invalid_answer", reason))
    return problems
