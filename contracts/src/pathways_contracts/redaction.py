"""Redaction per department role: which fields of an event each role receives.

Shared by every read path that shows screening facts to a department: the
notification service's webhooks and e-mails, and the inspection service's
``GET /establishments/{id}/screening``, so a role sees the same on each.

The policy is data (``pathways_contracts/policy/redaction.v1.json``), an allow-list: a field
the policy does not name is dropped, so a field a producer adds later stays
private until someone decides who may see it. Two further guards sit on top:

- a role may be limited to indicator codes of some catalog dimensions
  (police never see victim-vulnerability indicators); a code whose dimension
  is unknown is withheld, because "unknown" must not mean "shareable";
- any key named like person data is dropped for every role, even when the
  policy lists it. No event carries person data; this is the second line of
  defence should one ever slip in.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from enum import StrEnum
from functools import lru_cache
from importlib import resources
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

from pathways_contracts.privacy import PERSON_WORDS, is_person_key  # noqa: F401 (one list: privacy.py)
from pathways_contracts.privacy import without_person_keys as _without_person_keys
from pathways_contracts.vocab import Dimension

POLICY_FILE = "redaction.v1.json"
INDICATOR_CODES = "indicator_codes"
DIMENSIONS = "dimensions"

DimensionOf = Callable[[str], str | None]


class DepartmentRole(StrEnum):
    """The role a subscribing department plays; it decides redaction."""

    POLICE = "police"
    LABOR = "labor"
    HEALTH = "health"
    HOUSING = "housing"
    LICENSING = "licensing"
    CHILD_PROTECTION = "child_protection"
    VICTIM_SERVICES = "victim_services"
    FINANCE = "finance"
    OPS = "ops"


class EventView(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    fields: frozenset[str]
    why: str | None = None


class RoleView(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    description: str = ""
    # None: every indicator code; a list (even empty): only codes of these dimensions.
    indicator_dimensions: frozenset[Dimension] | None = None
    events: dict[str, EventView | Literal["none"]]


class RedactionPolicy(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    version: int
    description: str = ""
    roles: dict[DepartmentRole, RoleView]

    def view(self, role: str, event_type: str) -> tuple[RoleView, EventView] | None:
        """The role's view of the event type; None when the role receives nothing of it."""
        role_view = self.roles.get(role)  # type: ignore[call-overload]
        event_view = role_view.events.get(event_type, "none") if role_view else "none"
        return None if event_view == "none" else (role_view, event_view)


@lru_cache(maxsize=1)
def load_policy() -> RedactionPolicy:
    text = resources.files("pathways_contracts.policy").joinpath(POLICY_FILE).read_text()
    return RedactionPolicy.model_validate_json(text)


def receives(role: str, event_type: str, policy: RedactionPolicy | None = None) -> bool:
    """Whether ``role`` gets anything at all about ``event_type`` (so no empty delivery is made)."""
    return (policy or load_policy()).view(role, event_type) is not None


def redact(role: str, event_type: str, data: dict[str, Any], dimension_of: DimensionOf,
           policy: RedactionPolicy | None = None) -> dict[str, Any]:
    """The part of ``data`` that ``role`` may receive; ``{}`` when it receives nothing of this type.

    An unknown role or event type receives nothing: the default is to withhold.
    """
    found = (policy or load_policy()).view(role, event_type)
    if found is None:
        return {}
    role_view, event_view = found
    kept = {key: value for key, value in data.items() if key in event_view.fields and not is_person_key(key)}
    if role_view.indicator_dimensions is not None:
        kept = _limit_to_dimensions(kept, role_view.indicator_dimensions, dimension_of)
    return {key: _without_person_keys(value) for key, value in kept.items()}


def _limit_to_dimensions(data: dict[str, Any], allowed: Iterable[str], dimension_of: DimensionOf) -> dict[str, Any]:
    allowed = set(allowed)
    if INDICATOR_CODES in data:
        data[INDICATOR_CODES] = [code for code in data[INDICATOR_CODES] if dimension_of(code) in allowed]
    if DIMENSIONS in data:
        # The list of dimensions seen would otherwise reveal that vulnerability indicators were withheld.
        data[DIMENSIONS] = [dim for dim in data[DIMENSIONS] if dim in allowed]
    return data
