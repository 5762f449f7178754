"""The errors a use case raises, and what each means at every edge.

A command handler raises these; the HTTP layer maps them to a status code
(``InvalidCommand`` → 422 naming each field, ``NotFound`` → 404, ``Conflict`` →
409, ``Forbidden`` → 403), and the consumer pipeline parks an event whose handler
raised ``Unprocessable`` (or its subclass ``InvalidCommand``) on the dead-letter
topic at once, with the reason, instead of retrying it.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass


class Unprocessable(Exception):
    """A well-formed event or request that a business rule rejects for good: retrying cannot help."""


@dataclass(frozen=True)
class Problem:
    """One bad field: ``loc`` is its path (``("body", "indicator_codes", 2)``), ``msg`` says why."""

    loc: tuple[str | int, ...]
    msg: str
    type: str = "value_error"

    def as_detail(self) -> dict:
        """The shape FastAPI uses for its own 422s, so clients parse one format."""
        return {"loc": list(self.loc), "msg": self.msg, "type": self.type}

    def __str__(self) -> str:
        path = ".".join(str(p) for p in self.loc if p != "body")
        return f"{path or '(root)'}: {self.msg}"


class InvalidCommand(Unprocessable):
    """A command whose fields break the domain's rules; every bad field is named."""

    def __init__(self, problems: Iterable[Problem]) -> None:
        self.problems: Sequence[Problem] = tuple(problems)
        super().__init__("; ".join(str(p) for p in self.problems))

    @classmethod
    def field(cls, loc: tuple[str | int, ...] | str, msg: str, type: str = "value_error") -> InvalidCommand:
        """One bad field; a plain name is taken as a field of the body."""
        return cls([Problem(("body", loc) if isinstance(loc, str) else loc, msg, type)])


class NotFound(LookupError):
    """The thing a command names does not exist (or is not visible to the caller: same answer)."""


class Conflict(Exception):
    """The command cannot be applied in the thing's current state."""


class Forbidden(PermissionError):
    """The caller's token does not allow this."""
