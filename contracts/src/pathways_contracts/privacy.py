"""The one rule for what counts as person data, shared by everything that must keep it out.

No event carries facts about a person (a victim, a survivor, a worker): the contracts test checks
every event model with ``is_person_key``, the notification service drops any such key before a
department receives an event (the second line of defence should one slip in), and the runtime's
log processor redacts it from every log line; the insights service checks its own tables and inputs
with it. One list, so they cannot drift apart.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

# Words that name a fact about a person. Matched against whole words of a key
# (snake_case or camelCase), so "agency_id" or "interpreter_language" are not "age".
PERSON_WORDS = frozenset({
    "name", "names", "firstname", "lastname", "surname", "alias", "aliases", "dob", "birth", "birthdate",
    "birthday", "age", "phone", "mobile", "email", "contact", "contacts", "immigration", "notes", "ssn",
    "passport", "gender", "nationality", "ethnicity", "victim", "victims", "survivor", "people",
})
_WORD = re.compile(r"[A-Z]?[a-z]+|[A-Z]+(?![a-z])|\d+")


def is_person_key(key: str) -> bool:
    """True when a key names a fact about a person (any of its words is a person word, or starts with "person")."""
    words = [word.lower() for word in _WORD.findall(key)]
    return any(word in PERSON_WORDS or word.startswith("person") for word in words)


def without_person_keys(value: Any) -> Any:
    """``value`` with every person-named key dropped, at any depth (dicts inside lists too)."""
    if isinstance(value, dict):
        return {k: without_person_keys(v) for k, v in value.items() if not (isinstance(k, str) and is_person_key(k))}
    if isinstance(value, list | tuple):
        return [without_person_keys(item) for item in value]
    return value


def person_like(field_names: Iterable[str]) -> list[str]:
    """The names among ``field_names`` that name a fact about a person (a table's columns, say)."""
    return [name for name in field_names if is_person_key(name)]
