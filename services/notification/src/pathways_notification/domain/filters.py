"""Subscription filters: which events a department wants pushed to it.

An empty constraint means "any". A non-empty constraint on a field the event
does not carry (a jurisdiction filter against ``referral.accepted``, which
has no jurisdiction) does not match: a department that asked for its own
jurisdiction must not receive another's events because the field was absent.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from pydantic import BaseModel, ConfigDict

from pathways_contracts.vocab import Category, Level, Program

# A red flag of category "both" concerns sex and labor trafficking alike.
_BOTH = frozenset({Category.SEX, Category.LABOR, Category.BOTH})


class Filter(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    jurisdictions: frozenset[str] = frozenset()
    min_level: Level | None = None
    categories: frozenset[Category] = frozenset()
    programs: frozenset[Program] = frozenset()


def matches(spec: Filter, event_type: str, data: dict[str, Any]) -> bool:
    """Whether an event of ``event_type`` with ``data`` passes the filter; which event types a subscription
    wants is the subscription's own list (``Subscription.event_types``), checked before this."""
    return (_any_or_in(spec.jurisdictions, data.get("jurisdiction"))
            and _any_or_in(spec.programs, data.get("program"))
            and _level_at_least(spec.min_level, data.get("level"))
            and _categories_overlap(spec.categories, data.get("categories")))


def _any_or_in(allowed: frozenset, value: object) -> bool:
    return not allowed or (value is not None and value in allowed)


def _level_at_least(minimum: Level | None, value: object) -> bool:
    if minimum is None:
        return True
    try:
        return Level(value).rank >= minimum.rank
    except ValueError:  # no level on this event, or one this version does not know
        return False


def _categories_overlap(wanted: frozenset[Category], seen: Iterable[str] | None) -> bool:
    if not wanted:
        return True
    return bool(_expand(wanted) & _expand(seen or ()))


def _expand(categories: Iterable[str]) -> set[str]:
    expanded = set(categories)
    return expanded | _BOTH if Category.BOTH in expanded else expanded
