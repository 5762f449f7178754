"""Topic definitions as data: ``deploy/kafka/topics.yaml``, one entry per event type and its DLQ.

Partitions, replication factor, ``min.insync.replicas``, retention and cleanup policy for a
production cluster. ``pathways create-topics`` creates topics from it; with ``--replication``
(a single development broker) the replication factor is lowered and ``min.insync.replicas``
with it, so that one broker can still accept ``acks=all`` writes.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, model_validator

TOPICS_FILE_ENV = "PATHWAYS_TOPICS_FILE"
TOPICS_FILE = Path("deploy") / "kafka" / "topics.yaml"


class TopicDefinition(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(min_length=1)
    partitions: int = Field(ge=1)
    replication_factor: int = Field(ge=1)
    min_insync_replicas: int = Field(ge=1)
    retention_ms: int = Field(ge=-1, description="-1 keeps every record")
    cleanup_policy: Literal["delete", "compact", "compact,delete"]

    @model_validator(mode="after")
    def _insync_within_replicas(self) -> TopicDefinition:
        if self.min_insync_replicas > self.replication_factor:
            raise ValueError(f"{self.name}: min_insync_replicas {self.min_insync_replicas} "
                             f"exceeds replication_factor {self.replication_factor}")
        return self

    @property
    def configs(self) -> dict[str, str]:
        """The topic-level configs Kafka takes at creation."""
        return {"min.insync.replicas": str(self.min_insync_replicas), "retention.ms": str(self.retention_ms),
                "cleanup.policy": self.cleanup_policy}

    def with_replication(self, replication: int) -> TopicDefinition:
        """The same topic on a smaller cluster: ``min.insync.replicas`` lowered to leave one broker spare."""
        isr = min(self.min_insync_replicas, max(1, replication - 1))
        return self.model_copy(update={"replication_factor": replication, "min_insync_replicas": isr})


class TopicsFile(BaseModel):
    model_config = ConfigDict(extra="forbid")

    topics: list[TopicDefinition]

    @model_validator(mode="after")
    def _unique(self) -> TopicsFile:
        names = [t.name for t in self.topics]
        if dupes := sorted({n for n in names if names.count(n) > 1}):
            raise ValueError(f"topics defined twice: {', '.join(dupes)}")
        return self


def find_topics_file() -> Path | None:
    """``$PATHWAYS_TOPICS_FILE``, or ``deploy/kafka/topics.yaml`` in the working folder or a parent of it."""
    if configured := os.environ.get(TOPICS_FILE_ENV):
        return Path(configured)
    for base in (Path.cwd(), *Path.cwd().parents, *Path(__file__).resolve().parents):
        if (base / TOPICS_FILE).is_file():
            return base / TOPICS_FILE
    return None


def load_topics(path: Path | None = None) -> list[TopicDefinition]:
    path = path or find_topics_file()
    if path is None:
        raise FileNotFoundError(f"no {TOPICS_FILE} here or above, and {TOPICS_FILE_ENV} is not set")
    return TopicsFile.model_validate(yaml.safe_load(Path(path).read_text())).topics
