"""Text a person or a client typed, safe to store: no NUL character, no lone surrogate.

PostgreSQL refuses both (in ``text`` and in ``jsonb``), so without this check they pass validation
and fail at the database as a 500. As a pydantic type they fail at the edge, as a 422 naming the field.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import AfterValidator


def _storable(value: str) -> str:
    if "\x00" in value:
        raise ValueError("must not contain a NUL character")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError("must be valid Unicode (a lone surrogate is not)") from None
    return value


Text = Annotated[str, AfterValidator(_storable)]
