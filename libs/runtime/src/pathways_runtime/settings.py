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
# The embedded Tansu broker answers a waiting fetch only when its wait ends, so each consume hop waits
# up to this long (Apache Kafka answers at once and keeps the default 500). Measured with
# `pathways bench e2e` on a 2-core machine: see docs/performance.md.
EMBEDDED_FETCH_MAX_WAIT_MS = 50


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", extra="ignore")

    service_name: str = Field("pathways", validation_alias="OTEL_SERVICE_NAME")
    kafka_bootstrap_servers: str = "127.0.0.1:9092"
    kafka_security_protocol: str = "PLAINTEXT"
    kafka_sasl_mechanism: str = "PLAIN"
    kafka_sasl_username: str | None = None
    kafka_sasl_password: SecretStr | None = None
    kafka_request_timeout_ms: int = 15_000
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
    # Batched consumption: up to this many records per poll, one transaction and one offset commit each.
    consumer_batch_max_records: int = Field(500, validation_alias="PATHWAYS_CONSUMER_BATCH_MAX_RECORDS")
    # How long a poll waits for the first record before looping (FastStream also sleeps this long
    # after an empty poll, so it bounds the added latency).
    consumer_batch_timeout_ms: int = Field(20, validation_alias="PATHWAYS_CONSUMER_BATCH_TIMEOUT_MS")
    # How long the broker may hold a fetch that found nothing. Apache Kafka answers a waiting fetch as
    # soon as data arrives, so 500 costs no latency there. The embedded Tansu broker does not: each
    # consume hop waits up to this long, so `pathways run` and the tests set it lower (see
    # EMBEDDED_FETCH_MAX_WAIT_MS), paying some idle CPU for latency.
    consumer_fetch_max_wait_ms: int = Field(500, validation_alias="PATHWAYS_CONSUMER_FETCH_MAX_WAIT_MS")
    # The largest event value accepted (bytes); a larger record is parked, not handled. Per event type:
    # PATHWAYS_MAX_EVENT_BYTES_BY_TYPE='{"registry.imported": 1048576}'.
    max_event_bytes: int = Field(256 * 1024, validation_alias="PATHWAYS_MAX_EVENT_BYTES")
    max_event_bytes_by_type: dict[str, int] = Field({}, validation_alias="PATHWAYS_MAX_EVENT_BYTES_BY_TYPE")
    # Share of new traces recorded (ParentBased: a trace started upstream keeps its decision).
    trace_sample_ratio: float = Field(1.0, ge=0.0, le=1.0, validation_alias="PATHWAYS_TRACE_SAMPLE_RATIO")
    outbox_batch_size: int = Field(500, validation_alias="PATHWAYS_OUTBOX_BATCH_SIZE")
    faststream_log_level: str = Field("WARNING", validation_alias="PATHWAYS_FASTSTREAM_LOG_LEVEL")
    # A span per SQL statement (asyncpg instrumentation): off by default, it costs more than the rest.
    trace_sql: bool = Field(False, validation_alias="PATHWAYS_TRACE_SQL")
