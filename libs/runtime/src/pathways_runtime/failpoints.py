"""Fail points: a test instrument that crashes a service at an exact point, to prove what such a crash leaves.

``PATHWAYS_FAIL_POINT=<point>[:<n>]`` (development mode only: a service refuses to start with one
otherwise) kills the service's own process with SIGKILL at the batch that brings the events through
the point to ``n`` or more (default 1: the first batch). Events, not batches, are counted: how
events fall into batches depends on timing, how many have gone through does not, so ``n`` chooses
a place in the stream:

- ``consumer.after_commit``: a consumed batch's database transaction has committed, its Kafka offsets
  are not committed yet. On restart the batch is read again; the inbox must absorb it.
- ``relay.after_publish``: the broker acknowledged an outbox batch, its rows are not deleted
  yet. On restart the batch is published again; the consumers' inboxes must absorb the copies.

Just before the kill a line starting with ``PATHWAYS FAIL POINT`` is logged, written to stderr and, when
``PATHWAYS_FAIL_POINT_MARKER`` names a file, appended to it, so a test can tell this crash from any other.

The setting is parsed once (``Settings.fail_point``); ``crash_at`` gives each of the two call sites its
``Crash``, or ``None`` when the setting names another point or none, so an unarmed point costs one
``is None`` test per batch.
"""

from __future__ import annotations

import logging
import os
import signal
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict, PositiveInt, model_validator

if TYPE_CHECKING:
    from pathways_runtime.settings import Settings

log = logging.getLogger(__name__)

Point = Literal["consumer.after_commit", "relay.after_publish"]
CONSUMER_AFTER_COMMIT: Point = "consumer.after_commit"
RELAY_AFTER_PUBLISH: Point = "relay.after_publish"
MARKER = "PATHWAYS FAIL POINT"


class FailPoint(BaseModel):
    """The setting's value: where to crash, and after how many events through that point (1: the first batch)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    point: Point
    hit: PositiveInt = 1

    @model_validator(mode="before")
    @classmethod
    def _from_text(cls, value: Any) -> Any:
        """``"relay.after_publish:3"`` → point and hit; anything else is validated as it is."""
        if isinstance(value, str):
            point, colon, hit = value.strip().partition(":")
            return {"point": point, "hit": hit} if colon else {"point": point}
        return value

    def __str__(self) -> str:
        return f"{self.point}:{self.hit}"


def sigkill_self() -> None:
    """Die as a machine dies: no handler, no ``finally``, no flush."""
    os.kill(os.getpid(), signal.SIGKILL)
    os._exit(128 + signal.SIGKILL)  # not reached: SIGKILL to oneself is delivered before kill() returns


class Crash:
    """Armed at one point of one process: kills it at the batch whose events bring the count to ``hit``."""

    def __init__(self, fail_point: FailPoint, *, service: str, marker: Path | None = None,
                 kill: Callable[[], None] = sigkill_self) -> None:
        self.fail_point = fail_point
        self.reached = 0
        self._service = service
        self._marker = marker
        self._kill = kill

    def __call__(self, events: int = 1) -> None:
        before, self.reached = self.reached, self.reached + events
        if not before < self.fail_point.hit <= self.reached:  # fires once: at the batch that crosses it
            return
        line = (f"{MARKER} {self.fail_point.point} reached ({self.reached} events, at least"
                f" {self.fail_point.hit}): SIGKILL {self._service} pid {os.getpid()}")
        log.critical(line, extra={"fail_point": str(self.fail_point), "pid": os.getpid()})
        os.write(2, (line + "\n").encode())
        if self._marker is not None:
            with self._marker.open("a", encoding="utf-8") as out:
                out.write(line + "\n")
                out.flush()
                os.fsync(out.fileno())
        self._kill()


def crash_at(point: Point, settings: Settings, *, kill: Callable[[], None] = sigkill_self) -> Crash | None:
    """The crash armed at ``point`` when the settings' fail point names it; else None (nothing to call)."""
    fail_point = settings.fail_point
    if fail_point is None or fail_point.point != point:
        return None
    return Crash(fail_point, service=settings.service_name, marker=settings.fail_point_marker, kill=kill)
