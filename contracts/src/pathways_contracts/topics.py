"""The topic list: one topic per event type, named after it, plus its dead-letter topic."""

from __future__ import annotations

from dataclasses import dataclass

from pathways_contracts.base import registry

DLQ_SUFFIX = ".dlq"


@dataclass(frozen=True)
class TopicSpec:
    name: str
    partitions: int
    description: str


def dlq_topic(topic: str) -> str:
    return f"{topic}{DLQ_SUFFIX}"


def _topics() -> tuple[TopicSpec, ...]:
    specs: list[TopicSpec] = []
    for name, model in sorted(registry().items()):
        specs.append(TopicSpec(name, model.partitions, model.description))
        specs.append(TopicSpec(dlq_topic(name), 1, f"Dead letters of {name}: records that failed, with the reason in headers."))
    return tuple(specs)


TOPICS: tuple[TopicSpec, ...] = _topics()
