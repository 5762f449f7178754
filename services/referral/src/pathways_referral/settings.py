"""Settings of the referral service: the runtime's settings plus the referral tunables.

Built once by ``bootstrap`` (from the environment, or handed in by a test) and passed down:
nothing reads ``os.environ`` at call time. A test that needs a short acceptance window builds
the service with its own settings, or changes the running service's settings object.
"""

from __future__ import annotations

from typing import Annotated, ClassVar

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import NoDecode, SettingsConfigDict

from pathways_runtime.settings import Settings

# Hard screening rules of the inspection service that mean someone may be in danger right now.
DEFAULT_IMMINENT_DANGER_RULES = frozenset({"HR-IMMINENT-DANGER"})
MIN_SWEEP_SECONDS = 0.1  # a lower value would keep a core busy asking the database about deadlines


class ReferralSettings(Settings):
    model_config = SettingsConfigDict(env_file=".env", extra="ignore", populate_by_name=True)
    # People's details are sealed with the field key: outside development mode, no key, no start.
    required_secrets: ClassVar[tuple[str, ...]] = (*Settings.required_secrets, "field_key")

    service_name: str = Field("referral", validation_alias="OTEL_SERVICE_NAME")
    sweep_seconds: float = Field(30.0, validation_alias="PATHWAYS_REFERRAL_SWEEP_SECONDS",
                                 description="How often the sweeper looks for referrals past their deadline.")
    accept_window_seconds: float | None = Field(
        None, gt=0, validation_alias="PATHWAYS_REFERRAL_ACCEPT_WINDOW_SECONDS",
        description="When set, every new referral must be accepted within this many seconds (overrides the policy).")
    imminent_danger_rules: Annotated[frozenset[str], NoDecode] = Field(
        DEFAULT_IMMINENT_DANGER_RULES, validation_alias="PATHWAYS_REFERRAL_IMMINENT_DANGER_RULES",
        description="Screening hard rules (comma-separated) meaning someone may be in danger now.")
    field_key: SecretStr | None = Field(None, validation_alias="PATHWAYS_FIELD_KEY",
                                        description="<key id>:<base64 of 32 bytes>; required outside development mode.")
    field_keys_retired: str = Field("", validation_alias="PATHWAYS_FIELD_KEYS_RETIRED",
                                    description="Comma-separated retired keys, for decryption only.")

    @field_validator("sweep_seconds")
    @classmethod
    def _sweep_floor(cls, value: float) -> float:
        return max(MIN_SWEEP_SECONDS, value)

    @field_validator("imminent_danger_rules", mode="before")
    @classmethod
    def _comma_separated(cls, value: object) -> object:
        if isinstance(value, str):
            return frozenset(r.strip() for r in value.split(",") if r.strip()) or DEFAULT_IMMINENT_DANGER_RULES
        return value
