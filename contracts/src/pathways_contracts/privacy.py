"""What a fact about a person looks like in a field name: such fields never travel on the bus.

The contract tests check every event model against this list, and a service that must hold no
person data at all (insights) checks its own tables and inputs against it too.
"""

from __future__ import annotations

from collections.abc import Iterable

PERSON_FIELD_WORDS = ("name", "birth", "dob", "phone", "email", "contact", "immigration", "notes", "alias", "age")


def person_like(field_names: Iterable[str]) -> list[str]:
    """The names that carry a person-data word as one of their ``_``-separated parts."""
    return [f for f in field_names if any(word in f.lower().split("_") for word in PERSON_FIELD_WORDS)]
