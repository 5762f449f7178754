"""Settings from environment variables, with safe defaults for the embedded stack.

The same code runs against a real Apache Kafka cluster and PostgreSQL by
setting ``KAFKA_BOOTSTRAP_SERVERS`` and ``DATABASE_URL`` (and, for a secured
cluster, the ``KAFKA_SASL_*`` variables: each service is its own principal).

Secrets have no defaults. A service names each secret it needs in
``required_secrets``; outside an explicit development mode (``PATHWAYS_DEV_MODE=1``,
set by ``make run`` and the test suite) it refuses to start while one is missing.
``pathways run`` generates random secrets once per installation (``installation_secret``)
and hands them to the services, so no constant in the source code signs or seals anything.

A fail point (``PATHWAYS_FAIL_POINT``, see ``failpoints.py``) is a test instrument: like a missing
secret, it stops a service from starting outside development mode.
"""

from __future__ import annotations

import base64
import hashlib
import os
import secrets
from pathlib import Path
from typing import Annotated, Any, ClassVar

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from pathways_runtime.failpoints import FailPoint

# The embedded Tansu broker answers a waiting fetch only when its wait ends, so each consume hop waits
# up to this long (Apache Kafka answers at once and keeps the default 500). Measured with
# `pathways bench e2e` on a 2-core machine: see docs/performance.md.
EMBEDDED_FETCH_MAX_WAIT_MS = 50
# A person's token should not outlive a working day; a longer one is refused even when correctly signed.
DEFAULT_TOKEN_MAX_TTL_SECONDS = 24 * 3600
MIN_JWT_SECRET_BYTES = 32  # RFC 7518 §3.2: an HS256 key at least as long as the hash output


class MissingSecrets(RuntimeError):
    """A service was asked to start without the secrets it needs, outside development mode."""


