"""Agency directory in the Open Referral HSDS 3.0 shape where it fits.

HSDS 3.0 names are kept (organization with ``website``, service with its ``organization_id``,
email, languages, schedule byday / opens_at / closes_at); the 2.0 name ``url`` of an
organisation is still accepted on input. Pathways adds what routing needs: the agency ``kind``, the
``jurisdictions`` it serves (HSDS service_area, simplified to jurisdiction ids, ``*``
for statewide), current ``capacity`` and its ``response_commitment_hours``.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import time
from importlib.resources.abc import Traversable
from importlib.resources import files
from typing import Annotated, Any, Literal

from pydantic import AliasChoices, BaseModel, ConfigDict, Field, model_validator

from pathways_referral.domain.text import Text
from pathways_referral.domain.vocab import AgencyKind

DIRECTORY_FILE = files("pathways_referral").joinpath("policy", "directory", "default.json")
# A BCP 47 tag (language, then subtags): also keeps control characters out of what routing compares.
LanguageTag = Annotated[str, Field(pattern=r"^[A-Za-z]{2,8}(-[A-Za-z0-9]{1,8}){0,4}$", max_length=35)]
MAX_COMMITMENT_HOURS = 24 * 365  # a deadline is computed from it: a year is already no commitment
STATEWIDE = "*"
Weekday = Literal["MO", "TU", "WE", "TH", "FR", "SA", "SU"]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Schedule(_Model):
    """HSDS schedule, reduced to weekly opening hours."""

    byday: list[Weekday] = Field(min_length=1)
    opens_at: time
    closes_at: time
    description: Text = Field("", max_length=2000)


class Service(_Model):
    id: Text = Field(min_length=1, max_length=200)
    organization_id: Text | None = Field(None, description="HSDS 3.0: the organisation providing it (filled in).")
    name: Text = Field(min_length=1, max_length=200)
    description: Text = Field("", max_length=4000)
    status: Literal["active", "inactive", "defunct", "temporarily closed"] = "active"


class Organization(_Model):
    id: str = Field(pattern=r"^[a-z0-9][a-z0-9-]*$", max_length=100)
    name: Text = Field(min_length=1, max_length=200)
    kind: AgencyKind
    description: Text = Field("", max_length=4000)
    jurisdictions: frozenset[Annotated[Text, Field(min_length=1, max_length=100)]] = Field(min_length=1)
    languages: list[LanguageTag] = Field(default_factory=lambda: ["en"], max_length=50,
                                         description="BCP 47 tags, e.g. en, es, so.")
    hours: list[Schedule] = Field(default_factory=list, max_length=50)
    capacity: int | None = Field(None, ge=0, le=1_000_000, description="New referrals it can take now; None: not limited.")
    response_commitment_hours: int | None = Field(None, gt=0, le=MAX_COMMITMENT_HOURS)
    email: Text | None = Field(None, max_length=320)
    website: Text | None = Field(None, max_length=2000, validation_alias=AliasChoices("website", "url"),
                                 description="HSDS 3.0 name; `url` (HSDS 2.0) is accepted on input.")
    services: list[Service] = Field(default_factory=list, max_length=100)

    @model_validator(mode="before")
    @classmethod
    def _services_name_their_organization(cls, data: Any) -> Any:
        # HSDS 3.0 services carry organization_id; a client may leave it out, it can only be this one.
        if isinstance(data, dict) and isinstance(data.get("services"), list):
            data = data | {"services": [s | {"organization_id": s.get("organization_id") or data.get("id")}
                                        if isinstance(s, dict) else s for s in data["services"]]}
        return data

    @model_validator(mode="after")
    def _own_services(self) -> Organization:
        if any(s.organization_id != self.id for s in self.services):
            raise ValueError("every service's organization_id must be the organisation's id")
        return self

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


def load_directory(resource: Traversable = DIRECTORY_FILE) -> Directory:
    """The sample directory shipped with the package (seeds an empty directory table)."""
    return Directory.model_validate_json(resource.read_text(encoding="utf-8"))


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
