"""deploy/kafka/acls.yaml against the services' AsyncAPI documents and the contracts."""

import json
from pathlib import Path
from urllib.parse import unquote

import pytest

from pathways_contracts import registry
from pathways_runtime.acl_config import Binding, bindings, load_acls

pytestmark = pytest.mark.unit

ROOT = Path(__file__).resolve().parents[2]
ACLS = load_acls(ROOT / "deploy" / "kafka" / "acls.yaml")


def _asyncapi(service: str) -> tuple[set[str], set[str]]:
    """(topics the service sends, topics it receives), from its committed AsyncAPI document."""
    doc = json.loads((ROOT / "contracts" / "asyncapi" / f"{service}.json").read_text())
    by_action: dict[str, set[str]] = {"send": set(), "receive": set()}
    for op in doc["operations"].values():
        channel = doc["channels"][unquote(op["channel"]["$ref"].rsplit("/", 1)[-1])]
        by_action[op["action"]].add(channel["address"])
    return by_action["send"], by_action["receive"]


@pytest.mark.parametrize("service", sorted(ACLS.services))
def test_a_service_writes_exactly_what_it_publishes_and_reads_exactly_what_it_consumes(service):
    sends, receives = _asyncapi(service)
    assert set(ACLS.services[service].writes) == sends
    assert set(ACLS.services[service].reads) == receives


def test_each_topic_has_one_owner():
    owners = [t for grant in ACLS.services.values() for t in grant.writes]
    assert len(owners) == len(set(owners))


def test_every_granted_topic_is_an_event_type():
    granted = {t for g in ACLS.services.values() for t in (*g.writes, *g.reads)}
    granted |= {t for g in ACLS.departments.values() for t in g.reads}
    assert granted <= set(registry())


def test_a_department_is_granted_reads_of_its_topics_and_its_group_prefix_and_nothing_else():
    labor = [b for b in bindings(ACLS) if b.principal == "User:dept-labor"]
    assert {b.operation for b in labor} == {"read"}
    assert Binding("User:dept-labor", "group", "dept.labor", "prefixed", "read") in labor
    assert {b.name for b in labor if b.resource == "topic"} == set(ACLS.departments["labor"].reads)
