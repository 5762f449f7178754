"""Which redaction role each department plays: policy data (``policy/grants.v1.json``), never a request.

A department token names its org; the org's grant is its role, for every read that is redacted by role:
the notifications it subscribes to and the screening results it reads. The body of a request never
chooses either, or any department could subscribe as victim services or ops and receive what only
they may see.
"""

from __future__ import annotations

from functools import lru_cache
from importlib import resources

from pydantic import BaseModel, ConfigDict

from pathways_contracts.redaction import DepartmentRole

GRANTS_FILE = "grants.v1.json"


class Grants(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    version: int
    description: str = ""
    departments: dict[str, DepartmentRole]

    def role_of(self, org: str) -> DepartmentRole | None:
        return self.departments.get(org)


@lru_cache(maxsize=1)
def load_grants() -> Grants:
    text = resources.files("pathways_contracts.policy").joinpath(GRANTS_FILE).read_text()
    return Grants.model_validate_json(text)
