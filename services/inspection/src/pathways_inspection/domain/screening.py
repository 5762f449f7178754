"""Screening: fuse what every department observed at one establishment into a level.

Pure and deterministic: the same observations, rules, catalog and ``as_of``
date always give the same assessment, with sorted outputs, so the breakdown
can be shown to the triage team as the explanation of the level.

Fusion: every observation of the establishment inspected on or after
``as_of - fusion_window_days`` (and not after ``as_of``) is combined; each
indicator code counts once, at the highest weight any observation gives it.
Weights are never negative, so an extra observation can only add codes and
raise weights: the score never goes down when evidence is added.
"""

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from enum import StrEnum
from functools import cache, lru_cache
from importlib.resources import files
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, model_validator

from pathways_contracts.catalog import Catalog, Indicator
from pathways_contracts.vocab import Category, Dimension, Level, Program

DEFAULT_JURISDICTION = "default"
_SAFE_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]*$")

InspectionId = UUID | str


@dataclass(frozen=True, slots=True)
class Observation:
    """What one inspection of the establishment recorded (no person data)."""

    inspection_id: InspectionId
    department: str
    program: Program
    inspected_on: date
    indicator_codes: tuple[str, ...] = field(default=())


class Thresholds(BaseModel):
    """Lowest score at which each level starts; below ``concern`` the level is none."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    concern: float = Field(gt=0)
    red_flag: float = Field(gt=0)
    urgent: float = Field(gt=0)

    @model_validator(mode="after")
    def _increasing(self) -> "Thresholds":
        if not self.concern <= self.red_flag <= self.urgent:
            raise ValueError("thresholds must satisfy concern <= red_flag <= urgent")
        return self

    def level_for(self, score: float) -> Level:
        for level in (Level.URGENT, Level.RED_FLAG, Level.CONCERN):
            if score >= getattr(self, level.value):
                return level
        return Level.NONE


class IndicatorSelector(BaseModel):
    """Matches an indicator whose category, dimension and code are each in the given lists (if given)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    categories: tuple[Category, ...] | None = None
    dimensions: tuple[Dimension, ...] | None = None
    codes: tuple[str, ...] | None = None

    def matches(self, indicator: Indicator) -> bool:
        return (
            (self.categories is None or indicator.category in self.categories)
            and (self.dimensions is None or indicator.dimension in self.dimensions)
            and (self.codes is None or indicator.code in self.codes)
        )


class HardRule(BaseModel):
    """Sets at least ``level`` when all of ``all_codes`` are seen, plus any *other* indicator matching ``any_indicator``."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str = Field(pattern=r"^HR-[A-Z0-9-]+$")
    description: str
    all_codes: tuple[str, ...] = Field(min_length=1)
    any_indicator: IndicatorSelector | None = None
    level: Level

    def fires(self, seen: Mapping[str, Indicator]) -> bool:
        if not all(code in seen for code in self.all_codes):
            return False
        if self.any_indicator is None:
            return True
        others = (ind for code, ind in seen.items() if code not in self.all_codes)
        return any(self.any_indicator.matches(ind) for ind in others)


class Rules(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    jurisdiction: str
    version: str
    catalog_version: str
    notes: tuple[str, ...] = ()
    fusion_window_days: int = Field(default=365, gt=0)
    weight_overrides: dict[str, float] = Field(default_factory=dict)
    program_weight_overrides: dict[Program, dict[str, float]] = Field(default_factory=dict)
    thresholds: Thresholds
    hard_rules: tuple[HardRule, ...] = ()

    @model_validator(mode="after")
    def _weights_not_negative(self) -> "Rules":
        # Negative weights would let new evidence lower a score; screening relies on that never happening.
        weights = [*self.weight_overrides.values()]
        weights += [w for per_code in self.program_weight_overrides.values() for w in per_code.values()]
        if any(w < 0 for w in weights):
            raise ValueError("weights must not be negative")
        return self

    def weight(self, indicator: Indicator, program: Program) -> float:
        per_program = self.program_weight_overrides.get(program, {})
        if indicator.code in per_program:
            return per_program[indicator.code]
        return self.weight_overrides.get(indicator.code, indicator.weight)

    def referenced_codes(self) -> set[str]:
        codes = set(self.weight_overrides)
        codes.update(c for per_code in self.program_weight_overrides.values() for c in per_code)
        for rule in self.hard_rules:
            codes.update(rule.all_codes)
            if rule.any_indicator is not None and rule.any_indicator.codes:
                codes.update(rule.any_indicator.codes)
        return codes


def rules_problems(rules: Rules, catalog: Catalog) -> list[str]:
    """Codes the rules refer to that the catalog does not know (a typo would silently do nothing)."""
    problems = [f"{code} is not in catalog {catalog.version}" for code in sorted(rules.referenced_codes()) if code not in catalog]
    if rules.catalog_version != catalog.version:
        problems.append(f"rules are for catalog {rules.catalog_version}, not {catalog.version}")
    return problems


@lru_cache(maxsize=1024)  # the files ship with the package: looked up once per jurisdiction, not per inspection
def load_rules(jurisdiction: str = DEFAULT_JURISDICTION, version: str = "v1") -> Rules:
    """The jurisdiction's screening rules, or the default rules when it has none."""
    name = jurisdiction.lower()
    if _SAFE_NAME.match(name) and _screening_files().joinpath(f"{name}.{version}.json").is_file():
        return _load_rules_file(f"{name}.{version}.json")
    return _load_rules_file(f"{DEFAULT_JURISDICTION}.{version}.json")


