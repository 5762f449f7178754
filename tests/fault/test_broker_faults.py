"""Broker faults on a three-broker Apache Kafka cluster (replication 3, min.insync.replicas 2, unclean
leader election off), under load, with the services as processes:

- the broker leading the most partitions of the flow's topics is killed (SIGKILL) and restarted;
- one broker is stopped for a minute, then started again.

Tansu has no replication, so these run on Apache Kafka only (its jars: ``make kafka-jars``, which
``make test-fault`` fetches). The cluster is shared by the module's tests; each test's keys are its own.
"""

from __future__ import annotations

import asyncio
import uuid
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
from aiokafka.admin import AIOKafkaAdminClient

from fault.checker import Workload, check, subscribe
from pathways_runtime.broker import ensure_topics
from pathways_runtime.embedded import ApacheKafkaCluster
from pathways_runtime.settings import Settings
from processes import System, fresh_database, system_env
from support import announce

pytestmark = pytest.mark.fault
FLOW_TOPICS = ["inspection.completed", "redflag.raised", "case.opened", "referral.created"]


@pytest.fixture(scope="module")
def cluster(tmp_path_factory) -> Iterator[ApacheKafkaCluster]:
    state = tmp_path_factory.mktemp("fault-cluster")
    with ApacheKafkaCluster(state / "data", log_dir=state / "logs") as running:
        yield running


@pytest.fixture
async def system_on_cluster(infrastructure, cluster: ApacheKafkaCluster, tmp_path: Path):
    await ensure_topics(Settings(KAFKA_BOOTSTRAP_SERVERS=cluster.bootstrap_servers), replication=3)
    database_url = await fresh_database(infrastructure.database_url, f"fault_{uuid.uuid4().hex[:8]}")
    system = System(system_env(cluster.bootstrap_servers, database_url, tmp_path), tmp_path)
    system.start_all()
    try:
        yield system
    finally:
        system.stop()


async def _busiest_leader(bootstrap: str) -> int:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        described = await admin.describe_topics(FLOW_TOPICS)
    finally:
        await admin.close()
    leaders = Counter(p["leader"] for topic in described for p in topic["partitions"])
    return leaders.most_common(1)[0][0]


async def test_the_partition_leader_killed_under_load_and_restarted(system_on_cluster: System, cluster, receiver):
    system = system_on_cluster
    await subscribe(system.url("notification"), receiver)
    workload = Workload(system.url("inspection"))
    await workload.register()
    killed: list[int] = []

    async def fault() -> None:
        while len(workload.acked) < 30:
            await asyncio.sleep(0.05)
        leader = await _busiest_leader(cluster.bootstrap_servers)
        node = next(n for n in cluster.nodes if n.node_id == leader)
        node.kill()  # SIGKILL: its partitions' leadership moves to an in-sync replica
        killed.append(leader)
        await asyncio.sleep(5)
        await asyncio.to_thread(node.start)

    await workload.run_until_done(during=asyncio.ensure_future(fault()))
    report = await check(cluster.bootstrap_servers, workload, receiver, timeout=180)
    announce("leader %s killed and restarted: %s", killed, report.summary())
    report.assert_clean()


async def test_one_broker_down_for_a_minute(system_on_cluster: System, cluster, receiver):
    system = system_on_cluster
    await subscribe(system.url("notification"), receiver)
    workload = Workload(system.url("inspection"), establishments=36)
    await workload.register()
    down = cluster.nodes[-1]

    async def fault() -> None:
        while len(workload.acked) < 20:
            await asyncio.sleep(0.05)
        await asyncio.to_thread(down.stop)
        await asyncio.sleep(60)
        await asyncio.to_thread(down.start)

    await workload.run_until_done(during=asyncio.ensure_future(fault()))
    report = await check(cluster.bootstrap_servers, workload, receiver, timeout=180)
    announce("broker %s down for 60 s: %s", down.node_id, report.summary())
    report.assert_clean()
