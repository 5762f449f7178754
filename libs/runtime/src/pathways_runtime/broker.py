"""The FastStream Kafka broker every service uses, and topic administration.

Client settings are chosen for both a real Kafka cluster and the embedded
Tansu broker: ``acks=all`` always, and the idempotent producer where the broker
grants one (Apache Kafka does; Tansu advertises the request but refuses it, so it
is detected when a service starts and logged when missing). No transactions:
exactly-once effects come from the outbox and the inbox instead. Explicit request
timeouts (a stalled request must fail, not hang), and one Kafka principal per
service when SASL credentials are set.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable

from aiokafka import AIOKafkaClient, AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.protocol.transaction import InitProducerIdRequest
from aiokafka import errors
from aiokafka.errors import TopicAlreadyExistsError
from faststream.kafka import KafkaBroker
from faststream.security import BaseSecurity, SASLPlaintext, SASLScram256, SASLScram512

from pathways_contracts import TOPICS, TopicSpec
from pathways_runtime.settings import Settings
from pathways_runtime.topic_config import TopicDefinition

log = logging.getLogger(__name__)


def _security(settings: Settings) -> BaseSecurity | None:
    if not settings.kafka_sasl_username:
        return None
    password = settings.kafka_sasl_password.get_secret_value() if settings.kafka_sasl_password else ""
    use_ssl = settings.kafka_security_protocol.upper().startswith("SASL_SSL")
    mechanisms = {"PLAIN": SASLPlaintext, "SCRAM-SHA-256": SASLScram256, "SCRAM-SHA-512": SASLScram512}
    cls = mechanisms[settings.kafka_sasl_mechanism.upper()]
    return cls(username=settings.kafka_sasl_username, password=password, use_ssl=use_ssl)


def bootstrap_hosts(settings: Settings) -> list[str]:
    """``KAFKA_BOOTSTRAP_SERVERS`` (comma-separated, as every Kafka client takes it) as a list of hosts."""
    return [host.strip() for host in settings.kafka_bootstrap_servers.split(",") if host.strip()]


def make_broker(settings: Settings) -> KafkaBroker:
    """The service's broker; ``use_idempotence`` switches its producer on before it connects.

    No FastStream telemetry middleware: the relay makes each record's producer span and the consumer
    pipeline each event's consumer span, by hand. The middleware's spans (one per published record, one
    per consumed batch, its baggage parsing) cost a tenth of a busy service's CPU and said nothing more.
    """
    # FastStream writes two INFO lines per message ("Received", "Processed"): at thousands of events a
    # second that is the terminal's cost, not the work's. Its lines go to a logger of ours at WARNING
    # by default (handler errors still show); PATHWAYS_FASTSTREAM_LOG_LEVEL=INFO brings them back.
    faststream_log = logging.getLogger("pathways.faststream")
    faststream_log.setLevel(settings.faststream_log_level.upper())
    return KafkaBroker(
        # A list: FastStream takes a comma-separated string for ONE host ("a:1,b:2,c" port 3 -> no such host),
        # so a three-broker bootstrap string would not connect at all.
        bootstrap_hosts(settings),
        logger=faststream_log,
        client_id=settings.service_name,
        request_timeout_ms=settings.kafka_request_timeout_ms,
        enable_idempotence=False,  # until use_idempotence() has asked the broker
        acks="all",
        # Topics are created from deploy/kafka/topics.yaml, never by a subscriber starting (FastStream would
        # create a missing one with broker defaults, and a service's principal may not create topics).
        allow_auto_create_topics=False,
        security=_security(settings),
        description=f"Kafka as seen by the {settings.service_name} service.",
    )


async def partitions_of(consumer: AIOKafkaConsumer, *topics: str) -> list[TopicPartition]:
    """Every partition of ``topics``, for a started group-less consumer to ``assign``.

    A client bootstraps with a metadata request naming no topic: Tansu answers with every topic,
    Apache Kafka with none, so ``partitions_for_topic`` knows nothing there until asked.
    """
    if any(consumer.partitions_for_topic(t) is None for t in topics):
        await consumer._client.set_topics(topics)  # noqa: SLF001 (aiokafka has no public call for this)
    return [TopicPartition(t, p) for t in topics for p in sorted(consumer.partitions_for_topic(t) or ())]


async def broker_grants_idempotence(settings: Settings, timeout: float = 15.0) -> bool:
    """Ask the broker for a producer id, as an idempotent producer does when it starts.

    Advertising InitProducerId is not enough: Tansu lists it and answers with an error.
    """
    client = AIOKafkaClient(**_admin_kwargs(settings))
    try:
        await client.bootstrap()  # an unreachable broker fails here, as the broker's own start would
        deadline = asyncio.get_running_loop().time() + timeout
        while True:
            try:
                response = await client.send(client.get_random_node(), InitProducerIdRequest(None, 60_000))
            except Exception as exc:  # noqa: BLE001 (no producer id, whatever the reason, means "no")
                log.debug("InitProducerId failed: %r", exc)
                return False
            # A broker just started answers "coordinator loading" for a moment: ask again.
            if response.error_code == 0 or not errors.for_code(response.error_code).retriable:
                return response.error_code == 0
            if asyncio.get_running_loop().time() > deadline:
                return False
            await asyncio.sleep(0.2)
    finally:
        await client.close()


async def use_idempotence(broker: KafkaBroker, settings: Settings) -> bool:
    """Before ``broker.start()``: turn the idempotent producer on when settings and broker allow it.

    ``KAFKA_ENABLE_IDEMPOTENCE`` is ``auto`` (ask the broker), ``true`` or ``false``.
    """
    mode = settings.kafka_enable_idempotence.lower()
    enabled = await broker_grants_idempotence(settings) if mode == "auto" else mode == "true"
    if enabled:
        log.info("idempotent producer on, acks=all (%s)", settings.kafka_bootstrap_servers)
    elif mode == "auto":
        log.warning("idempotent producer off, acks=all: the broker at %s grants no producer id",
                    settings.kafka_bootstrap_servers)
    else:
        log.warning("idempotent producer off, acks=all: KAFKA_ENABLE_IDEMPOTENCE=%s", mode)
    # FastStream builds its producer from these keyword arguments when it connects.
    broker._connection_kwargs["enable_idempotence"] = enabled  # noqa: SLF001
    return enabled


def client_kwargs(settings: Settings) -> dict:
    """aiokafka keyword arguments for the cluster and principal of ``settings`` (any aiokafka client)."""
    return _admin_kwargs(settings)


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


async def ensure_topics(settings: Settings, specs: Iterable[TopicSpec | TopicDefinition] = TOPICS,
                        replication: int | None = None) -> list[str]:
    """Create every topic (and its DLQ) that does not exist yet; never rely on auto-creation.

    ``specs`` are the contracts' topics (broker defaults for their configs) or the definitions of
    ``deploy/kafka/topics.yaml`` (with their configs). ``replication`` overrides the definitions'
    replication factor (1 for the contracts' topics when not given).
    """
    def new_topic(s: TopicSpec | TopicDefinition) -> NewTopic:
        if isinstance(s, TopicSpec):
            return NewTopic(s.name, s.partitions, replication or 1)
        s = s.with_replication(replication) if replication else s
        return NewTopic(s.name, s.partitions, s.replication_factor, topic_configs=s.configs)

    admin = AIOKafkaAdminClient(**_admin_kwargs(settings))
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        missing = [s for s in specs if s.name not in existing]
        if missing:
            response = await admin.create_topics([new_topic(s) for s in missing])
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