def _screening_files():  # noqa: ANN202 - an importlib Traversable
    return files("pathways_inspection").joinpath("policy", "screening")


@cache
def _load_rules_file(filename: str) -> Rules:
    return Rules.model_validate_json(_screening_files().joinpath(filename).read_text(encoding="utf-8"))


class Contribution(BaseModel):
    """One line of the explanation: a code, the weight it added, and who saw it."""

    model_config = ConfigDict(frozen=True)

    code: str
    weight: float
    inspection_ids: tuple[InspectionId, ...]
    departments: tuple[str, ...]


class Assessment(BaseModel):
    model_config = ConfigDict(frozen=True)

    level: Level
    score: float
    breakdown: tuple[Contribution, ...]
    contributing_inspection_ids: tuple[InspectionId, ...]
    departments: tuple[str, ...]
    indicator_codes: tuple[str, ...]
    categories: tuple[Category, ...]
    dimensions: tuple[Dimension, ...]
    minor_indicated: bool
    rule_ids: tuple[str, ...] = Field(description="Hard rules that fired.")
    rules_version: str
    catalog_version: str
    as_of: date
    window_start: date
    unknown_codes: tuple[str, ...] = Field(default=(), description="Codes not in the catalog: ignored, listed so they are seen.")


MINOR_CODE = "VUL-MINOR-PRESENT"


def screen(observations: Iterable[Observation], rules: Rules, catalog: Catalog, as_of: date) -> Assessment:
    """Assess one establishment from all its observations (any order; those outside the window are ignored)."""
    window_start = as_of - timedelta(days=rules.fusion_window_days)
    in_window = [o for o in observations if window_start <= o.inspected_on <= as_of]
    seen, unknown = _seen_indicators(in_window, catalog)
    breakdown = tuple(_contribution(code, seen[code], in_window, rules) for code in sorted(seen))
    score = round(sum(c.weight for c in breakdown), 6)
    fired = tuple(sorted(rule.id for rule in rules.hard_rules if rule.fires(seen)))
    level = max(
        [rules.thresholds.level_for(score), *(r.level for r in rules.hard_rules if r.id in fired)],
        key=lambda lv: lv.rank,
    )
    contributing = [o for o in in_window if any(code in seen for code in o.indicator_codes)]
    return Assessment(
        level=level,
        score=score,
        breakdown=breakdown,
        contributing_inspection_ids=_sorted_ids(o.inspection_id for o in contributing),
        departments=tuple(sorted({o.department for o in contributing})),
        indicator_codes=tuple(sorted(seen)),
        categories=tuple(sorted({i.category for i in seen.values()})),
        dimensions=tuple(sorted({i.dimension for i in seen.values()})),
        minor_indicated=MINOR_CODE in seen,
        rule_ids=fired,
        rules_version=rules.version,
        catalog_version=catalog.version,
        as_of=as_of,
        window_start=window_start,
        unknown_codes=tuple(sorted(unknown)),
    )


def _seen_indicators(observations: list[Observation], catalog: Catalog) -> tuple[dict[str, Indicator], set[str]]:
    codes = {code for o in observations for code in o.indicator_codes}
    known = {code: catalog.get(code) for code in codes if code in catalog}
    return known, codes - set(known)


def _contribution(code: str, indicator: Indicator, observations: list[Observation], rules: Rules) -> Contribution:
    seen_by = [o for o in observations if code in o.indicator_codes]
    return Contribution(
        code=code,
        weight=max(rules.weight(indicator, o.program) for o in seen_by),
        inspection_ids=_sorted_ids(o.inspection_id for o in seen_by),
        departments=tuple(sorted({o.department for o in seen_by})),
    )


def _sorted_ids(ids: Iterable[InspectionId]) -> tuple[InspectionId, ...]:
    return tuple(sorted(set(ids), key=str))


class Decision(StrEnum):
    RAISE = "raise"
    ESCALATE = "escalate"
    NOTHING = "nothing"


def decide(open_level: Level | None, assessment: Assessment) -> Decision:
    """Raise a red flag when none is open; escalate an open one only when the level goes up."""
    if open_level is None:
        return Decision.RAISE if assessment.level.rank >= Level.RED_FLAG.rank else Decision.NOTHING
    return Decision.ESCALATE if assessment.level.rank > open_level.rank else Decision.NOTHING
