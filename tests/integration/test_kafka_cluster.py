"""A three-broker Apache Kafka cluster: an acknowledged event survives losing a broker.

Replication factor 3, ``min.insync.replicas=2``, unclean leader election off, producers with
idempotence and ``acks=all``: stopping any one broker loses nothing and stops no producer.
Runs under ``make test-kafka`` only (Tansu has no replication).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
from aiokafka import AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from pathways_runtime.embedded import ApacheKafkaCluster

from support import eventually, only_on_apache_kafka, read_all

pytestmark = [pytest.mark.integration, only_on_apache_kafka]


@pytest.fixture(scope="module")
def cluster(tmp_path_factory) -> Iterator[ApacheKafkaCluster]:
    state = tmp_path_factory.mktemp("cluster")
    with ApacheKafkaCluster(state / "data", log_dir=state / "logs") as running:
        yield running


async def _leaders_and_isr(bootstrap: str, topic: str) -> dict[int, tuple[int, list[int]]]:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        [described] = await admin.describe_topics([topic])
    finally:
        await admin.close()
    return {p["partition"]: (p["leader"], sorted(p["isr"])) for p in described["partitions"]}


async def test_events_acknowledged_before_and_while_a_broker_is_down_are_all_read(cluster):
    topic = f"tests.cluster.{uuid.uuid4().hex[:6]}"
    admin = AIOKafkaAdminClient(bootstrap_servers=cluster.bootstrap_servers)
    await admin.start()
    try:
        await admin.create_topics([NewTopic(topic, 3, 3, topic_configs={
            "min.insync.replicas": "2", "unclean.leader.election.enable": "false"})])
    finally:
        await admin.close()
    assert all(len(isr) == 3 for _, isr in (await eventually(
        lambda: _leaders_and_isr(cluster.bootstrap_servers, topic))).values())

    producer = AIOKafkaProducer(bootstrap_servers=cluster.bootstrap_servers, enable_idempotence=True, acks="all")
    await producer.start()
    try:
        for i in range(30):
            await producer.send_and_wait(topic, f"before {i}".encode(), key=str(i % 7).encode())
        down = cluster.nodes[0]
        down.stop()  # a broker (and one of the three controllers) goes away
        try:
            for i in range(30):
                await producer.send_and_wait(topic, f"while down {i}".encode(), key=str(i % 7).encode())
            survivors = ",".join(n.bootstrap_servers for n in cluster.nodes if n is not down)
            partitions = await _leaders_and_isr(survivors, topic)
            assert all(leader != down.node_id and down.node_id not in isr for leader, isr in partitions.values())
            values = sorted(r.value for r in await read_all(survivors, topic))
        finally:
            down.start()
    finally:
        await producer.stop()

    expected = sorted([f"before {i}".encode() for i in range(30)] + [f"while down {i}".encode() for i in range(30)])
    assert values == expected  # every acknowledged event, once (idempotent producer)

    async def back_in_sync():
        partitions = await _leaders_and_isr(cluster.bootstrap_servers, topic)
        return all(len(isr) == 3 for _, isr in partitions.values()) and partitions
    await eventually(back_in_sync, timeout=60)
