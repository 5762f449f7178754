"""`pathways bench e2e`: inspections offered over HTTP at fixed rates, timed to a real webhook receiver.

What runs: the embedded broker and PostgreSQL (or the ones ``KAFKA_BOOTSTRAP_SERVERS`` /
``DATABASE_URL`` name), the three services as their own processes (as ``pathways run`` starts
them), and in this process a webhook receiver (uvicorn on a free port) with one or more
subscriptions to ``case.opened``.

The generator is open-loop: request ``i`` of a step is scheduled at ``t0 + i / rate`` and sent
at that time whether or not earlier requests have been answered, so a slow system shows up as
latency instead of silently lowering the offered rate. Each inspection is on its own
establishment and carries indicator codes that raise a red flag, so each one opens a case and
each subscription gets one ``case.opened``. Latency is measured from the SCHEDULED send time
(wall clock, the receiver is on the same machine) to the intake's answer and to the webhook's
receipt. CPU per inspection is read from each service process's ``/proc/<pid>/stat``.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import secrets
import socket
import tempfile
import time
import uuid
from dataclasses import asdict, dataclass, field
from pathlib import Path

import httpx
import typer

from pathways_runtime.auth import Role, issue_token

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
RED_FLAG_CODES = ["VUL-LIVING-ON-SITE", "LAB-WAGE-THEFT"]  # 4 + 3: a red flag (6) from one inspection


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def percentile(values: list[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def _stat(pid: int) -> list[str]:
    return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()


def cpu_seconds(pid: int) -> float:
    """CPU of a process and of its children alive now (PostgreSQL's backends are the postmaster's children)."""
    fields = _stat(pid)
    total = (int(fields[11]) + int(fields[12])) / CLOCK_TICKS  # utime + stime
    for child in _children(pid):
        with contextlib.suppress(OSError, IndexError, ValueError):
            child_fields = _stat(child)
            total += (int(child_fields[11]) + int(child_fields[12])) / CLOCK_TICKS
    return total


def _children(pid: int) -> list[int]:
    found = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        with contextlib.suppress(OSError):
            found += [int(c) for c in (task / "children").read_text().split()]
    return found


def infrastructure_pids() -> dict[str, int]:
    """The embedded broker and PostgreSQL this process started (its children), to count their CPU too."""
    pids = {}
    for child in _children(os.getpid()):
        with contextlib.suppress(OSError):
            command = Path(f"/proc/{child}/cmdline").read_bytes().split(b"\0")[0].decode()
            if command.endswith("postgres"):
                pids["postgresql"] = child
            elif "tansu" in command:
                pids["broker"] = child
    return pids


@dataclass
class Step:
    rate: float
    seconds: float
    subscriptions: int
    offered: int = 0
    acknowledged: int = 0
    rejected: int = 0
    expected_deliveries: int = 0
    delivered: int = 0
    offered_per_second: float = 0.0
    delivered_per_second: float = 0.0
    ack_ms: dict = field(default_factory=dict)
    webhook_ms: dict = field(default_factory=dict)
    cpu_ms_per_inspection: dict = field(default_factory=dict)
    errors: list = field(default_factory=list)  # the first few distinct rejections, to say why
    load_average: float = 0.0  # the machine's 1-minute load at the step's end: the figures are shared-CPU ones


class Receiver:
    """Records the receipt time of each ``case.opened`` per establishment and subscription path."""

    def __init__(self) -> None:
        self.port = free_port()
        self.receipts: dict[tuple[str, str], float] = {}
        self.arrived = asyncio.Event()

    async def app(self, scope, receive, send) -> None:  # a bare ASGI app: the receiver must not be the bottleneck
        if scope["type"] != "http":
            return
        body = b""
        more = True
        while more:
            message = await receive()
            body += message.get("body", b"")
            more = message.get("more_body", False)
        now = time.time()
        with contextlib.suppress(ValueError, KeyError, TypeError):
            establishment = json.loads(body)["data"]["establishment_id"]
            self.receipts.setdefault((scope["path"], establishment), now)
            self.arrived.set()
        await send({"type": "http.response.start", "status": 204, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


async def _serve_receiver(receiver: Receiver) -> tuple[asyncio.Task, object]:
    import uvicorn

    server = uvicorn.Server(uvicorn.Config(receiver.app, host="127.0.0.1", port=receiver.port, log_level="warning",
                                           access_log=False, lifespan="off", interface="asgi3"))
    task = asyncio.create_task(server.serve())
    while not server.started:
        await asyncio.sleep(0.05)
    return task, server


async def _establishments(client: httpx.AsyncClient, url: str, token: dict, count: int) -> list[str]:
    ids = [f"est-bench-{uuid.uuid4().hex[:12]}" for _ in range(count)]
    gate = asyncio.Semaphore(16)

    async def create(est: str) -> None:
        async with gate:
            response = await client.post(f"{url}/establishments", headers=token, json={
                "id": est, "license_number": f"LIC-{est}", "name": "Bench Spa", "license_type": "massage",
                "license_status": "active", "address": "1 Bench St", "area": "Ward 1", "jurisdiction": "bench-county"})
            response.raise_for_status()

    await asyncio.gather(*(create(e) for e in ids))
    return ids


async def run_step(client: httpx.AsyncClient, urls: dict[str, str], pids: dict[str, int], receiver: Receiver,
                   paths: list[str], token: dict, rate: float, seconds: float, drain: float) -> Step:
    count = max(1, round(rate * seconds))
    establishments = await _establishments(client, urls["inspection"], token, count)
    step = Step(rate, seconds, len(paths), offered=count, expected_deliveries=count * len(paths))
    scheduled: dict[str, float] = {}
    acks: list[float] = []
    cpu_before = {name: cpu_seconds(pid) for name, pid in pids.items()}

    async def send(est: str, at: float) -> None:
        await asyncio.sleep(max(0.0, at - time.time()))
        try:
            response = await client.post(f"{urls['inspection']}/inspections", headers=token, json={
                "establishment_id": est, "program": "labor_standards_site_visit", "reason": "routine",
                "inspected_on": "2026-11-02", "result": "conditional", "indicator_codes": RED_FLAG_CODES})
        except httpx.HTTPError as exc:
            step.rejected += 1
            _note(step, repr(exc))
            return
        if response.status_code == 201:
            step.acknowledged += 1
            acks.append(time.time() - at)
        else:
            step.rejected += 1
            _note(step, f"{response.status_code} {response.text[:300]}")

    t0 = time.time() + 0.2
    tasks = []
    for i, est in enumerate(establishments):
        scheduled[est] = t0 + i / rate
        tasks.append(asyncio.create_task(send(est, scheduled[est])))
    await asyncio.gather(*tasks)
    sent_until = time.time()

    def received() -> list[float]:
        return [at - scheduled[est] for (path, est), at in receiver.receipts.items()
                if est in scheduled and path in paths]

    deadline = time.time() + drain
    while len(received()) < step.acknowledged * len(paths) and time.time() < deadline:
        receiver.arrived.clear()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(receiver.arrived.wait(), 1.0)
    latencies = received()
    last = max(at for (path, est), at in receiver.receipts.items() if est in scheduled) if latencies else sent_until
    step.delivered = len(latencies)
    step.offered_per_second = round(count / max(1e-9, scheduled[establishments[-1]] - t0 + 1 / rate), 1)
    step.delivered_per_second = round(step.delivered / len(paths) / max(1e-9, last - t0), 1)
    step.ack_ms = _summary(acks)
    step.webhook_ms = _summary(latencies)
    step.cpu_ms_per_inspection = {name: round((cpu_seconds(pid) - cpu_before[name]) * 1000 / count, 1)
                                  for name, pid in pids.items()}
    step.load_average = round(os.getloadavg()[0], 1)
    return step


def _note(step: Step, error: str) -> None:
    if len(step.errors) < 3 and error not in step.errors:
        step.errors.append(error)


def _summary(seconds: list[float]) -> dict:
    return {name: (round(v * 1000, 1) if (v := percentile(seconds, q)) is not None else None)
            for name, q in (("p50", 0.5), ("p95", 0.95), ("p99", 0.99), ("max", 1.0))}


async def _subscribe(client: httpx.AsyncClient, url: str, receiver: Receiver, count: int, secret: str) -> list[str]:
    token = {"Authorization": f"Bearer {issue_token(secret, subject='bench', role=Role.DEPARTMENT, org='labor-standards')}"}
    paths = []
    for i in range(count):
        path = f"/hooks/{i}"
        # The department and its role come from the token (labor-standards is granted "labor"), never the body.
        response = await client.post(f"{url}/subscriptions", headers=token, json={
            "event_types": ["case.opened"], "url": receiver.url + path})
        response.raise_for_status()
        paths.append(path)
    return paths


async def _measure(urls: dict[str, str], pids: dict[str, int], secret: str, rates: list[float], seconds: float,
                   subscriptions: int, drain: float, idle: float, idle_cpu: dict) -> list[Step]:
    receiver = Receiver()
    task, server = await _serve_receiver(receiver)
    token = {"Authorization": f"Bearer {issue_token(secret, subject='bench', role=Role.INSPECTOR, org='labor-standards')}"}
    limits = httpx.Limits(max_connections=200, max_keepalive_connections=200)
    try:
        async with httpx.AsyncClient(timeout=60, limits=limits) as client:
            paths = await _subscribe(client, urls["notification"], receiver, subscriptions, secret)
            # One warm-up inspection: the first group joins and connections are made before the clock runs.
            await run_step(client, urls, pids, receiver, paths, token, rate=1, seconds=1, drain=60)
            if idle:  # what waiting costs (consumers polling the broker, relays, workers), nothing offered
                before = {name: cpu_seconds(pid) for name, pid in pids.items()}
                await asyncio.sleep(idle)
                idle_cpu.update({name: round((cpu_seconds(pid) - before[name]) * 1000 / idle, 1)
                                 for name, pid in pids.items()})
                typer.echo(f"idle CPU ms per second: {idle_cpu}")
            steps = []
            for rate in rates:
                step = await run_step(client, urls, pids, receiver, paths, token, rate, seconds, drain)
                typer.echo(_line(step))
                steps.append(step)
            return steps
    finally:
        server.should_exit = True
        await task


def _line(step: Step) -> str:
    w, a = step.webhook_ms, step.ack_ms
    cpu = " ".join(f"{k}={v}" for k, v in step.cpu_ms_per_inspection.items())
    return (f"offered {step.offered_per_second:7.1f}/s  delivered {step.delivered_per_second:7.1f}/s"
            f"  ({step.delivered}/{step.expected_deliveries})  ack p50 {a['p50']} p99 {a['p99']} ms"
            f"  webhook p50 {w['p50']} p95 {w['p95']} p99 {w['p99']} max {w['max']} ms  cpu ms/inspection {cpu}  load {step.load_average}"
            + (f"\n  {step.rejected} rejected, e.g. {step.errors}" if step.rejected else ""))


def e2e(rates: str = typer.Option("15,30,60,100", help="Offered inspections per second, one step each."),
        seconds: float = typer.Option(10.0, help="Length of each step."),
        subscriptions: int = typer.Option(1, help="Webhook subscriptions to case.opened."),
        drain: float = typer.Option(30.0, help="How long to wait for a step's last deliveries."),
        idle: float = typer.Option(5.0, help="Seconds of idle CPU measured before the steps (0 to skip)."),
        out: Path = typer.Option(Path("bench-results/e2e.json"), help="Where the JSON results go.")) -> None:
    """Intake → webhook latency and throughput through the three services at fixed offered rates."""
    from pathways_cli import stack

    secret = secrets.token_urlsafe(32)
    with tempfile.TemporaryDirectory(prefix="pathways-bench-e2e-") as tmp:
        state = Path(tmp)
        from pathways_runtime.settings import EMBEDDED_FETCH_MAX_WAIT_MS, Settings, new_field_key

        os.environ.setdefault("PG_PORT", str(free_port()))  # not 5432: another stack may be running here
        with stack.embedded_infrastructure(state, Settings(KAFKA_BOOTSTRAP_SERVERS=f"127.0.0.1:{free_port()}")) \
                as (kafka, database):
            stack.prepare_topics(kafka)
            env = dict(os.environ) | {
                "KAFKA_BOOTSTRAP_SERVERS": kafka, "DATABASE_URL": database, "PATHWAYS_JWT_SECRET": secret,
                "PATHWAYS_TRACE_DIR": str(state / "traces"), "INSPECTION_PORT": str(free_port()),
                "REFERRAL_PORT": str(free_port()), "NOTIFICATION_PORT": str(free_port()),
                "PATHWAYS_CONSUMER_SESSION_TIMEOUT_MS": "6000", "PATHWAYS_FIELD_KEY": new_field_key(),
                # The bench's own receiver listens on loopback: allowed by name, as an operator would.
                "PATHWAYS_WEBHOOK_ALLOWED_NETWORKS": "127.0.0.1/32"}
            if not os.environ.get("KAFKA_BOOTSTRAP_SERVERS"):  # the embedded broker: see EMBEDDED_FETCH_MAX_WAIT_MS
                env.setdefault("PATHWAYS_CONSUMER_FETCH_MAX_WAIT_MS", str(EMBEDDED_FETCH_MAX_WAIT_MS))
            started = stack.start_services(env, state)
            try:
                stack.wait_ready(started, timeout=120)
                urls = {svc.name: svc.url for svc, _ in started}
                pids = {svc.name: proc.pid for svc, proc in started} | infrastructure_pids()
                idle_cpu: dict = {}
                steps = asyncio.run(_measure(urls, pids, secret, [float(r) for r in rates.split(",")], seconds,
                                             subscriptions, drain, idle, idle_cpu))
            finally:
                stack.stop_services(started)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"machine": f"{os.cpu_count()} cores", "date": time.strftime("%Y-%m-%d %H:%M UTC",
                                                                                          time.gmtime()),
                               "load_average_at_end": os.getloadavg(),
                               "fetch_max_wait_ms": env.get("PATHWAYS_CONSUMER_FETCH_MAX_WAIT_MS", "500"),
                               "idle_cpu_ms_per_second": idle_cpu, "steps": [asdict(s) for s in steps]},
                              indent=2) + "\n")
    typer.echo(f"wrote {out}")
