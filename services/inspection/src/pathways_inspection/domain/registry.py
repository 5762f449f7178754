"""Registry facts about establishments and inspections (businesses only, never persons)."""

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum
from typing import Any
from uuid import UUID

from pathways_contracts.vocab import InspectionReason, InspectionResult, Program


class LicenseStatus(StrEnum):
    ACTIVE = "active"
    PENDING = "pending"
    SUSPENDED = "suspended"
    REVOKED = "revoked"
    EXPIRED = "expired"
    INACTIVE = "inactive"


@dataclass(frozen=True, slots=True)
class Establishment:
    id: str
    license_number: str
    name: str
    license_type: str
    license_status: LicenseStatus
    jurisdiction: str
    license_expiry: date | None = None
    address: str | None = None
    area: str | None = None

    def is_active_on(self, day: date) -> bool:
        """Licensed and operating on that day: what routine inspection must cover."""
        unexpired = self.license_expiry is None or self.license_expiry >= day
        return self.license_status == LicenseStatus.ACTIVE and unexpired

    def is_of(self, program: Program, license_types: Mapping[Program, frozenset[str]] | None = None) -> bool:
        """Whether the program inspects this establishment; by default its license type is the program's name."""
        types = (license_types or {}).get(program, frozenset({program.value}))
        return self.license_type in types


@dataclass(frozen=True, slots=True)
class InspectionRecord:
    """A recorded inspection as the reports and the open-data export need it."""

    inspection_id: UUID | str
    establishment_id: str
    program: Program
    reason: InspectionReason
    inspected_on: date
    result: InspectionResult
    answers: Mapping[str, Any] = field(default_factory=dict)
    checklist_version: str | None = None
