"""Vocabularies of the referral domain: who can be referred to, and what triage can decide.

They live here, not in the shared contracts, until an event needs them as typed fields
(``case.triaged`` carries approaches as plain strings today).
"""

from enum import StrEnum


class AgencyKind(StrEnum):
    """The kinds of agency or department a case can be referred to."""

    VICTIM_SERVICES = "victim_services"
    LABOR_STANDARDS = "labor_standards"
    CHILD_PROTECTION = "child_protection"
    SAFE_HARBOR_NAVIGATOR = "safe_harbor_navigator"
    POLICE = "police"
    LICENSING = "licensing"
    HOUSING = "housing"
    HEALTH = "health"
    # Pre-court diversion (seed 002): police refer a person here instead of charging them.
    # Routing never targets it; an officer's referral does.
    COMMUNITY_DIVERSION = "community_diversion"


class Approach(StrEnum):
    """What the multidisciplinary triage team can decide for a case (several may apply)."""

    VICTIM_SERVICES_OUTREACH = "victim_services_outreach"
    LABOR_STANDARDS_ENFORCEMENT = "labor_standards_enforcement"
    LICENSE_ACTION = "license_action"
    CRIMINAL_INVESTIGATION = "criminal_investigation"
    CHILD_PROTECTION = "child_protection"
    NO_FURTHER_ACTION = "no_further_action"
