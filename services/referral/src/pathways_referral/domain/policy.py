"""The routing policy: a versioned data file per jurisdiction, validated on load.

A policy is an ordered list of rules. Each rule has a ``when`` (a conjunction of
conditions over the case facts; an empty ``when`` always matches) and the targets
it refers the case to, listed in priority order. Models forbid unknown keys, so a
misspelt condition fails loudly instead of silently matching everything.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from importlib.resources import files
from importlib.resources.abc import Traversable
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from pathways_contracts.vocab import Category, Dimension, Level
from pathways_referral.domain.vocab import AgencyKind, Approach

POLICY_DIR: Traversable = files("pathways_referral").joinpath("policy", "routing")
DEFAULT_JURISDICTION = "default"
_JURISDICTION = re.compile(r"^[a-z0-9][a-z0-9_-]*$")  # also keeps file lookups inside POLICY_DIR


@dataclass(frozen=True)
class CaseFacts:
    """What routing may look at: observations of a business and the triage decision, never a person."""

    categories: frozenset[Category]
    dimensions: frozenset[Dimension]
    level: Level
    minor_indicated: bool = False
    imminent_danger: bool = False
    triage_approaches: frozenset[Approach] | None = None  # None: no triage decision yet, defaults apply


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Condition(_Strict):
    categories_any: frozenset[Category] | None = None
    dimensions_any: frozenset[Dimension] | None = None
    min_level: Level | None = None
    minor_indicated: bool | None = None
    imminent_danger: bool | None = None
    triage: Literal["pending", "decided"] | None = None
    approaches_any: frozenset[Approach] | None = Field(None, description="Implies a triage decision.")

    def matches(self, facts: CaseFacts) -> bool:
        return all(check(self, facts) for check in _CHECKS)

    @property
    def depends_on_triage(self) -> bool:
        return self.triage is not None or self.approaches_any is not None


def _categories(c: Condition, f: CaseFacts) -> bool:
    return c.categories_any is None or bool(c.categories_any & f.categories)


def _dimensions(c: Condition, f: CaseFacts) -> bool:
    return c.dimensions_any is None or bool(c.dimensions_any & f.dimensions)


def _level(c: Condition, f: CaseFacts) -> bool:
    return c.min_level is None or f.level.rank >= c.min_level.rank


def _minor(c: Condition, f: CaseFacts) -> bool:
    return c.minor_indicated is None or c.minor_indicated == f.minor_indicated


def _danger(c: Condition, f: CaseFacts) -> bool:
    return c.imminent_danger is None or c.imminent_danger == f.imminent_danger


def _triage(c: Condition, f: CaseFacts) -> bool:
    if c.triage is None:
        return True
    return (f.triage_approaches is None) == (c.triage == "pending")


def _approaches(c: Condition, f: CaseFacts) -> bool:
    if c.approaches_any is None:
        return True
    return f.triage_approaches is not None and bool(c.approaches_any & f.triage_approaches)


_CHECKS = (_categories, _dimensions, _level, _minor, _danger, _triage, _approaches)


class PolicyTarget(_Strict):
    agency_kind: AgencyKind
    mandated: bool = Field(False, description="A report the law requires; triage cannot withdraw it.")
    due_hours: int = Field(gt=0, description="Longest time the agency may take to accept.")
    reason: str = Field(min_length=1)
    fallback: bool = Field(False, description="Offered only when the initial targets found no taker.")


class Rule(_Strict):
    id: str = Field(pattern=r"^R-[A-Z0-9-]+$")
    description: str = ""
    hard: bool = Field(False, description="Applies whatever the triage team decided.")
    when: Condition = Condition()
    targets: list[PolicyTarget] = Field(min_length=1)

    @model_validator(mode="after")
    def _coherent(self) -> Rule:
        kinds = [t.agency_kind for t in self.targets]
        if len(kinds) != len(set(kinds)):
            raise ValueError(f"rule {self.id} names an agency kind twice")
        if self.hard and self.when.depends_on_triage:
            raise ValueError(f"hard rule {self.id} must not depend on the triage decision")
        return self


class AcceptanceWindow(_Strict):
    """How long an agency has to accept a referral (see lifecycle.acceptance_deadline)."""

    default_commitment_hours: int = Field(72, gt=0, description="When the agency has stated no commitment.")
    urgent_cap_hours: int = Field(4, gt=0, description="Upper bound on the deadline for an urgent case.")


class RoutingPolicy(_Strict):
    jurisdiction: str = Field(pattern=_JURISDICTION.pattern)
    version: str = Field(min_length=1)
    description: str = ""
    acceptance: AcceptanceWindow = AcceptanceWindow()
    rules: list[Rule] = Field(min_length=1)

    @model_validator(mode="after")
    def _unique_rule_ids(self) -> RoutingPolicy:
        ids = [r.id for r in self.rules]
        if len(ids) != len(set(ids)):
            raise ValueError("rule ids must be unique")
        return self


@lru_cache(maxsize=256)  # keyed on the jurisdiction: bounded, jurisdictions come from events
def load_policy(jurisdiction: str, policy_dir: Traversable = POLICY_DIR) -> RoutingPolicy:
    """The newest policy version of a jurisdiction, or the default policy when it has none.

    Read from the package's data files and parsed once per process, as the other services load
    their policies (a changed policy ships as a new version file, with a restart).
    """
    for candidate in (jurisdiction, DEFAULT_JURISDICTION):
        resource = _newest_file(candidate, policy_dir)
        if resource is not None:
            return RoutingPolicy.model_validate_json(resource.read_text(encoding="utf-8"))
    raise FileNotFoundError(f"no routing policy for {jurisdiction!r} and no default in {policy_dir}")


def _newest_file(jurisdiction: str, policy_dir: Traversable) -> Traversable | None:
    if not _JURISDICTION.match(jurisdiction):
        return None
    versioned = re.compile(rf"^{re.escape(jurisdiction)}\.v(\d+)\.json$")
    found = [(int(m.group(1)), p.name, p) for p in policy_dir.iterdir() if (m := versioned.match(p.name))]
    return max(found)[2] if found else None
