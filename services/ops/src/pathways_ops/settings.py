"""Settings of the ops console: where the services answer, and the shared runtime settings."""

from __future__ import annotations

from pydantic import Field

from pathways_runtime.settings import Settings


class OpsSettings(Settings):
    service_name: str = Field("ops", validation_alias="OTEL_SERVICE_NAME")
    inspection_url: str = Field("http://127.0.0.1:8001", validation_alias="PATHWAYS_INSPECTION_URL")
    referral_url: str = Field("http://127.0.0.1:8002", validation_alias="PATHWAYS_REFERRAL_URL")
    notification_url: str = Field("http://127.0.0.1:8003", validation_alias="PATHWAYS_NOTIFICATION_URL")
    # How often the overview's time series take a sample of every service's /metrics.
    sample_seconds: float = Field(10.0, validation_alias="PATHWAYS_OPS_SAMPLE_SECONDS")
    # The session cookie is Secure: browsers keep it on https, and on http only for localhost.
    cookie_secure: bool = Field(True, validation_alias="PATHWAYS_OPS_COOKIE_SECURE")

    def service_urls(self) -> dict[str, str]:
        return {"inspection": self.inspection_url, "referral": self.referral_url,
                "notification": self.notification_url}
