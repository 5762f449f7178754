"""The system under fault: the three services as real processes on a broker and a database of their own.

Each fault test builds one ``System`` (a fresh database on the session's PostgreSQL, or a
PostgreSQL of its own when the test restarts it; a broker of its own), starts the
services exactly as ``pathways run`` does, and can kill, stop, restart or double any of them.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import asyncpg
import httpx

from pathways_cli import stack
from pathways_runtime.embedded import free_port

NAMES = ("inspection", "referral", "notification")  # the flow; the fault suite runs these
WITH_INSIGHTS = (*NAMES, "insights")  # every service with an API of its own (the security suite attacks all)
MODULES = {name: f"pathways_{name}" for name in WITH_INSIGHTS}


async def fresh_database(server_url: str, name: str) -> str:
    """An empty database on the server at ``server_url``; its URL."""
    conn = await asyncpg.connect(server_url)
    try:
        await conn.execute(f'drop database if exists "{name}" with (force)')
        await conn.execute(f'create database "{name}"')
    finally:
        await conn.close()
    return server_url.rsplit("/", 1)[0] + f"/{name}"


@dataclass
class Instance:
    name: str
    port: int
    process: subprocess.Popen

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


@dataclass
class System:
    """Service processes sharing one environment; ``instances[name]`` is the primary of each.

    ``overrides[name]`` is extra environment of one service (e.g. a fail point), on top of ``env``.
    """

    env: dict[str, str]
    state: Path
    instances: dict[str, Instance] = field(default_factory=dict)
    extras: list[Instance] = field(default_factory=list)
    overrides: dict[str, dict[str, str]] = field(default_factory=dict)

    def url(self, name: str) -> str:
        return self.instances[name].url

    def start_all(self, names: tuple[str, ...] = NAMES) -> None:
        for name in names:
            self.instances[name] = self._spawn(name, free_port())
        for name in names:
            self.wait_ready(name)

    def _spawn(self, name: str, port: int, tag: str = "") -> Instance:
        logs = self.state / "logs"
        logs.mkdir(parents=True, exist_ok=True)
        log = (logs / f"{name}{tag}.log").open("ab")
        process = subprocess.Popen([sys.executable, "-m", MODULES[name]],
                                   env=self.env | self.overrides.get(name, {})
                                   | {"PORT": str(port), "OTEL_SERVICE_NAME": name},
                                   stdout=log, stderr=subprocess.STDOUT)
        return Instance(name, port, process)

    def wait_ready(self, name: str, instance: Instance | None = None, timeout: float = 90) -> None:
        instance = instance or self.instances[name]
        deadline = time.monotonic() + timeout
        while True:
            if instance.process.poll() is not None:
                raise RuntimeError(f"{name} exited with {instance.process.returncode}; see {self.state}/logs")
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{instance.url}/readyz", timeout=2).status_code == 200:
                    return
            if time.monotonic() > deadline:
                raise TimeoutError(f"{name} not ready after {timeout:.0f}s")
            time.sleep(0.2)

    def kill(self, name: str) -> None:
        """SIGKILL: no shutdown code runs, as when a machine or a container dies."""
        process = self.instances[name].process
        process.send_signal(signal.SIGKILL)
        process.wait(10)

    def terminate(self, name: str, grace: float) -> float:
        """SIGTERM and wait; the seconds it took to exit (raises if it outlived ``grace``)."""
        process = self.instances[name].process
        started = time.monotonic()
        process.send_signal(signal.SIGTERM)
        process.wait(grace)
        return time.monotonic() - started

    def log(self, name: str, tag: str = "") -> str:
        """What an instance of ``name`` wrote (stdout and stderr); ``tag=".restarted"`` for its restart."""
        path = self.state / "logs" / f"{name}{tag}.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def restart(self, name: str, overrides: dict[str, str] | None = None) -> None:
        """Start the service again on its port, and wait until it is ready.

        With ``overrides``, the service's extra environment is replaced by it first (``{}``: none, e.g.
        to restart it without its fail point).
        """
        if overrides is not None:
            self.overrides[name] = overrides
        self.instances[name] = self._spawn(name, self.instances[name].port, tag=".restarted")
        self.wait_ready(name)

    def add_instance(self, name: str) -> Instance:
        """A second replica of a service (same consumer group): the group rebalances."""
        extra = self._spawn(name, free_port(), tag=f".extra{len(self.extras)}")
        self.extras.append(extra)
        self.wait_ready(name, extra)
        return extra

    def stop(self) -> None:
        everything = [*self.instances.values(), *self.extras]
        for instance in everything:
            if instance.process.poll() is None:
                instance.process.terminate()
        deadline = time.monotonic() + 20
        for instance in everything:
            try:
                instance.process.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                instance.process.kill()


def system_env(kafka: str, database_url: str, state: Path, **more: str) -> dict[str, str]:
    """The environment ``pathways run`` gives the services, with short test timings."""
    return dict(os.environ) | {
        "KAFKA_BOOTSTRAP_SERVERS": kafka, "DATABASE_URL": database_url,
        "PATHWAYS_TRACE_DIR": str(state / "traces"),
        "PATHWAYS_CONSUMER_SESSION_TIMEOUT_MS": "6000", "PATHWAYS_OUTBOX_POLL_SECONDS": "0.5",
    } | more


__all__ = ["System", "fresh_database", "system_env", "stack"]