class FailPointRefused(RuntimeError):
    """A service was asked to start with a fail point set, outside development mode."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", extra="ignore")

    # Fields (attribute names) that must hold a value before the service starts, outside development mode.
    # A service's settings subclass adds its own:
    # ``required_secrets = Settings.required_secrets + ("field_key",)``.
    required_secrets: ClassVar[tuple[str, ...]] = ("jwt_secret",)

    service_name: str = Field("pathways", validation_alias="OTEL_SERVICE_NAME")
    dev_mode: bool = Field(False, validation_alias="PATHWAYS_DEV_MODE")
    state_dir: Path = Field(Path(".pathways"), validation_alias="PATHWAYS_STATE_DIR")
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
    jwt_secret: SecretStr | None = Field(None, validation_alias="PATHWAYS_JWT_SECRET")
    token_max_ttl_seconds: int = Field(DEFAULT_TOKEN_MAX_TTL_SECONDS, gt=0,
                                       validation_alias="PATHWAYS_TOKEN_MAX_TTL_SECONDS")
    # Request bodies larger than this are refused with 413 before they are read (a route may allow more).
    max_body_bytes: int = Field(1024 * 1024, gt=0, validation_alias="PATHWAYS_MAX_BODY_BYTES")
    # Past this many requests in flight a request is answered 503 with Retry-After at once, not queued
    # (shedding.py; probes, metrics and docs are never refused); 0 for no bound.
    max_requests_in_flight: int = Field(64, ge=0, validation_alias="PATHWAYS_MAX_REQUESTS_IN_FLIGHT")
    # Consumer retries: bounded attempts with exponential backoff, then the dead-letter topic.
    consumer_max_attempts: int = Field(3, validation_alias="PATHWAYS_CONSUMER_MAX_ATTEMPTS")
    consumer_backoff_seconds: float = Field(0.5, validation_alias="PATHWAYS_CONSUMER_BACKOFF_SECONDS")
    # Tansu answers a JoinGroup after about half the session timeout, so keep it well under the
    # request timeout; on Apache Kafka these are ordinary values.
    consumer_session_timeout_ms: int = Field(10_000, validation_alias="PATHWAYS_CONSUMER_SESSION_TIMEOUT_MS")
    outbox_poll_seconds: float = Field(2.0, validation_alias="PATHWAYS_OUTBOX_POLL_SECONDS")
    # A loop that beats by name without saying how often is expected at least this often (see heartbeat.py).
    heartbeat_seconds: float = Field(60.0, gt=0, validation_alias="PATHWAYS_HEARTBEAT_SECONDS")
    # Stopping has three steps (the loops, the broker's clients, the database pool) that share this
    # deadline, so a SIGTERM'd process exits within an orchestrator's grace period (Kubernetes: 30 s;
    # serve.HTTP_DRAIN_SECONDS for requests in flight come first) even when a step hangs; the step that
    # overran is logged with what every task was doing. The broker's step alone may take 15 s: that
    # long FastStream lets a handler in hand finish.
    shutdown_seconds: float = Field(20.0, gt=0, validation_alias="PATHWAYS_SHUTDOWN_SECONDS")
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
    # A test instrument (failpoints.py): SIGKILL this process at a point, e.g. `relay.after_publish:40` (at the
    # batch that brings the events published to 40). Refused outside development mode. NoDecode: text, not JSON.
    fail_point: Annotated[FailPoint | None, NoDecode] = Field(None, validation_alias="PATHWAYS_FAIL_POINT")
    # A file the fail point appends its line to just before the kill (the fault suite reads it).
    fail_point_marker: Path | None = Field(None, validation_alias="PATHWAYS_FAIL_POINT_MARKER")

    @field_validator("fail_point", mode="before")
    @classmethod
    def _blank_is_unset(cls, value: Any) -> Any:
        return None if isinstance(value, str) and not value.strip() else value

    def missing_secrets(self) -> list[str]:
        """The environment variables of the required secrets that are unset (or empty)."""
        missing = []
        for name in self.required_secrets:
            value = getattr(self, name)
            if value is None or not (value.get_secret_value() if isinstance(value, SecretStr) else value):
                field = type(self).model_fields[name]
                missing.append(field.validation_alias if isinstance(field.validation_alias, str) else name.upper())
        return missing

    def check_secrets(self) -> None:
        """Refuse to go on without the required secrets, unless in development mode."""
        missing = self.missing_secrets()
        if missing and not self.dev_mode:
            raise MissingSecrets(
                f"{self.service_name} will not start without {', '.join(missing)}: set each (README 'Tokens and "
                "secrets' says how to make one), or PATHWAYS_DEV_MODE=1 on a development machine.")
        secret = self.jwt_secret.get_secret_value() if self.jwt_secret else ""
        if secret and len(secret.encode()) < MIN_JWT_SECRET_BYTES and not self.dev_mode:
            raise MissingSecrets(f"PATHWAYS_JWT_SECRET is shorter than {MIN_JWT_SECRET_BYTES} bytes")

    def check_fail_point(self) -> None:
        """Refuse to go on with a fail point set, unless in development mode."""
        if self.fail_point is not None and not self.dev_mode:
            raise FailPointRefused(
                f"{self.service_name} will not start with PATHWAYS_FAIL_POINT={self.fail_point}: a fail point "
                "kills the service on purpose, a test instrument allowed only with PATHWAYS_DEV_MODE=1.")

    def signing_secret(self) -> str:
        """The JWT secret; in development mode without one, this installation's generated secret."""
        self.check_secrets()
        if self.jwt_secret and self.jwt_secret.get_secret_value():
            return self.jwt_secret.get_secret_value()
        return installation_secret(self.state_dir, "jwt.secret", new_jwt_secret)


def new_jwt_secret() -> str:
    return secrets.token_urlsafe(48)


def new_field_key() -> str:
    """A field-encryption key as the referral service reads it: ``<key id>:<base64 of 32 bytes>``."""
    key = secrets.token_bytes(32)
    return f"local-{hashlib.sha256(key).hexdigest()[:8]}:{base64.b64encode(key).decode()}"


def installation_secret(state_dir: Path, name: str, generate=new_jwt_secret) -> str:
    """This installation's secret ``name``: generated once, kept in ``state_dir`` readable by its owner only.

    Written to a private temporary file and then hard-linked into place, so a reader never sees a half-written
    file and two processes starting at once agree on one value (the second link fails; it reads the first).
    """
    path = Path(state_dir) / name
    path.parent.mkdir(parents=True, exist_ok=True)
    if not path.exists():
        tmp = path.with_name(f".{name}.{os.getpid()}.{secrets.token_hex(4)}")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as out:
            out.write(generate() + "\n")
        try:
            os.link(tmp, path)
        except FileExistsError:
            pass
        finally:
            tmp.unlink()
    os.chmod(path, 0o600)  # tightened again if someone loosened it
    value = path.read_text().strip()
    if not value:
        raise MissingSecrets(f"{path} is empty: delete it to generate a new secret")
    return value
