"""Public contracts of Pathways.

Integrators import this package, and only this package, to read and write
Pathways events: the pydantic models of every event's data, the topic list,
and the CloudEvents 1.0 Kafka binding (binary mode) used on the wire.
"""

from pathways_contracts.base import Event, event_class, registry
from pathways_contracts.cloudevents import CloudEvent, InvalidEvent, decode, encode
from pathways_contracts.topics import TOPICS, TopicSpec, dlq_topic

__all__ = [
    "TOPICS",
    "CloudEvent",
    "Event",
    "InvalidEvent",
    "TopicSpec",
    "decode",
    "dlq_topic",
    "encode",
    "event_class",
    "registry",
]
