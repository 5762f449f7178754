"""Agency directory in the Open Referral HSDS shape where it fits.

HSDS names are kept (organization, service, email, url, languages, schedule byday /
opens_at / closes_at); Pathways adds what routing needs: the agency ``kind``, the
``jurisdictions`` it serves (HSDS service_area, simplified to jurisdiction ids, ``*``
for statewide), current ``capacity`` and its ``response_commitment_hours``.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import time
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from pathways_referral.domain.vocab import AgencyKind

DIRECTORY_FILE = Path(__file__).resolve().parent.parent / "policy" / "directory" / "default.json"
STATEWIDE = "*"
Weekday = Literal["MO", "TU", "WE", "TH", "FR", "SA", "SU"]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Schedule(_Model):
    """HSDS schedule, reduced to weekly opening hours."""

    byday: list[Weekday] = Field(min_length=1)
    opens_at: time
    closes_at: time
    description: str = ""


class Service(_Model):
    id: str = Field(min_length=1)
    name: str = Field(min_length=1)
    description: str = ""
    status: Literal["active", "inactive", "defunct", "temporarily closed"] = "active"


class Organization(_Model):
    id: str = Field(pattern=r"^[a-z0-9][a-z0-9-]*$")
    name: str = Field(min_length=1)
    kind: AgencyKind
    description: str = ""
    jurisdictions: frozenset[str] = Field(min_length=1)
    languages: list[str] = Field(default_factory=lambda: ["en"], description="BCP 47 tags, e.g. en, es, so.")
    hours: list[Schedule] = Field(default_factory=list)
    capacity: int | None = Field(None, ge=0, description="New referrals it can take now; None: not limited.")
    response_commitment_hours: int | None = Field(None, gt=0)
    email: str | None = None
    url: str | None = None
    services: list[Service] = Field(default_factory=list)

    def serves(self, jurisdiction: str) -> bool:
        return jurisdiction in self.jurisdictions or STATEWIDE in self.jurisdictions

    def speaks(self, language: str | None) -> bool:
        return language is not None and _primary(language) in {_primary(lang) for lang in self.languages}

    @property
    def has_capacity(self) -> bool:
        return self.capacity is None or self.capacity > 0


class Directory(_Model):
    version: str = Field(min_length=1)
    description: str = ""
    organizations: list[Organization]

    @model_validator(mode="after")
    def _unique_ids(self) -> Directory:
        ids = [o.id for o in self.organizations]
        if len(ids) != len(set(ids)):
            raise ValueError("organization ids must be unique")
        return self

    def get(self, organization_id: str) -> Organization | None:
        return next((o for o in self.organizations if o.id == organization_id), None)


def _primary(language: str) -> str:
    return language.split("-")[0].lower()  # "es-MX" serves someone who asked for "es"


def load_directory(path: Path = DIRECTORY_FILE) -> Directory:
    return Directory.model_validate(json.loads(path.read_text(encoding="utf-8")))


def choose_agency(kind: AgencyKind, jurisdiction: str, language: str | None, directory: Directory,
                  exclude: Iterable[str] = ()) -> Organization | None:
    """The agency of ``kind`` to offer a referral to, or None when there is none left.

    Only agencies that serve the jurisdiction and have capacity are eligible; ``exclude``
    holds agencies already tried (declined or expired). Language is a preference, not a
    filter: an agency working through an interpreter is better than nobody. Then the
    fastest response commitment, then the id, so the choice is deterministic.
    """
    tried = set(exclude)
    eligible = [o for o in directory.organizations
                if o.kind is kind and o.serves(jurisdiction) and o.has_capacity and o.id not in tried]
    return min(eligible, key=lambda o: (not o.speaks(language), o.response_commitment_hours or 10_000, o.id),
               default=None)
