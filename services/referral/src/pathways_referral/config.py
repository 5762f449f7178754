"""Tunables of the referral service, read from the environment at each use.

Read at each use (not once at start) so an operator can shorten a window without a restart,
and so a test can expire a referral in seconds by setting the variables around one scenario.
"""

from __future__ import annotations

import os

SWEEP_SECONDS_ENV = "PATHWAYS_REFERRAL_SWEEP_SECONDS"
ACCEPT_WINDOW_SECONDS_ENV = "PATHWAYS_REFERRAL_ACCEPT_WINDOW_SECONDS"
IMMINENT_DANGER_RULES_ENV = "PATHWAYS_REFERRAL_IMMINENT_DANGER_RULES"

DEFAULT_SWEEP_SECONDS = 30.0
# Hard screening rules of the inspection service that mean someone may be in danger right now.
DEFAULT_IMMINENT_DANGER_RULES = "HR-IMMINENT-DANGER"


def sweep_seconds() -> float:
    """How often the sweeper looks for referrals past their acceptance deadline."""
    return max(0.1, float(os.environ.get(SWEEP_SECONDS_ENV) or DEFAULT_SWEEP_SECONDS))


def accept_window_seconds() -> float | None:
    """When set, every new referral must be accepted within this many seconds (overrides the policy)."""
    value = os.environ.get(ACCEPT_WINDOW_SECONDS_ENV)
    return float(value) if value else None


def imminent_danger_rules() -> frozenset[str]:
    raw = os.environ.get(IMMINENT_DANGER_RULES_ENV) or DEFAULT_IMMINENT_DANGER_RULES
    return frozenset(r.strip() for r in raw.split(",") if r.strip())
