"""Fail points (issue 15): the setting is parsed and checked, a crash fires on its hit and only there, a service
refuses to start with one outside development mode, and the consumer pipeline and the outbox relay reach their
point exactly where they say: after the batch's commit, and after the broker's acknowledgement."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import uuid
from contextlib import asynccontextmanager

import pytest
from aiokafka import ConsumerRecord
from pydantic import ValidationError

from pathways_contracts import CloudEvent, encode
from pathways_contracts.events import InspectionSubmitted
from pathways_runtime.consumer import EventConsumers, RetryPolicy
from pathways_runtime.failpoints import (
    CONSUMER_AFTER_COMMIT,
    MARKER,
    RELAY_AFTER_PUBLISH,
    Crash,
    FailPoint,
    crash_at,
)
from pathways_runtime.outbox import OutboxRelay
from pathways_runtime.service import Service
from pathways_runtime.settings import FailPointRefused, Settings
from pathways_runtime.testing import isolated_settings

pytestmark = pytest.mark.unit
SECRET = "unit-test-secret-of-at-least-32-bytes!"


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch, tmp_path):
    isolated_settings(monkeypatch, tmp_path, "PATHWAYS_FAIL_POINT", "PATHWAYS_FAIL_POINT_MARKER", "PATHWAYS_DEV_MODE",
                      "PATHWAYS_JWT_SECRET")


def settings(**values) -> Settings:
    return Settings(_env_file=None, **values)


class Kills:
    """Records each kill instead of dying."""

    def __init__(self, calls: list[str] | None = None) -> None:
        self.calls = calls if calls is not None else []

    def __call__(self) -> None:
        self.calls.append("crash")


# --- the setting -------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("text", "point", "hit"), [
    ("consumer.after_commit", "consumer.after_commit", 1),
    ("relay.after_publish", "relay.after_publish", 1),
    ("relay.after_publish:3", "relay.after_publish", 3),
    (" consumer.after_commit:12 ", "consumer.after_commit", 12),
])
def test_a_fail_point_is_read_from_the_environment_with_its_hit(monkeypatch, text, point, hit):
    monkeypatch.setenv("PATHWAYS_FAIL_POINT", text)
    assert Settings(_env_file=None).fail_point == FailPoint(point=point, hit=hit)


@pytest.mark.parametrize("text", [None, "", "   "])
def test_no_fail_point_by_default_nor_when_blank(monkeypatch, text):
    if text is not None:
        monkeypatch.setenv("PATHWAYS_FAIL_POINT", text)
    assert Settings(_env_file=None).fail_point is None


@pytest.mark.parametrize(("text", "says"), [
    ("consumer.before_commit", "consumer.after_commit' or 'relay.after_publish"),  # an unknown point
    ("relay.after_publish:0", "greater than 0"),
    ("relay.after_publish:-2", "greater than 0"),
    ("relay.after_publish:three", "valid integer"),
    ("relay.after_publish:", "valid integer"),
    ("relay.after_publish:1:2", "valid integer"),
])
def test_a_bad_fail_point_is_a_clear_error_naming_the_variable(monkeypatch, text, says):
    monkeypatch.setenv("PATHWAYS_FAIL_POINT", text)
    with pytest.raises(ValidationError, match="PATHWAYS_FAIL_POINT") as refused:
        Settings(_env_file=None)
    assert says in str(refused.value)


def test_crash_at_arms_only_the_point_the_setting_names():
    assert crash_at(CONSUMER_AFTER_COMMIT, settings()) is None
    assert crash_at(RELAY_AFTER_PUBLISH, settings()) is None
    given = settings(PATHWAYS_FAIL_POINT="relay.after_publish:2")
    assert crash_at(CONSUMER_AFTER_COMMIT, given) is None
    armed = crash_at(RELAY_AFTER_PUBLISH, given)
    assert isinstance(armed, Crash) and armed.fail_point == FailPoint(point="relay.after_publish", hit=2)


# --- the crash ---------------------------------------------------------------------------------------------

def test_the_crash_fires_on_its_hit_only_and_leaves_its_line_first(tmp_path, capfd):
    kills = Kills()
    marker = tmp_path / "failpoint.log"
    crash = Crash(FailPoint(point="relay.after_publish", hit=3), service="probe", marker=marker, kill=kills)
    crash()
    crash()
    assert kills.calls == [] and not marker.exists()
    crash()
    assert kills.calls == ["crash"]
    line = f"{MARKER} relay.after_publish reached (3 events, at least 3): SIGKILL probe pid {os.getpid()}"
    assert marker.read_text() == line + "\n"
    assert line in capfd.readouterr().err
    crash()  # (a real kill never returns; a fake one does, and fires once)
    assert kills.calls == ["crash"]


def test_the_crash_fires_once_at_the_batch_that_brings_the_events_to_its_hit():
    kills = Kills()
    crash = Crash(FailPoint(point="consumer.after_commit", hit=5), service="probe", kill=kills)
    crash(3)
    assert kills.calls == []
    crash(4)  # 7 events: this batch crossed 5
    assert kills.calls == ["crash"] and crash.reached == 7
    crash(1)
    assert kills.calls == ["crash"]


def test_the_crash_is_a_real_sigkill_of_the_process_itself(tmp_path):
    marker = tmp_path / "marker"
    program = ("from pathlib import Path\n"
               "from pathways_runtime.failpoints import Crash, FailPoint\n"
               f"crash = Crash(FailPoint(point='consumer.after_commit'), service='probe', marker=Path({str(marker)!r}))\n"
               "try:\n"
               "    crash()\n"
               "finally:\n"
               "    print('survived')\n")
    done = subprocess.run([sys.executable, "-c", program], capture_output=True, text=True, timeout=60)
    assert done.returncode == -9, done.stderr  # killed by SIGKILL: no finally ran
    assert "survived" not in done.stdout
    assert f"{MARKER} consumer.after_commit reached (1 events, at least 1): SIGKILL probe pid" in done.stderr
    assert marker.read_text().startswith(f"{MARKER} consumer.after_commit")


# --- refused outside development mode -----------------------------------------------------------------------

def _service(given: Settings) -> Service:
    return Service("probe", schema="probe", migrations=None, description="", settings=given)


def test_outside_development_mode_a_service_with_a_fail_point_does_not_start():
    armed = settings(PATHWAYS_JWT_SECRET=SECRET, PATHWAYS_FAIL_POINT="consumer.after_commit")
    with pytest.raises(FailPointRefused, match="PATHWAYS_FAIL_POINT=consumer.after_commit:1.*PATHWAYS_DEV_MODE=1"):
        _service(armed).app()
    _service(settings(PATHWAYS_JWT_SECRET=SECRET)).app()  # the same without the fail point starts


async def test_outside_development_mode_running_refuses_a_fail_point_before_opening_anything():
    service = _service(settings(PATHWAYS_JWT_SECRET=SECRET, PATHWAYS_FAIL_POINT="relay.after_publish:2",
                                DATABASE_URL="postgresql://nobody@127.0.0.1:1/none"))
    with pytest.raises(FailPointRefused):
        async with service.running():
            pass


def test_a_real_service_refuses_a_fail_point_outside_development_mode():
    from pathways_inspection.bootstrap import bootstrap
    from pathways_inspection.settings import InspectionSettings

    with pytest.raises(FailPointRefused, match="inspection"):
        bootstrap(InspectionSettings(_env_file=None, PATHWAYS_JWT_SECRET=SECRET,
                                     PATHWAYS_FAIL_POINT="relay.after_publish")).app()


def test_in_development_mode_a_fail_point_is_allowed_and_announced(capsys):
    _service(settings(PATHWAYS_DEV_MODE=True, PATHWAYS_JWT_SECRET=SECRET,
                      PATHWAYS_FAIL_POINT="relay.after_publish:4")).app()
    assert "FAIL POINT ARMED (PATHWAYS_FAIL_POINT=relay.after_publish:4)" in capsys.readouterr().out


# --- where the consumer pipeline reaches its point -----------------------------------------------------------

class Connection:
    """Records the pipeline's transaction (begin/commit or rollback), savepoints and statements."""

    def __init__(self, calls: list[str], fail_with: BaseException | None = None) -> None:
        self.calls = calls
        self.depth = 0
        self.fail_with = fail_with

    @asynccontextmanager
    async def transaction(self):
        outer = self.depth == 0
        self.depth += 1
        self.calls.append("begin" if outer else "savepoint")
        try:
            yield
        except BaseException:
            self.calls.append("rollback" if outer else "rollback to savepoint")
            raise
        else:
            self.calls.append("commit" if outer else "release savepoint")
        finally:
            self.depth -= 1

    async def fetch(self, sql: str, group: str, ids: list[str], types: list[str]):
        if self.fail_with is not None:
            raise self.fail_with
        self.calls.append("claim in inbox")
        return [(i,) for i in ids]

    async def execute(self, sql: str, *args) -> None:
        self.calls.append("release claims" if "delete from" in sql else sql)


