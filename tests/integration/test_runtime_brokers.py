"""What differs between the two brokers the suite runs on, said once and checked on each.

Tansu (``make test``) keeps topics in memory and grants no producer id; Apache Kafka
(``make test-kafka``) keeps its log on disk and gives producers idempotence.
"""

from __future__ import annotations

import asyncio
import uuid

import pytest
from aiokafka import AIOKafkaProducer

from pathways_contracts import TopicSpec
from pathways_runtime.broker import broker_grants_idempotence, ensure_topics
from pathways_runtime.embedded import EmbeddedApacheKafka
from pathways_runtime.settings import Settings

from support import TEST_BROKER, eventually, only_on_apache_kafka, read_all

pytestmark = pytest.mark.integration


async def test_the_producer_is_idempotent_exactly_where_the_broker_grants_a_producer_id(infrastructure):
    granted = await broker_grants_idempotence(Settings(KAFKA_BOOTSTRAP_SERVERS=infrastructure.kafka))
    assert granted is (TEST_BROKER == "kafka")


@only_on_apache_kafka
async def test_topics_and_events_outlive_a_broker_restart(tmp_path):
    topic, key = f"tests.restart.{uuid.uuid4().hex[:6]}", uuid.uuid4().hex.encode()
    broker = EmbeddedApacheKafka(data_dir=tmp_path / "kafka", log_dir=tmp_path / "logs")
    with broker:
        await ensure_topics(Settings(KAFKA_BOOTSTRAP_SERVERS=broker.bootstrap_servers), [TopicSpec(topic, 2, "")])
        producer = AIOKafkaProducer(bootstrap_servers=broker.bootstrap_servers, enable_idempotence=True)
        await producer.start()
        try:
            await producer.send_and_wait(topic, b"before the restart", key=key)
        finally:
            await producer.stop()
    with broker:  # same data folder, new ports: the storage is not formatted again
        records = await read_all(broker.bootstrap_servers, topic)
    assert [(r.key, r.value) for r in records] == [(key, b"before the restart")]


@only_on_apache_kafka
async def test_a_topic_is_created_with_the_configs_of_the_topics_file(infrastructure):
    from confluent_kafka import KafkaException
    from confluent_kafka.admin import AdminClient, ConfigResource

    from pathways_runtime.topic_config import load_topics

    definition = next(t for t in load_topics() if t.name.endswith(".dlq"))
    topic = definition.model_copy(update={"name": f"tests.configs.{uuid.uuid4().hex[:6]}"})
    settings = Settings(KAFKA_BOOTSTRAP_SERVERS=infrastructure.kafka)
    assert await ensure_topics(settings, [topic], replication=1) == [topic.name]
    resource = ConfigResource("topic", topic.name)
    admin = AdminClient({"bootstrap.servers": infrastructure.kafka})  # kept alive until the answer is in

    async def described() -> dict[str, str] | None:
        try:  # the broker learns of the new topic from the controller a moment after it is created
            entries = await asyncio.to_thread(admin.describe_configs([resource])[resource].result, 10)
        except KafkaException:
            return None
        return {name: entry.value for name, entry in entries.items()}

    configs = await eventually(described)
    del admin
    assert (configs["retention.ms"], configs["cleanup.policy"], configs["min.insync.replicas"]) == (
        str(definition.retention_ms), "delete", "1")  # one broker: one in-sync replica is all there is
