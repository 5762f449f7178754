"""The base every event's data model derives from, and the registry of event types."""

from __future__ import annotations

from typing import ClassVar

from pydantic import BaseModel, ConfigDict

_REGISTRY: dict[str, type[Event]] = {}


class Event(BaseModel):
    """The data of one event type.

    Subclasses declare, as class variables:

    - ``event_type``: the CloudEvents ``type``, which is also the Kafka topic.
    - ``version``: the major version of the data schema. Bump it (and only
      then) for a change that is not backward compatible.
    - ``subject_field``: the field whose value is the CloudEvents ``subject``
      and the Kafka partition key (establishment id, case id, ...), so that
      every event about one subject is read in order.
    - ``partitions``: how many partitions the topic gets when it is created.

    Unknown fields are ignored, so a consumer keeps working when a producer
    adds an optional field (forward compatibility).
    """

    model_config = ConfigDict(extra="ignore", frozen=True)

    event_type: ClassVar[str]
    version: ClassVar[int] = 1
    subject_field: ClassVar[str]
    partitions: ClassVar[int] = 3
    description: ClassVar[str] = ""

    def __init_subclass__(cls, **kwargs: object) -> None:
        super().__init_subclass__(**kwargs)
        if "event_type" in cls.__dict__:
            if cls.event_type in _REGISTRY:
                raise TypeError(f"event type {cls.event_type!r} is declared twice")
            _REGISTRY[cls.event_type] = cls

    @property
    def subject(self) -> str:
        return str(getattr(self, self.subject_field))

    @classmethod
    def dataschema(cls) -> str:
        """The URI written to ``ce_dataschema``: type and major version."""
        return f"urn:pathways:schema:{cls.event_type}:v{cls.version}"


def registry() -> dict[str, type[Event]]:
    """Every event type known to this version of the contracts, by name."""
    import pathways_contracts.events  # noqa: F401  (registers the classes)

    return dict(_REGISTRY)


def event_class(event_type: str) -> type[Event]:
    """The model for ``event_type``; ``KeyError`` if the type is unknown."""
    return registry()[event_type]
