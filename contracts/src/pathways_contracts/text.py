"""Text that can be stored: no NUL character and no lone surrogate.

PostgreSQL refuses a NUL in ``text`` and in ``jsonb``, and a lone surrogate
(``"\\ud800"``, valid in JSON, not in UTF-8) cannot be encoded for the wire.
Both would fail deep in the driver as a 500; declaring a field as ``Text``
turns them into a 422 that names the field, before anything is stored.
"""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import AfterValidator

_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


def storable(value: str) -> str:
    """``value`` unchanged, or ValueError naming what PostgreSQL cannot store."""
    found = _UNSTORABLE.search(value)
    if found is not None:
        what = "a NUL character" if found.group() == "\x00" else "a lone surrogate (not valid UTF-8)"
        raise ValueError(f"contains {what} at position {found.start()}")
    return value


Text = Annotated[str, AfterValidator(storable)]
