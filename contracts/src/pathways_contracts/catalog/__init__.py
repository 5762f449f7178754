"""The shared indicator catalog: the codes every department records and screening weighs.

The catalog is data (``indicators.<version>.json`` beside this module), read
with importlib.resources so it also works from an installed wheel.
"""

from collections import Counter
from functools import cache
from importlib.resources import files

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, model_validator

from pathways_contracts.vocab import Category, Dimension, Program

__all__ = ["Catalog", "Indicator", "IndicatorSource", "load_catalog"]


class IndicatorSource(BaseModel):
    """The public source an indicator is drawn from, so reviewers can check it."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = Field(min_length=1)
    url: str = Field(pattern=r"^https?://\S+$")


class Indicator(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    code: str = Field(pattern=r"^[A-Z]+(-[A-Z0-9]+)+$", description="Stable code; never reused.")
    label: str = Field(min_length=1)
    description: str = Field(min_length=1)
    category: Category
    dimension: Dimension
    programs: tuple[Program, ...] = Field(min_length=1, description="Programs whose inspectors may record it.")
    weight: float = Field(ge=0, description="Default screening weight; a jurisdiction's rules may override it.")
    source: IndicatorSource

    def points_to(self, category: Category) -> bool:
        """Whether this indicator is evidence of the given trafficking category."""
        return self.category in (category, Category.BOTH)


class Catalog(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    version: str = Field(min_length=1)
    description: str = ""
    indicators: tuple[Indicator, ...] = Field(min_length=1)
    _by_code: dict[str, Indicator] = PrivateAttr(default_factory=dict)

    @model_validator(mode="after")
    def _codes_are_unique(self) -> "Catalog":
        counts = Counter(i.code for i in self.indicators)
        duplicates = sorted(code for code, n in counts.items() if n > 1)
        if duplicates:
            raise ValueError(f"duplicate indicator codes: {', '.join(duplicates)}")
        return self

    def model_post_init(self, __context: object) -> None:
        self._by_code = {i.code: i for i in self.indicators}

    @property
    def codes(self) -> frozenset[str]:
        return frozenset(self._by_code)

    def get(self, code: str) -> Indicator:
        """The indicator with this code; KeyError names an unknown code."""
        try:
            return self._by_code[code]
        except KeyError:
            raise KeyError(f"unknown indicator code {code!r} in catalog {self.version}") from None

    def __contains__(self, code: object) -> bool:
        return code in self._by_code

    def for_program(self, program: Program) -> tuple[Indicator, ...]:
        return tuple(i for i in self.indicators if program in i.programs)


@cache
def load_catalog(version: str = "v1") -> Catalog:
    """The catalog of the given version, parsed once per process."""
    resource = files(__name__).joinpath(f"indicators.{version}.json")
    if not resource.is_file():
        raise LookupError(f"no indicator catalog {version!r}")
    return Catalog.model_validate_json(resource.read_text(encoding="utf-8"))
