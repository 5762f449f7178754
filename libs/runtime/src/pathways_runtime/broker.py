"""The FastStream Kafka broker every service uses, and topic administration.

Client settings are chosen for both a real Kafka cluster and the embedded
Tansu broker: no idempotent producer and no transactions (Tansu has neither;
exactly-once effects come from the outbox and the inbox instead), explicit
request timeouts (a stalled request must fail, not hang), and one Kafka
principal per service when SASL credentials are set.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable

from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import TopicAlreadyExistsError
from faststream.kafka import KafkaBroker
from faststream.kafka.opentelemetry import KafkaTelemetryMiddleware
from faststream.security import BaseSecurity, SASLPlaintext, SASLScram256, SASLScram512
from opentelemetry.trace import TracerProvider

from pathways_contracts import TOPICS, TopicSpec
from pathways_runtime.settings import Settings

log = logging.getLogger(__name__)


def _security(settings: Settings) -> BaseSecurity | None:
    if not settings.kafka_sasl_username:
        return None
    password = settings.kafka_sasl_password.get_secret_value() if settings.kafka_sasl_password else ""
    use_ssl = settings.kafka_security_protocol.upper().startswith("SASL_SSL")
    mechanisms = {"PLAIN": SASLPlaintext, "SCRAM-SHA-256": SASLScram256, "SCRAM-SHA-512": SASLScram512}
    cls = mechanisms[settings.kafka_sasl_mechanism.upper()]
    return cls(username=settings.kafka_sasl_username, password=password, use_ssl=use_ssl)


def make_broker(settings: Settings, tracer_provider: TracerProvider | None = None) -> KafkaBroker:
    # FastStream writes two INFO lines per message ("Received", "Processed"): at thousands of events a
    # second that is the terminal's cost, not the work's. Its lines go to a logger of ours at WARNING
    # by default (handler errors still show); PATHWAYS_FASTSTREAM_LOG_LEVEL=INFO brings them back.
    faststream_log = logging.getLogger("pathways.faststream")
    faststream_log.setLevel(settings.faststream_log_level.upper())
    return KafkaBroker(
        settings.kafka_bootstrap_servers,
        logger=faststream_log,
        client_id=settings.service_name,
        request_timeout_ms=settings.kafka_request_timeout_ms,
        enable_idempotence=False,
        acks="all",
        security=_security(settings),
        middlewares=[KafkaTelemetryMiddleware(tracer_provider=tracer_provider)],
        description=f"Kafka as seen by the {settings.service_name} service.",
    )


def _admin_kwargs(settings: Settings) -> dict:
    kwargs: dict = {
        "bootstrap_servers": settings.kafka_bootstrap_servers,
        "request_timeout_ms": settings.kafka_request_timeout_ms,
    }
    if settings.kafka_sasl_username:
        kwargs |= {
            "security_protocol": settings.kafka_security_protocol,
            "sasl_mechanism": settings.kafka_sasl_mechanism,
            "sasl_plain_username": settings.kafka_sasl_username,
            "sasl_plain_password": settings.kafka_sasl_password.get_secret_value() if settings.kafka_sasl_password else "",
        }
    return kwargs


async def ensure_topics(settings: Settings, specs: Iterable[TopicSpec] = TOPICS, replication: int = 1) -> list[str]:
    """Create every topic (and its DLQ) that does not exist yet; never rely on auto-creation."""
    admin = AIOKafkaAdminClient(**_admin_kwargs(settings))
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        missing = [s for s in specs if s.name not in existing]
        if missing:
            response = await admin.create_topics(
                [NewTopic(s.name, s.partitions, replication) for s in missing]
            )
            _raise_topic_errors(response)
        return [s.name for s in missing]
    finally:
        await admin.close()


def _raise_topic_errors(response: object) -> None:
    for name, code, *rest in getattr(response, "topic_errors", []):
        if code not in (0, TopicAlreadyExistsError.errno):
            raise RuntimeError(f"could not create topic {name}: error {code} {rest}")


async def wait_for_kafka(settings: Settings, timeout: float = 30.0) -> None:
    """Poll (with a deadline) until the cluster answers a metadata request."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        admin = AIOKafkaAdminClient(**_admin_kwargs(settings))
        try:
            await admin.start()
            await admin.list_topics()
            return
        except Exception as exc:  # noqa: BLE001 (any failure means "not yet")
            if asyncio.get_running_loop().time() > deadline:
                raise TimeoutError(f"Kafka at {settings.kafka_bootstrap_servers} not reachable: {exc}") from exc
            await asyncio.sleep(0.5)
        finally:
            await admin.close()