class Pool:
    def __init__(self, conn) -> None:
        self.conn = conn

    @asynccontextmanager
    async def acquire(self):
        yield self.conn


class Broker:
    def __init__(self, calls: list[str]) -> None:
        self.calls = calls

    async def publish(self, value, topic, **kwargs):
        self.calls.append(f"publish to {topic}")
        if kwargs.get("no_confirm"):
            future = asyncio.get_running_loop().create_future()
            asyncio.get_running_loop().call_soon(lambda: (self.calls.append("acknowledged"), future.set_result(None)))
            return future
        return None


def _record(offset: int, *, value: bytes | None = None) -> ConsumerRecord:
    data = InspectionSubmitted(inspection_id=uuid.uuid4(), establishment_id="est-1", department="health-department",
                               source_system="unit", program="food_establishment", reason="routine",
                               inspected_on="2026-11-03", result="pass", indicator_codes=[])
    key, encoded, headers = encode(CloudEvent(data=data, source="/unit"))
    value = encoded if value is None else value
    return ConsumerRecord(topic=data.event_type, partition=0, offset=offset, timestamp=0, timestamp_type=0, key=key,
                          value=value, checksum=None, serialized_key_size=len(key), serialized_value_size=len(value),
                          headers=tuple((k, v.encode()) for k, v in headers.items()))


