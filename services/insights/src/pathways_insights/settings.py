"""Settings of the insights service (pydantic-settings, from the environment, built once by bootstrap)."""

from __future__ import annotations

from pydantic import Field

from pathways_insights.domain.disclosure import K_MINIMUM
from pathways_runtime.settings import Settings


class InsightsSettings(Settings):
    service_name: str = Field("insights", validation_alias="OTEL_SERVICE_NAME")
    # The smallest count a statistics release may publish: configurable upwards, never under 11.
    k_anonymity: int = Field(K_MINIMUM, ge=K_MINIMUM, validation_alias="PATHWAYS_INSIGHTS_K")
    # The referral service's hard screening rules that mean imminent danger (its
    # PATHWAYS_REFERRAL_IMMINENT_DANGER_RULES): a simulation routes those cases as it would.
    imminent_danger: str = Field("HR-IMMINENT-DANGER", validation_alias="PATHWAYS_REFERRAL_IMMINENT_DANGER_RULES")
    # The longest period one simulation may replay: bounds what one request holds in memory.
    simulation_max_days: int = Field(3 * 366, gt=0, validation_alias="PATHWAYS_INSIGHTS_SIMULATION_MAX_DAYS")

    @property
    def imminent_danger_rules(self) -> frozenset[str]:
        return frozenset(r.strip() for r in self.imminent_danger.split(",") if r.strip())
