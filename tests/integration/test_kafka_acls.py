"""Principals and ACLs for real: a SASL/SCRAM Apache Kafka broker with deploy/kafka/acls.yaml applied.

Each service and each department consumer is a SCRAM user of its own; the broker refuses
whatever the file does not grant. Runs under ``make test-kafka`` only (Tansu has no authentication).
"""

from __future__ import annotations

import asyncio
import secrets
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.errors import GroupAuthorizationFailedError, TopicAuthorizationFailedError

from pathways_cli.kafka_admin import apply_acls
from pathways_runtime.acl_config import department_user, load_acls
from pathways_runtime.broker import ensure_topics
from pathways_runtime.embedded import EmbeddedApacheKafka
from pathways_runtime.settings import Settings

from support import only_on_apache_kafka

pytestmark = [pytest.mark.integration, only_on_apache_kafka]

ACLS = load_acls(Path(__file__).resolve().parents[2] / "deploy" / "kafka" / "acls.yaml")


@dataclass(frozen=True)
class Secured:
    broker: EmbeddedApacheKafka

    def as_user(self, user: str) -> dict[str, str]:
        return {"bootstrap_servers": self.broker.bootstrap_servers, **self.broker.client_security(user)}

    def settings(self, user: str) -> Settings:
        return Settings(KAFKA_BOOTSTRAP_SERVERS=self.broker.bootstrap_servers, KAFKA_SECURITY_PROTOCOL="SASL_PLAINTEXT",
                        KAFKA_SASL_MECHANISM="SCRAM-SHA-512", KAFKA_SASL_USERNAME=user,
                        KAFKA_SASL_PASSWORD=self.broker.scram_users[user])


@pytest.fixture(scope="module")
def secured(tmp_path_factory) -> Iterator[Secured]:
    state = tmp_path_factory.mktemp("secured")
    users = {user: secrets.token_urlsafe(16) for user in ACLS.principals}
    with EmbeddedApacheKafka(data_dir=state / "kafka", log_dir=state / "logs", scram_users=users,
                             super_users=ACLS.super_users) as broker:
        secured = Secured(broker)
        admin = secured.settings("admin")
        asyncio.run(ensure_topics(admin))
        assert apply_acls(admin, ACLS) > 0
        yield secured


async def _publish_as(secured: Secured, user: str, topic: str, value: bytes) -> None:
    producer = AIOKafkaProducer(**secured.as_user(user), request_timeout_ms=10_000)
    await producer.start()
    try:
        await asyncio.wait_for(producer.send_and_wait(topic, value), 30)
    finally:
        await producer.stop()


async def _read_in_group_as(secured: Secured, user: str, group: str, topic: str, want: bytes) -> bytes:
    consumer = AIOKafkaConsumer(topic, **secured.as_user(user), group_id=group, auto_offset_reset="earliest",
                                enable_auto_commit=False)
    await consumer.start()
    try:
        async def first_match() -> bytes:
            async for record in consumer:
                if record.value == want:
                    return record.value
        return await asyncio.wait_for(first_match(), 60)
    finally:
        await consumer.stop()


async def test_a_department_reads_a_granted_topic_in_its_own_group(secured):
    marker = uuid.uuid4().hex.encode()
    await _publish_as(secured, "inspection", "redflag.raised", marker)  # inspection owns redflag.raised
    assert await _read_in_group_as(secured, department_user("labor"), "dept.labor", "redflag.raised", marker) == marker
    assert await _read_in_group_as(secured, department_user("labor"), f"dept.labor.replay-{marker.decode()}",
                                   "redflag.raised", marker) == marker  # its replay groups share the prefix


async def test_a_department_is_refused_a_topic_it_has_no_grant_for(secured):
    assert "case.opened" not in ACLS.departments["labor"].reads
    with pytest.raises(TopicAuthorizationFailedError):
        await _read_in_group_as(secured, department_user("labor"), "dept.labor", "case.opened", b"never")


