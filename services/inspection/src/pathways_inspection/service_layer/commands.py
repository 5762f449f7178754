"""The inspection service's use cases as typed commands: one per use case, whatever edge it comes from.

The HTTP routes and the ``inspection.submitted`` consumer only build a command
and call its handler. Every text field is ``Text`` (no NUL, no lone
surrogate), so input PostgreSQL could not store is refused as a 422 naming the
field (or parked with that reason), never a 500.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import date
from typing import Annotated, Literal, TypeVar

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints, ValidationError

from pathways_contracts.text import Text, storable
from pathways_contracts.vocab import InspectionReason, InspectionResult, Program
from pathways_runtime.errors import InvalidCommand, Problem

ShortText = Annotated[Text, StringConstraints(min_length=1, max_length=200)]
Id = Annotated[Text, StringConstraints(min_length=1, max_length=64)]
AnswerKey = Annotated[Text, StringConstraints(min_length=1, max_length=100)]
Code = Annotated[Text, StringConstraints(max_length=64)]

# Dates screening and scheduling can compute with: a window of a year back, a follow-up or a plan years ahead.
# Outside them, date arithmetic overflows (year 1, year 9999): a 422, not a 500.
EARLIEST = date(1900, 1, 1)
LATEST = date(2999, 12, 31)
Day = Annotated[date, Field(ge=EARLIEST, le=LATEST)]

MAX_ANSWER_CHARS = 2000


def _answer(value: str | bool | int | None) -> str | bool | int | None:
    """A text answer is storable and short; checked on the answer as a whole, so the error names the item."""
    if isinstance(value, str):
        if len(value) > MAX_ANSWER_CHARS:
            raise ValueError(f"at most {MAX_ANSWER_CHARS} characters")
        return storable(value)
    return value


Answer = Annotated[str | bool | int | None, AfterValidator(_answer)]

Command = TypeVar("Command", bound=BaseModel)


def build(command: type[Command], fields: Mapping, loc: tuple[str | int, ...] = ("body",)) -> Command:
    """The command, or ``InvalidCommand`` naming each bad field under ``loc`` (for input that did not pass an
    HTTP body model first: an event, a batch item)."""
    try:
        return command.model_validate(fields)
    except ValidationError as exc:
        raise InvalidCommand(Problem((*loc, *e["loc"]), e["msg"], e["type"]) for e in exc.errors()) from None


class InspectionFields(BaseModel):
    """What a department's system sends about one inspection: codes and checklist answers, never names of people."""

    model_config = ConfigDict(extra="forbid")

    establishment_id: Id
    program: Program
    reason: InspectionReason
    inspected_on: Day
    result: InspectionResult
    indicator_codes: list[Code] = Field(default_factory=list, max_length=100,
                                        description="Indicator catalog codes observed.")
    checklist_version: Annotated[Text, StringConstraints(max_length=64)] | None = None
    answers: dict[AnswerKey, Answer] = Field(
        default_factory=dict, max_length=200, description="Checklist item answers.")
    interpreter_language: Annotated[Text, StringConstraints(max_length=40)] | None = Field(
        default=None, description="The language, when an interpreter was used.")


class RecordInspection(InspectionFields):
    """Record one inspection: store it, announce it, screen the establishment, schedule follow-ups.

    ``department`` and ``recorded_by`` come from the caller's token (HTTP) or from the submitted event.
    """

    inspection_id: uuid.UUID = Field(default_factory=uuid.uuid4,
                                     description="Chosen by the sender for idempotency; a resend is not recorded twice.")
    department: ShortText
    recorded_by: ShortText


class RequestFollowUp(BaseModel):
    model_config = ConfigDict(extra="forbid")

    establishment_id: Id
    reason: Literal["follow_up"] = "follow_up"
    due_on: Day
    red_flag_id: uuid.UUID | None = None
    requested_by: Annotated[Text, StringConstraints(min_length=1, max_length=100)]
    program: Program | None = None
    idempotency_key: Annotated[Text, StringConstraints(max_length=200)] | None = None


class UpsertEstablishment(BaseModel):
    """Add or update one establishment, idempotent on its license number."""

    model_config = ConfigDict(extra="forbid")

    id: Id = Field(description="Registry id, stable across departments.")
    license_number: Id
    name: ShortText
    license_type: Annotated[Text, StringConstraints(min_length=1, max_length=100)]
    license_status: Annotated[Text, StringConstraints(min_length=1, max_length=40)] = Field(examples=["active"])
    license_expiry: date | None = None
    address: Annotated[Text, StringConstraints(max_length=500)] | None = None
    area: Annotated[Text, StringConstraints(max_length=200)] | None = Field(
        default=None, description="Ward or neighbourhood, for equity reporting.")
    jurisdiction: Annotated[Text, StringConstraints(min_length=1, max_length=100)]


class ImportRegistry(BaseModel):
    """Import a license-registry CSV (or one chunk of it)."""

    text: str
    mapping: dict[str, str] = Field(default_factory=dict, description="{our_column: their_column}")
    line_offset: int = Field(0, ge=0)
    import_id: uuid.UUID | None = None
