"""deploy/kafka/topics.yaml against the contracts: every event type has its topic and its DLQ."""

from pathlib import Path

import pytest
from pydantic import ValidationError

from pathways_contracts import dlq_topic, registry
from pathways_runtime.topic_config import TopicDefinition, TopicsFile, load_topics

pytestmark = pytest.mark.unit

TOPICS_FILE = Path(__file__).resolve().parents[2] / "deploy" / "kafka" / "topics.yaml"


@pytest.fixture(scope="module")
def topics() -> dict[str, TopicDefinition]:
    return {t.name: t for t in load_topics(TOPICS_FILE)}


def test_every_event_type_has_its_topic_and_its_dead_letter_topic_and_nothing_else(topics):
    expected = {name for event_type in registry() for name in (event_type, dlq_topic(event_type))}
    assert set(topics) == expected


def test_event_topics_have_the_contracts_partition_count(topics):
    for event_type, model in registry().items():
        assert topics[event_type].partitions == model.partitions, event_type


def test_an_acknowledged_event_is_on_two_brokers_and_one_broker_may_be_down(topics):
    for topic in topics.values():
        assert topic.replication_factor >= 3, topic.name
        assert 2 <= topic.min_insync_replicas <= topic.replication_factor - 1, topic.name


def test_events_are_kept_for_replay_and_dead_letters_long_enough_to_fix_and_replay(topics):
    thirty_days = 30 * 24 * 3600 * 1000
    for topic in topics.values():
        if topic.name.endswith(".dlq"):
            assert topic.retention_ms == -1 or topic.retention_ms >= thirty_days, topic.name
        else:
            assert topic.retention_ms == -1, topic.name  # a department replays from the beginning
        assert topic.cleanup_policy == "delete", topic.name  # events are history, not latest state


def test_a_single_development_broker_lowers_min_insync_replicas_with_the_replication():
    topic = TopicDefinition(name="t", partitions=3, replication_factor=3, min_insync_replicas=2, retention_ms=-1,
                            cleanup_policy="delete")
    assert (topic.with_replication(1).replication_factor, topic.with_replication(1).min_insync_replicas) == (1, 1)
    assert topic.configs == {"min.insync.replicas": "2", "retention.ms": "-1", "cleanup.policy": "delete"}


@pytest.mark.parametrize("bad", [
    {"topics": [{"name": "t", "partitions": 1, "replication_factor": 1, "min_insync_replicas": 2,
                 "retention_ms": -1, "cleanup_policy": "delete"}]},
    {"topics": [{"name": "t", "partitions": 1, "replication_factor": 3, "min_insync_replicas": 2,
                 "retention_ms": -1, "cleanup_policy": "delete", "retention": "7d"}]},
    {"topics": [{"name": "t", "partitions": 1, "replication_factor": 3, "min_insync_replicas": 2,
                 "retention_ms": -1, "cleanup_policy": "delete"}] * 2},
])
def test_a_wrong_definition_is_refused_by_name(bad):
    with pytest.raises(ValidationError):
        TopicsFile.model_validate(bad)