async def test_a_department_is_refused_another_departments_consumer_group(secured):
    with pytest.raises(GroupAuthorizationFailedError):
        await _read_in_group_as(secured, department_user("labor"), "dept.police", "redflag.raised", b"never")


@pytest.mark.parametrize("topic", ["redflag.raised", "case.opened", "redflag.raised.dlq"])
async def test_a_department_is_refused_any_write(secured, topic):
    with pytest.raises(TopicAuthorizationFailedError):
        await _publish_as(secured, department_user("labor"), topic, b"a department publishes nothing")


async def test_a_service_writes_what_it_owns_and_the_dead_letters_of_what_it_reads_and_nothing_else(secured):
    await _publish_as(secured, "referral", "case.opened", b"owned")
    await _publish_as(secured, "referral", "redflag.raised.dlq", b"parked")  # referral reads redflag.raised
    with pytest.raises(TopicAuthorizationFailedError):
        await _publish_as(secured, "referral", "redflag.raised", b"owned by inspection")


async def test_a_service_runs_under_its_own_principal(secured, infrastructure, tmp_path):
    """The runtime's Service as the referral principal: it consumes, parks nothing, and publishes what it owns."""
    from datetime import UTC, datetime

    from pathways_contracts import CloudEvent
    from pathways_contracts.events import CaseClosed, RedFlagRaised
    from pathways_runtime.broker import broker_grants_idempotence
    from pathways_runtime.service import Service

    settings = secured.settings("referral").model_copy(update={
        "database_url": infrastructure.database_url, "service_name": "referral"})
    assert await broker_grants_idempotence(settings)  # its idempotent producer is allowed, as referral
    service = Service("referral", schema="tests_acl_referral", migrations=tmp_path, description="tests",
                      settings=settings)
    seen: list[str] = []

    @service.consumers.on(RedFlagRaised, title="records", description="test handler")
    async def handle(event: CloudEvent[RedFlagRaised], uow) -> None:
        seen.append(event.data.establishment_id)

    establishment = f"est-{uuid.uuid4().hex[:8]}"
    flag = CloudEvent(source="/tests", data=RedFlagRaised(
        red_flag_id=uuid.uuid4(), establishment_id=establishment, jurisdiction="metro-county", level="red_flag",
        score=7.0, categories=["labor"], dimensions=["victim_vulnerability"], indicator_codes=["LAB-WAGE-THEFT"],
        contributing_inspection_ids=[uuid.uuid4()], departments=["labor-standards"], rules_version="tests",
        raised_at=datetime.now(UTC)))
    producer = AIOKafkaProducer(**secured.as_user("inspection"))  # the red flag's owner publishes it
    await producer.start()
    try:
        await producer.send_and_wait(flag.type, flag.value(), key=flag.key,
                                     headers=[(k, v.encode()) for k, v in flag.headers().items()])
    finally:
        await producer.stop()

    closed = CaseClosed(case_id=uuid.uuid4(), establishment_id=establishment, outcome="tests",
                        closed_at=datetime.now(UTC))
    async with service.running():
        async with service.uow() as uow:
            emitted = await uow.emit(closed)  # case.closed: a topic referral owns
            await uow.commit()

        async def published() -> bool:  # by the relay, under the service's principal (it deletes what it sent)
            return not await service.pool.fetchval(
                "select exists (select 1 from tests_acl_referral.outbox where event_id = $1)", emitted.id)

        # Both before stopping: the consumer may see the red flag before the relay's first publish (its
        # idempotent producer's first request) is acknowledged, and stopping cancels the relay.
        deadline = asyncio.get_running_loop().time() + 60
        while not (establishment in seen and await published()) and asyncio.get_running_loop().time() < deadline:
            await asyncio.sleep(0.2)
        assert await published(), "the relay did not publish case.closed within 60 s"
    assert establishment in seen
    assert await _read_in_group_as(secured, "admin", f"tests-{uuid.uuid4().hex[:6]}", "case.closed",
                                   emitted.value()) == emitted.value()
