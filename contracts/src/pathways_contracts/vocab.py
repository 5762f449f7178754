"""Shared vocabularies: the values every department's systems agree on."""

from enum import StrEnum


class Program(StrEnum):
    """The inspection programs that record observations."""

    MASSAGE = "massage_establishment"
    FOOD = "food_establishment"
    LODGING = "lodging"
    LABOR = "labor_standards_site_visit"
    RENTAL_HOUSING = "rental_housing"


class InspectionReason(StrEnum):
    ROUTINE = "routine"
    COMPLAINT = "complaint"
    FOLLOW_UP = "follow_up"


class InspectionResult(StrEnum):
    PASS = "pass"
    CONDITIONAL = "conditional"
    FAIL = "fail"
    ENTRY_REFUSED = "entry_refused"


class Level(StrEnum):
    """Screening levels, in increasing order of concern."""

    NONE = "none"
    CONCERN = "concern"
    RED_FLAG = "red_flag"
    URGENT = "urgent"

    @property
    def rank(self) -> int:
        return list(Level).index(self)


class Category(StrEnum):
    SEX = "sex"
    LABOR = "labor"
    BOTH = "both"


class Dimension(StrEnum):
    VICTIM_VULNERABILITY = "victim_vulnerability"
    CRIMINAL_OPERATION = "criminal_operation"
    REGULATORY = "regulatory"


class ReferralStatus(StrEnum):
    """HL7 FHIR Task statuses, the vocabulary referral systems already share."""

    REQUESTED = "requested"
    ACCEPTED = "accepted"
    REJECTED = "rejected"
    IN_PROGRESS = "in-progress"
    COMPLETED = "completed"
    CANCELLED = "cancelled"
    FAILED = "failed"
