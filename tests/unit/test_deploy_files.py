"""The deployment files agree with each other: one Kafka version, one principal per service."""

import re
from pathlib import Path

import pytest
import yaml

from pathways_runtime.acl_config import load_acls

pytestmark = pytest.mark.unit

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
ACLS = load_acls(ROOT / "deploy" / "kafka" / "acls.yaml")


def test_the_compose_brokers_run_the_kafka_version_pinned_in_the_pom():
    version = re.search(r"<kafka.version>([^<]+)</kafka.version>", (ROOT / "deploy/kafka/pom.xml").read_text())[1]
    images = {s["image"] for name, s in COMPOSE["services"].items() if name.startswith("kafka-") and "image" in s}
    assert images == {f"apache/kafka:{version}"}


def test_three_kraft_brokers_with_replication_three_and_two_in_sync():
    brokers = {name: s for name, s in COMPOSE["services"].items() if re.fullmatch(r"kafka-\d", name)}
    assert len(brokers) == 3
    for broker in brokers.values():
        env = broker["environment"]
        assert env["KAFKA_CONTROLLER_QUORUM_VOTERS"].count("@") == 3
        assert (env["KAFKA_DEFAULT_REPLICATION_FACTOR"], env["KAFKA_MIN_INSYNC_REPLICAS"]) == (3, 2)
        assert env["KAFKA_UNCLEAN_LEADER_ELECTION_ENABLE"] == "false"
    assert len({b["environment"]["KAFKA_NODE_ID"] for b in brokers.values()}) == 3


@pytest.mark.parametrize("service", sorted(ACLS.services))
def test_each_service_connects_as_its_own_principal(service):
    env = COMPOSE["services"][service]["environment"]
    assert env["KAFKA_SASL_USERNAME"] == service
    assert env["KAFKA_SECURITY_PROTOCOL"].startswith("SASL_")
    manifest = list(yaml.safe_load_all((ROOT / "deploy" / "k8s" / f"{service}.yaml").read_text()))
    [deployment] = [m for m in manifest if m["kind"] == "Deployment"]
    container = deployment["spec"]["template"]["spec"]["containers"][0]
    assert {"name": "KAFKA_SASL_USERNAME", "value": service} in container["env"]
    assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
    assert {m["kind"] for m in manifest} >= {"Deployment", "PodDisruptionBudget"}
