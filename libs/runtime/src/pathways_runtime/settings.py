"""Settings from environment variables, with safe defaults for the embedded stack.

The same code runs against a real Apache Kafka cluster and PostgreSQL by
setting ``KAFKA_BOOTSTRAP_SERVERS`` and ``DATABASE_URL`` (and, for a secured
cluster, the ``KAFKA_SASL_*`` variables: each service is its own principal).
"""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

DEV_JWT_SECRET = "pathways-development-secret-change-me"  # noqa: S105 (embedded stack only)


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", extra="ignore")

    service_name: str = Field("pathways", validation_alias="OTEL_SERVICE_NAME")
    kafka_bootstrap_servers: str = "127.0.0.1:9092"
    kafka_security_protocol: str = "PLAINTEXT"
    kafka_sasl_mechanism: str = "PLAIN"
    kafka_sasl_username: str | None = None
    kafka_sasl_password: SecretStr | None = None
    kafka_request_timeout_ms: int = 15_000
    # auto: an idempotent producer when the broker grants a producer id (Apache Kafka), none on Tansu.
    kafka_enable_idempotence: str = "auto"
    database_url: str = "postgresql://postgres@127.0.0.1:5432/pathways"
    db_pool_max: int = 10
    otel_exporter_otlp_endpoint: str | None = None
    trace_dir: Path = Field(Path(".pathways/traces"), validation_alias="PATHWAYS_TRACE_DIR")
    log_level: str = "INFO"
    jwt_secret: SecretStr = Field(SecretStr(DEV_JWT_SECRET), validation_alias="PATHWAYS_JWT_SECRET")
    # Consumer retries: bounded attempts with exponential backoff, then the dead-letter topic.
    consumer_max_attempts: int = Field(3, validation_alias="PATHWAYS_CONSUMER_MAX_ATTEMPTS")
    consumer_backoff_seconds: float = Field(0.5, validation_alias="PATHWAYS_CONSUMER_BACKOFF_SECONDS")
    # Tansu answers a JoinGroup after about half the session timeout, so keep it well under the
    # request timeout; on Apache Kafka these are ordinary values.
    consumer_session_timeout_ms: int = Field(10_000, validation_alias="PATHWAYS_CONSUMER_SESSION_TIMEOUT_MS")
    outbox_poll_seconds: float = Field(2.0, validation_alias="PATHWAYS_OUTBOX_POLL_SECONDS")