def _consumers(calls: list[str], crash: Crash | None, conn: Connection | None = None) -> EventConsumers:
    return EventConsumers(Broker(calls), lambda: Pool(conn or Connection(calls)), schema="probe",
                          unit_of_work_on=lambda conn, savepoint: None, group="probe", retry=RetryPolicy(1, 0.0),
                          fail_point=crash)


def _handler(calls: list[str]):
    async def handle(event, uow) -> None:
        calls.append("handle")

    return handle


async def test_the_consumer_crashes_after_the_batch_commit_before_anything_else_of_the_batch():
    calls: list[str] = []
    consumers = _consumers(calls, Crash(FailPoint(point="consumer.after_commit"), service="probe",
                                        kill=Kills(calls)))
    batch = [consumers._check(_record(0)), consumers._check(_record(1, value=b"{not json"))]
    await consumers._process_batch(_handler(calls), "probe", batch)
    # The claims and the handler's effects committed; then the crash; the dead letter (and, once this returns,
    # FastStream's offset commit) would come after it, so a restart reads the batch again.
    assert calls == ["begin", "claim in inbox", "savepoint pathways_event", "handle", "commit", "crash",
                     "publish to inspection.submitted.dlq"]


async def test_the_consumer_counts_batches_towards_the_hit():
    calls: list[str] = []
    consumers = _consumers(calls, Crash(FailPoint(point="consumer.after_commit", hit=2), service="probe",
                                        kill=Kills(calls)))
    await consumers._process_batch(_handler(calls), "probe", [consumers._check(_record(0))])
    assert "crash" not in calls
    await consumers._process_batch(_handler(calls), "probe", [consumers._check(_record(1))])
    assert calls.count("crash") == 1 and calls[-2:] == ["commit", "crash"]


async def test_the_consumer_does_not_reach_its_point_when_the_batch_did_not_commit():
    calls: list[str] = []
    conn = Connection(calls, fail_with=ConnectionError("database gone"))
    consumers = _consumers(calls, Crash(FailPoint(point="consumer.after_commit"), service="probe",
                                        kill=Kills(calls)), conn)
    with pytest.raises(ConnectionError):
        await consumers._process_batch(_handler(calls), "probe", [consumers._check(_record(0))])
    assert calls == ["begin", "rollback"]


async def test_an_unarmed_consumer_runs_its_batch_unchanged():
    calls: list[str] = []
    consumers = _consumers(calls, None)
    await consumers._process_batch(_handler(calls), "probe", [consumers._check(_record(0))])
    assert calls == ["begin", "claim in inbox", "savepoint pathways_event", "handle", "commit"]


# --- where the outbox relay reaches its point ----------------------------------------------------------------

class OutboxConnection(Connection):
    def __init__(self, calls: list[str], rows: list[dict]) -> None:
        super().__init__(calls)
        self.rows = rows

    async def fetch(self, sql: str, limit: int):
        self.calls.append("lock waiting rows")
        return self.rows

    async def execute(self, sql: str, *args) -> None:
        self.calls.append("delete published" if sql.startswith("delete from probe.outbox") else sql)


def _rows(n: int) -> list[dict]:
    return [{"id": i, "event_id": f"event-{i}", "topic": "inspection.completed", "key": b"est-1", "value": b"{}",
             "headers": "{}", "traceparent": None} for i in range(1, n + 1)]


async def test_the_relay_crashes_after_the_broker_acknowledged_the_batch_before_deleting_it():
    calls: list[str] = []
    relay = OutboxRelay(Pool(OutboxConnection(calls, _rows(2))), "probe", Broker(calls),
                        fail_point=Crash(FailPoint(point="relay.after_publish"), service="probe", kill=Kills(calls)))
    assert await relay.publish_batch() == 2
    assert calls == ["begin", "lock waiting rows", "publish to inspection.completed",
                     "publish to inspection.completed", "acknowledged", "acknowledged", "crash", "delete published",
                     "commit"]


async def test_the_relay_counts_published_batches_towards_the_hit_and_not_empty_polls():
    calls: list[str] = []
    conn = OutboxConnection(calls, [])
    relay = OutboxRelay(Pool(conn), "probe", Broker(calls),
                        fail_point=Crash(FailPoint(point="relay.after_publish", hit=2), service="probe",
                                         kill=Kills(calls)))
    assert await relay.publish_batch() == 0  # nothing to publish: not the point
    conn.rows = _rows(1)
    await relay.publish_batch()
    assert "crash" not in calls
    await relay.publish_batch()
    assert calls.count("crash") == 1 and calls[-3:] == ["crash", "delete published", "commit"]
