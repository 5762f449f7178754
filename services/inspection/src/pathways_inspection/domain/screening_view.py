"""What a reader of an establishment's screening may see: the notification redaction policy, applied to reads.

The triage team sees the whole breakdown (explaining the level to it is the
point). Every other reader sees what its department role would receive of a
``redflag.raised`` event (``pathways_contracts.redaction``): the police, for
example, get no victim-vulnerability codes, no minor flag and no score. The
breakdown keeps only the codes the role may see, and the lists derived from it
(contributing inspections, departments) are recomputed from those codes, so a
withheld code cannot be inferred from who saw it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pathways_contracts.catalog import load_catalog
from pathways_contracts.redaction import load_policy, redact
from pathways_runtime.errors import Forbidden

EVENT_TYPE = "redflag.raised"  # a screening read shows what a red flag carries
NEUTRAL = ("as_of", "window_start", "catalog_version")  # dates and versions: nothing about the establishment
RED_FLAG_FIELDS = ("id", "establishment_id", "level", "status", "raised_at", "updated_at")


def dimension_of(code: str) -> str | None:
    catalog = load_catalog()
    return catalog.get(code).dimension if code in catalog else None


@dataclass(frozen=True)
class ScreeningViewer:
    """``role`` is a redaction role (``police``, ``health``, ...); None is the triage team's full view."""

    role: str | None

    def screening(self, establishment_id: str, assessment: dict[str, Any], red_flag: dict | None) -> dict:
        if self.role is not None and load_policy().view(self.role, EVENT_TYPE) is None:
            raise Forbidden(f"role {self.role!r} may not read screening results")
        return {"establishment_id": establishment_id, "assessment": self.assessment(assessment),
                "red_flag": self.red_flag(red_flag)}

    def assessment(self, assessment: dict[str, Any]) -> dict[str, Any]:
        if self.role is None:
            return assessment
        fields = load_policy().view(self.role, EVENT_TYPE)[1].fields
        kept = redact(self.role, EVENT_TYPE, assessment, dimension_of)
        visible = set(kept.get("indicator_codes", ()))
        breakdown = [self._contribution(c, fields) for c in assessment.get("breakdown", ()) if c["code"] in visible]
        if "contributing_inspection_ids" in kept:
            kept["contributing_inspection_ids"] = sorted({i for c in breakdown for i in c["inspection_ids"]}, key=str)
        if "departments" in kept:
            kept["departments"] = sorted({d for c in breakdown for d in c["departments"]})
        return kept | {k: assessment[k] for k in NEUTRAL if k in assessment} | {"breakdown": breakdown}

    def red_flag(self, red_flag: dict | None) -> dict | None:
        if self.role is None or red_flag is None:
            return red_flag
        fields = load_policy().view(self.role, EVENT_TYPE)[1].fields
        shown = {k: red_flag[k] for k in RED_FLAG_FIELDS if k in red_flag}
        if "score" in fields:
            shown["score"] = red_flag.get("score")
        if isinstance(red_flag.get("explanation"), dict):
            shown["explanation"] = self.assessment(red_flag["explanation"])
        return shown

    @staticmethod
    def _contribution(contribution: dict, fields: frozenset[str]) -> dict:
        """A breakdown line: its weight only for roles that see the score, who saw it only for those who see that."""
        line = {"code": contribution["code"]}
        if "score" in fields:
            line["weight"] = contribution["weight"]
        if "contributing_inspection_ids" in fields:
            line["inspection_ids"] = contribution["inspection_ids"]
        if "departments" in fields:
            line["departments"] = contribution["departments"]
        return line
