"""Checklists as data: one versioned JSON file per program under ``policy/checklists``.

An inspection's answers are a mapping ``{item_id: value}``. This module checks
them against the checklist, finds the failed items, and derives the indicator
codes that failed items imply (so an inspector ticking "practitioner not
licensed" need not also pick the catalog code by hand).
"""

from collections.abc import Iterable, Mapping
from datetime import date
from enum import StrEnum
from functools import cache
from importlib.resources import files
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

from pathways_contracts.catalog import Catalog
from pathways_contracts.vocab import Program

Answers = Mapping[str, Any]

SANITATION_SECTION = "sanitation"


class AnswerType(StrEnum):
    PASS_FAIL = "pass_fail"
    YES_NO = "yes_no"
    CHOICE = "choice"
    COUNT = "count"
    DATE = "date"
    TEXT = "text"


PASS_FAIL_VALUES = ("pass", "fail", "not_applicable")


class Condition(BaseModel):
    """Holds when another item's answer equals a value (e.g. Clean Hotels signed)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    item: str
    equals: Any

    def holds(self, answers: Answers) -> bool:
        return self.item in answers and _same_answer(answers[self.item], self.equals)


def _same_answer(a: Any, b: Any) -> bool:
    # Compare types too: in Python True == 1 and False == 0, but a count of 0 is not "no".
    return type(a) is type(b) and a == b


class Item(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    section: str
    question: str
    answer: AnswerType
    options: tuple[str, ...] = ()
    required: bool = True
    required_if: Condition | None = None
    fail_on: tuple[Any, ...] = Field(default=(), description="Answers that mean the item failed.")
    implies: tuple[str, ...] = Field(default=(), description="Indicator codes a failure implies.")
    implies_only_if: Condition | None = None
    open_data: bool = Field(default=False, description="Whether a failure may be published as a violation.")

    @model_validator(mode="after")
    def _options_match_answer_type(self) -> "Item":
        if (self.answer == AnswerType.CHOICE) != bool(self.options):
            raise ValueError(f"{self.id}: options are required for, and only for, choice items")
        bad = [v for v in self.fail_on if answer_error(self, v) is not None]
        if bad:
            raise ValueError(f"{self.id}: fail_on values {bad!r} are not valid answers")
        return self

    def is_required(self, answers: Answers) -> bool:
        return self.required or (self.required_if is not None and self.required_if.holds(answers))

    def failed(self, answers: Answers) -> bool:
        return self.id in answers and any(_same_answer(answers[self.id], v) for v in self.fail_on)


class Checklist(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    program: Program
    version: str
    title: str
    items: tuple[Item, ...] = Field(min_length=1)

    @model_validator(mode="after")
    def _ids_unique_and_conditions_resolve(self) -> "Checklist":
        ids = [i.id for i in self.items]
        if len(ids) != len(set(ids)):
            raise ValueError(f"{self.version}: duplicate item ids")
        for item in self.items:
            for condition in (item.required_if, item.implies_only_if):
                if condition is not None and condition.item not in ids:
                    raise ValueError(f"{item.id}: condition refers to unknown item {condition.item!r}")
        return self

    def item(self, item_id: str) -> Item:
        return next(i for i in self.items if i.id == item_id)


@cache
def load_checklist(program: Program | str, version: str = "v1") -> Checklist:
    """The checklist of a program, parsed once per process."""
    program = Program(program)
    resource = files("pathways_inspection").joinpath("policy", "checklists", f"{program.value}.{version}.json")
    if not resource.is_file():
        raise LookupError(f"no checklist {version!r} for program {program.value!r}")
    return Checklist.model_validate_json(resource.read_text(encoding="utf-8"))


def answer_error(item: Item, value: Any) -> str | None:
    """Why a value is not a valid answer to an item, or None if it is."""
    # bool is an int in Python; a count of True is a client bug, not 1.
    match item.answer:
        case AnswerType.PASS_FAIL if value not in PASS_FAIL_VALUES:
            return f"must be one of {', '.join(PASS_FAIL_VALUES)}"
        case AnswerType.YES_NO if not isinstance(value, bool):
            return "must be true or false"
        case AnswerType.CHOICE if value not in item.options:
            return f"must be one of {', '.join(item.options)}"
        case AnswerType.COUNT if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            return "must be a whole number of at least 0"
        case AnswerType.DATE if not _is_iso_date(value):
            return "must be a date (YYYY-MM-DD)"
        case AnswerType.TEXT if not isinstance(value, str):
            return "must be text"
    return None


def _is_iso_date(value: Any) -> bool:
    if isinstance(value, date):
        return True
    try:
        date.fromisoformat(value)
    except (TypeError, ValueError):
        return False
    return isinstance(value, str) and len(value) == 10


def validate_answers(checklist: Checklist, answers: Answers) -> list[str]:
    """Every problem with the answers as ``"<item id>: <reason>"``, in checklist order; [] if valid."""
    errors: list[str] = []
    for item in checklist.items:
        if item.id not in answers:
            if item.is_required(answers):
                errors.append(f"{item.id}: required")
            continue
        problem = answer_error(item, answers[item.id])
        if problem:
            errors.append(f"{item.id}: {problem}")
    known = {i.id for i in checklist.items}
    errors.extend(f"{key}: not an item of {checklist.version}" for key in sorted(set(answers) - known))
    return errors


def failed_items(checklist: Checklist, answers: Answers) -> list[Item]:
    return [item for item in checklist.items if item.failed(answers)]


def sanitation_failed(checklist: Checklist, answers: Answers) -> bool:
    """A failed sanitation item schedules a follow-up inspection."""
    return any(item.section == SANITATION_SECTION for item in failed_items(checklist, answers))


def implied_indicators(checklist: Checklist, answers: Answers) -> list[str]:
    """Sorted indicator codes implied by the failed items."""
    codes: set[str] = set()
    for item in failed_items(checklist, answers):
        if item.implies_only_if is None or item.implies_only_if.holds(answers):
            codes.update(item.implies)
    return sorted(codes)


def catalog_problems(checklist: Checklist, catalog: Catalog) -> list[str]:
    """Implied codes that are not in the catalog, or that this program may not record."""
    problems: list[str] = []
    for item in checklist.items:
        for code in item.implies:
            if code not in catalog:
                problems.append(f"{item.id}: {code} is not in catalog {catalog.version}")
            elif checklist.program not in catalog.get(code).programs:
                problems.append(f"{item.id}: {code} may not be recorded by {checklist.program.value}")
    return problems


def all_checklists(version: str = "v1") -> Iterable[Checklist]:
    return [load_checklist(program, version) for program in Program]
