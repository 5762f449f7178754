"""`pathways bench e2e`: the whole system under an open-loop load, and the figures issue 10 asks for, in one run.

What runs: the embedded broker and PostgreSQL (or the ones ``KAFKA_BOOTSTRAP_SERVERS`` /
``DATABASE_URL`` name), the three services as their own processes (as ``pathways run`` starts
them), and in this process a webhook receiver (uvicorn on a free port) with subscriptions to
``case.opened``.

1. Ladders: for each subscription count (1, 10, 50 by default, added to as the run goes on), steps
   at rising offered rates (10 … 2,000/s), stopping after the first step that is not sustained
   (``judge`` says what sustained means); the higher rates are reported as skipped, not run.
2. Deliveries per second: a burst of red flags in one bulk request, fanned out to every subscription.
3. The bulk intake's rate: batches of 1,000 through ``POST /inspections/batch``.
4. Once the services stopped: the raw aiokafka consume rate and the consumer kit's replay rate
   on the same broker and database, and their ratio.

The generator is open-loop: request ``i`` of a step is scheduled at ``t0 + i / rate`` and sent
at that time whether or not earlier requests have been answered, so a slow system shows up as
latency instead of silently lowering the offered rate. Each inspection is on its own
establishment and carries indicator codes that raise a red flag, so each one opens a case and
each subscription gets one ``case.opened``. Latency is measured from the SCHEDULED send time
(wall clock, the receiver is on the same machine) to the intake's answer and to the webhook's
receipt. CPU per inspection is read from each process's ``/proc/<pid>/stat`` (PostgreSQL with
its backends).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import secrets
import socket
import tempfile
import time
import uuid
from dataclasses import asdict, dataclass, field
from pathlib import Path

import aiohttp
import httpx
import typer

from pathways_runtime.auth import Role, issue_token
from pathways_runtime import serve
from pathways_runtime.shedding import OVERLOADED

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
    """CPU of a process and of its children, those alive now and those it reaped (PostgreSQL's backends are
    the postmaster's children: a backend that exits between two readings must not take its CPU with it)."""
    fields = _stat(pid)
    total = sum(int(f) for f in fields[11:15]) / CLOCK_TICKS  # utime + stime + cutime + cstime (reaped children)
    for child in _children(pid):
        with contextlib.suppress(OSError, IndexError, ValueError):
            child_fields = _stat(child)
            total += (int(child_fields[11]) + int(child_fields[12])) / CLOCK_TICKS
    return total


BENCH = "bench"  # this process: the load generator and the webhook receiver, on the same two cores


def cpu_by_process(pids: dict[str, int]) -> dict[str, float]:
    """CPU seconds so far of each process named in ``pids`` (with its children), and of this one alone."""
    return {name: cpu_seconds(pid) for name, pid in pids.items()} | {BENCH: time.process_time()}


def cpu_ms_since(before: dict[str, float], pids: dict[str, int], per: float, digits: int = 1) -> dict[str, float]:
    """CPU milliseconds per ``per`` (inspections, items, seconds) of each process since ``before``."""
    now = cpu_by_process(pids)
    return {name: round((now[name] - before[name]) * 1000 / per, digits) for name in before}


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
            argv = Path(f"/proc/{child}/cmdline").read_bytes().decode(errors="replace").split("\0")
            if argv[0].endswith("postgres"):
                pids["postgresql"] = child
            elif "tansu" in argv[0] or "kafka.Kafka" in argv:  # Tansu, or Apache Kafka's JVM
                pids["broker"] = child
    return pids


@dataclass
class Step:
    rate: float
    seconds: float
    subscriptions: int
    offered: int = 0
    acknowledged: int = 0
    shed: int = 0  # answered 503 at once: the intake had as many requests in flight as it takes
    rejected: int = 0  # any other answer but 201, or none
    expected_deliveries: int = 0
    delivered: int = 0
    offered_per_second: float = 0.0
    delivered_per_second: float = 0.0
    ack_ms: dict = field(default_factory=dict)  # of the acknowledged inspections
    shed_ms: dict = field(default_factory=dict)  # how soon the shed ones were told to come back
    webhook_ms: dict = field(default_factory=dict)
    # The webhook p99 of the inspections scheduled in the step's first and second half: a system that keeps
    # up has the same latency at the end of a step as at its start; one falling behind has more.
    webhook_p99_halves_ms: list = field(default_factory=list)
    cpu_ms_per_inspection: dict = field(default_factory=dict)
    errors: list = field(default_factory=list)  # the first few distinct rejections, to say why
    load_average: float = 0.0  # the machine's 1-minute load at the step's end: the figures are shared-CPU ones
    sustained: bool = False
    verdict: str = ""
    settled_seconds: float = 0.0  # waited after the step for its late deliveries, before the next step


# The sustain rule: every offered inspection acknowledged and delivered to every subscription before the
# drain deadline, delivered/s at least 95 % of offered/s, and the second half's p99 at most 1.5 times the
# first half's plus 50 ms (latency not growing through the step; the margin absorbs a 10 s step's noise).
DELIVERED_SHARE = 0.95
GROWTH_FACTOR, GROWTH_MARGIN_MS = 1.5, 50.0


def judge(step: Step) -> tuple[bool, str]:
    """Whether the system sustained the step's offered rate, and why not."""
    if step.shed:
        return False, f"{step.shed} of {step.offered} inspections shed (503, overloaded)"
    if step.rejected:
        return False, f"{step.rejected} of {step.offered} inspections not acknowledged"
    if step.delivered < step.expected_deliveries:
        return False, f"{step.expected_deliveries - step.delivered} of {step.expected_deliveries} deliveries late"
    if step.delivered_per_second < DELIVERED_SHARE * step.offered_per_second:
        return False, f"delivered {step.delivered_per_second}/s of {step.offered_per_second}/s offered"
    first, second = step.webhook_p99_halves_ms or (None, None)
    if first is not None and second is not None and second > GROWTH_FACTOR * first + GROWTH_MARGIN_MS:
        return False, f"p99 grew through the step: {first} ms in its first half, {second} ms in its second"
    return True, "sustained"


@dataclass
class Skipped:
    rate: float
    subscriptions: int
    skipped: str


async def climb(rates: list[float], subscriptions: int, run, refine: int = 0) -> list[Step | Skipped]:
    """Run the steps in order until one is not sustained; the higher rates are reported as skipped.

    With ``refine``, that many more steps then halve the gap between the last rate sustained (0 if none
    was) and the lowest one not sustained, so the highest sustained rate is known closer than the
    ladder's own steps (10 and 100/s) say.
    """
    steps: list[Step | Skipped] = []
    failed_at: float | None = None
    for rate in rates:
        if failed_at is not None:
            steps.append(Skipped(rate, subscriptions, f"not run: {failed_at:g}/s was not sustained"))
            continue
        step = await run(rate)
        steps.append(step)
        if not step.sustained:
            failed_at = rate
    if failed_at is not None:
        low, high = highest_sustained(steps) or 0.0, failed_at
        for _ in range(refine):
            middle = float(round((low + high) / 2))
            if middle in (low, high):
                break
            step = await run(middle)
            steps.append(step)
            low, high = (middle, high) if step.sustained else (low, middle)
    return steps


def highest_sustained(steps: list[Step | Skipped]) -> float | None:
    return max((s.rate for s in steps if isinstance(s, Step) and s.sustained), default=None)


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

    async def next_arrival(self, timeout: float) -> None:
        """Return when a receipt arrives (or after ``timeout``): the callers poll with deadlines."""
        self.arrived.clear()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.arrived.wait(), timeout)

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


INSPECTION = {"program": "labor_standards_site_visit", "reason": "routine", "inspected_on": "2026-11-02",
              "result": "conditional", "indicator_codes": RED_FLAG_CODES}


async def run_step(client: httpx.AsyncClient, generator: aiohttp.ClientSession, urls: dict[str, str],
                   pids: dict[str, int], receiver: Receiver, paths: list[str], token: dict, rate: float,
                   seconds: float, drain: float) -> Step:
    count = max(1, round(rate * seconds))
    establishments = await _establishments(client, urls["inspection"], token, count)
    step = Step(rate, seconds, len(paths), offered=count, expected_deliveries=count * len(paths))
    scheduled: dict[str, float] = {}
    acks: list[float] = []
    shed: list[float] = []  # how soon a shed request was answered
    cpu_before = cpu_by_process(pids)

    async def send(est: str, at: float) -> None:
        await asyncio.sleep(max(0.0, at - time.time()))
        try:
            async with generator.post(f"{urls['inspection']}/inspections", headers=token,
                                      json={"establishment_id": est} | INSPECTION) as response:
                answer = await response.read()
        except (aiohttp.ClientError, TimeoutError) as exc:
            step.rejected += 1
            _note(step, repr(exc))
            return
        if response.status == 201:
            step.acknowledged += 1
            acks.append(time.time() - at)
        elif response.status == 503 and _detail(answer).startswith(OVERLOADED):
            step.shed += 1
            shed.append(time.time() - at)
        else:
            step.rejected += 1
            _note(step, f"{response.status} {answer[:300].decode(errors='replace')}")

    t0 = time.time() + 0.2
    tasks = []
    for i, est in enumerate(establishments):
        scheduled[est] = t0 + i / rate
        tasks.append(asyncio.create_task(send(est, scheduled[est])))
    await asyncio.gather(*tasks)
    sent_until = time.time()

    def received() -> list[tuple[float, float]]:  # (scheduled, latency) per delivery of this step
        return [(scheduled[est], at - scheduled[est]) for (path, est), at in receiver.receipts.items()
                if est in scheduled and path in paths]

    deadline = time.time() + drain
    while len(received()) < step.acknowledged * len(paths) and time.time() < deadline:
        await receiver.next_arrival(1.0)
    timed = received()
    latencies = [latency for _, latency in timed]
    last = max(at for (path, est), at in receiver.receipts.items() if est in scheduled) if latencies else sent_until
    step.delivered = len(latencies)
    step.offered_per_second = round(count / max(1e-9, scheduled[establishments[-1]] - t0 + 1 / rate), 1)
    step.delivered_per_second = round(step.delivered / len(paths) / max(1e-9, last - t0), 1)
    step.ack_ms = _summary(acks)
    step.shed_ms = _summary(shed)
    step.webhook_ms = _summary(latencies)
    middle = t0 + seconds / 2
    step.webhook_p99_halves_ms = [_summary([lat for at, lat in timed if (at < middle) == first])["p99"]
                                  for first in (True, False)]
    step.cpu_ms_per_inspection = cpu_ms_since(cpu_before, pids, count)
    step.load_average = round(os.getloadavg()[0], 1)
    step.sustained, step.verdict = judge(step)
    if not step.sustained:  # let the backlog go through before the next step measures anything
        step.settled_seconds = await _settle(receiver, lambda: len(received()), step.acknowledged * len(paths))
    return step


async def _settle(receiver: Receiver, arrived, expected: int, quiet: float = 15.0, limit: float = 300.0) -> float:
    """Wait until ``expected`` deliveries arrived, or none came for ``quiet`` seconds, or ``limit`` passed."""
    started = last_change = time.monotonic()
    seen = arrived()
    while seen < expected and time.monotonic() - last_change < quiet and time.monotonic() - started < limit:
        await receiver.next_arrival(1.0)
        if (now := arrived()) != seen:
            seen, last_change = now, time.monotonic()
    return round(time.monotonic() - started, 1)


def _detail(answer: bytes) -> str:
    try:
        return str(json.loads(answer).get("detail", ""))
    except (ValueError, AttributeError):
        return ""


def _note(step: Step, error: str) -> None:
    if len(step.errors) < 3 and error not in step.errors:
        step.errors.append(error)


def _summary(seconds: list[float]) -> dict:
    return {name: (round(v * 1000, 1) if (v := percentile(seconds, q)) is not None else None)
            for name, q in (("p50", 0.5), ("p95", 0.95), ("p99", 0.99), ("max", 1.0))}


async def _subscribe(client: httpx.AsyncClient, url: str, receiver: Receiver, paths: list[str], total: int,
                     secret: str) -> list[str]:
    """Add subscriptions to ``case.opened`` until there are ``total``; each has its own receiver path."""
    token = {"Authorization": f"Bearer {issue_token(secret, subject='bench', role=Role.DEPARTMENT, org='labor-standards')}"}
    for i in range(len(paths), total):
        path = f"/hooks/{i}"
        # The department and its role come from the token (labor-standards is granted "labor"), never the body.
        response = await client.post(f"{url}/subscriptions", headers=token, json={
            "event_types": ["case.opened"], "url": receiver.url + path})
        response.raise_for_status()
        paths.append(path)
    return paths


async def deliveries_rate(client: httpx.AsyncClient, urls: dict[str, str], receiver: Receiver, paths: list[str],
                          token: dict, inspections: int, limit: float) -> dict:
    """Fan-out: ``inspections`` red flags in one bulk request, each opening a case every subscription receives.

    Deliveries per second run from the first receipt to the last, so the intake and the first case's
    screening are not counted; cases open at the referral service's pace, so when the subscriptions are
    few this measures case opening rather than sending (``cases_per_second`` says which).
    """
    establishments = await _establishments(client, urls["inspection"], token, inspections)
    wanted = set(establishments)
    response = await client.post(f"{urls['inspection']}/inspections/batch", headers=token, json={
        "inspections": [{"establishment_id": est} | INSPECTION for est in establishments]})
    response.raise_for_status()
    expected = inspections * len(paths)

    def stamps() -> list[float]:
        return [at for (path, est), at in receiver.receipts.items() if est in wanted and path in paths]

    await _settle(receiver, lambda: len(stamps()), expected, quiet=30.0, limit=limit)
    got = sorted(stamps())
    span = (got[-1] - got[0]) if len(got) > 1 else 0.0
    return {"inspections": inspections, "subscriptions": len(paths), "expected": expected, "delivered": len(got),
            "seconds": round(span, 2), "deliveries_per_second": round(len(got) / span, 1) if span else None,
            "cases_per_second": round(len(got) / len(paths) / span, 1) if span else None}


async def bulk_intake_rate(client: httpx.AsyncClient, url: str, token: dict, items: int, batch: int,
                           pids: dict[str, int]) -> dict:
    """Items per second recorded through ``POST /inspections/batch``, batches sent one after another.

    The items are routine passes on a few hundred establishments (no red flag, so no deliveries):
    what a department's nightly sync sends. Only the intake is timed; screening follows on the bus.
    CPU milliseconds per item, per process, over the same time (what the rest of the system did with
    the items meanwhile included): where the time goes.
    """
    establishments = await _establishments(client, url, token, min(items, 500))
    recorded = rejected = 0
    per_batch: list[float] = []
    cpu_before = cpu_by_process(pids)
    started = time.perf_counter()
    for first in range(0, items, batch):
        body = {"inspections": [
            {"establishment_id": establishments[i % len(establishments)], "program": "labor_standards_site_visit",
             "reason": "routine", "inspected_on": "2026-11-03", "result": "pass", "indicator_codes": [],
             "inspection_id": str(uuid.uuid4())} for i in range(first, min(items, first + batch))]}
        sent = time.perf_counter()
        response = await client.post(f"{url}/inspections/batch", headers=token, json=body)
        response.raise_for_status()
        per_batch.append(time.perf_counter() - sent)
        recorded += response.json()["recorded"]
        rejected += response.json()["rejected"]
    seconds = time.perf_counter() - started
    cpu = cpu_ms_since(cpu_before, pids, items, digits=2)
    return {"items": items, "batch": batch, "recorded": recorded, "rejected": rejected, "seconds": round(seconds, 2),
            "items_per_second": round(recorded / seconds, 1), "batch_ms": _summary(per_batch),
            "cpu_ms_per_item": cpu}


async def _measure(urls: dict[str, str], pids: dict[str, int], secret: str, plan: "Plan",
                   results: dict) -> None:
    receiver = Receiver()
    task, server = await _serve_receiver(receiver)
    token = {"Authorization": f"Bearer {issue_token(secret, subject='bench', role=Role.INSPECTOR, org='labor-standards')}"}
    limits = httpx.Limits(max_connections=200, max_keepalive_connections=200)
    # The generator posts through aiohttp: at 100/s offered to a saturated system, httpx's pool with
    # hundreds of requests waiting for a connection cost the bench 12 ms of CPU per inspection (3.9 at
    # 55/s), CPU the system under test then did not have. httpx does the rest (setup, bulk, fan-out).
    generator = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=200),
                                      timeout=aiohttp.ClientTimeout(total=60))
    try:
        async with httpx.AsyncClient(timeout=60, limits=limits) as client, generator:
            paths: list[str] = []
            await _subscribe(client, urls["notification"], receiver, paths, 1, secret)
            # One warm-up inspection: the first group joins and connections are made before the clock runs.
            await run_step(client, generator, urls, pids, receiver, paths, token, rate=1, seconds=1, drain=60)
            if plan.idle:  # what waiting costs (consumers polling the broker, relays, workers), nothing offered
                before = cpu_by_process(pids)
                await asyncio.sleep(plan.idle)
                results["idle_cpu_ms_per_second"] = cpu_ms_since(before, pids, plan.idle)
                typer.echo(f"idle CPU ms per second: {results['idle_cpu_ms_per_second']}")
            for count in plan.subscriptions:
                await _subscribe(client, urls["notification"], receiver, paths, count, secret)

                async def one(rate: float) -> Step:
                    step = await run_step(client, generator, urls, pids, receiver, paths, token, rate, plan.seconds,
                                          plan.drain)
                    typer.echo(_line(step))
                    return step

                steps = await climb(plan.rates, count, one, refine=plan.refine)
                for skipped in (s for s in steps if isinstance(s, Skipped)):
                    typer.echo(f"subs {count:3d}  offered {skipped.rate:7g}/s  {skipped.skipped}")
                results["ladders"].append({"subscriptions": count, "highest_sustained_per_second":
                                           highest_sustained(steps), "steps": [asdict(s) for s in steps]})
            if plan.fan_out:
                results["deliveries"] = await deliveries_rate(client, urls, receiver, paths, token, plan.fan_out,
                                                              limit=plan.drain * 10)
                typer.echo(f"deliveries: {results['deliveries']}")
            if plan.bulk:
                results["bulk_intake"] = await bulk_intake_rate(client, urls["inspection"], token, plan.bulk, 1000,
                                                                pids)
                typer.echo(f"bulk intake: {results['bulk_intake']}")
    finally:
        server.should_exit = True
        await task


async def replay_rates(kafka: str, database: str, events: int, full_events: int) -> dict:
    """The raw aiokafka consume rate and the kit's replay rate, on this run's broker and database.

    Run after the services stopped: the kit's full path reads the live ``redflag.raised`` topic.
    """
    from pathways_cli import bench
    from pathways_contracts import TopicSpec
    from pathways_runtime.broker import ensure_topics
    from pathways_runtime.settings import Settings

    # The kit serves no HTTP, but a service refuses to start without a signing secret: a throwaway one.
    os.environ.setdefault("PATHWAYS_JWT_SECRET", secrets.token_urlsafe(48))
    for name in ("faststream.access", "faststream.access.kafka"):  # two lines per event: not the kit's cost
        logging.getLogger(name).disabled = True
    settings = Settings(kafka_bootstrap_servers=kafka, database_url=database)
    topic = f"bench.{uuid.uuid4().hex[:8]}.{bench.EVENT_TYPE}"
    await ensure_topics(settings, [TopicSpec(topic, bench.PARTITIONS, "pathways bench")])
    await asyncio.to_thread(bench.produce, kafka, topic, events)
    raw = await bench.raw_rate(kafka, topic, events)
    await asyncio.to_thread(bench.produce, kafka, bench.EVENT_TYPE, full_events)
    kit = await bench.kit_full_rate(settings, full_events)
    return {"raw_events": raw.events, "raw_per_second": round(raw.rate), "kit_events": kit.events,
            "kit_per_second": round(kit.rate), "ratio": round(kit.rate / raw.rate, 3)}


@dataclass
class Plan:
    rates: list[float]
    subscriptions: list[int]
    seconds: float
    drain: float
    idle: float
    fan_out: int  # red-flag inspections for the deliveries/s figure (0 to skip)
    bulk: int  # items through the bulk intake (0 to skip)
    replay_events: int  # events for the raw and kit replay rates (0 to skip)
    refine: int = 2  # steps after a ladder's first failure, halving the gap to the last sustained rate


def _line(step: Step) -> str:
    w, a = step.webhook_ms, step.ack_ms
    cpu = " ".join(f"{k}={v}" for k, v in step.cpu_ms_per_inspection.items())
    return (f"subs {step.subscriptions:3d}  offered {step.offered_per_second:7.1f}/s  delivered {step.delivered_per_second:7.1f}/s"
            f"  ({step.delivered}/{step.expected_deliveries})  ack p50 {a['p50']} p99 {a['p99']} ms"
            f"  webhook p50 {w['p50']} p95 {w['p95']} p99 {w['p99']} max {w['max']} ms  cpu ms/inspection {cpu}"
            f"  load {step.load_average}  {step.verdict}"
            + (f"\n  {step.shed} shed, answered in p50 {step.shed_ms['p50']} p99 {step.shed_ms['p99']} ms"
               if step.shed else "")
            + (f"\n  {step.rejected} rejected, e.g. {step.errors}" if step.rejected else ""))


def summary(results: dict) -> list[str]:
    """The run's headline figures, one per line."""
    lines = [f"highest sustained with {ladder['subscriptions']} subscription(s): "
             f"{ladder['highest_sustained_per_second'] or 'none'} inspections/s" for ladder in results["ladders"]]
    if d := results.get("deliveries"):
        lines.append(f"webhook deliveries: {d['deliveries_per_second']}/s ({d['delivered']}/{d['expected']} to "
                     f"{d['subscriptions']} subscriptions; cases opened {d['cases_per_second']}/s)")
    if b := results.get("bulk_intake"):
        lines.append(f"bulk intake: {b['items_per_second']} inspections/s ({b['recorded']} in batches of {b['batch']})")
    if r := results.get("replay"):
        lines.append(f"replay: raw aiokafka {r['raw_per_second']:,}/s, kit full path {r['kit_per_second']:,}/s,"
                     f" ratio {r['ratio']}")
    return lines


def _numbers(text: str, kind: type) -> list:
    try:
        return [kind(v) for v in text.split(",") if v.strip()]
    except ValueError:
        raise typer.BadParameter(f"a comma-separated list of numbers, not {text!r}") from None


def e2e(rates: str = typer.Option("10,100,500,1000,2000", help="Offered inspections per second, one step each,"
                                  " climbed until one is not sustained."),
        subscriptions: str = typer.Option("1,10,50", help="Webhook subscriptions to case.opened: a ladder each."),
        seconds: float = typer.Option(10.0, help="Length of each step."),
        drain: float = typer.Option(30.0, help="How long after a step its deliveries may take to count."),
        idle: float = typer.Option(5.0, help="Seconds of idle CPU measured before the steps (0 to skip)."),
        fan_out: int = typer.Option(100, help="Red-flag inspections for the deliveries/s figure (0 to skip)."),
        bulk: int = typer.Option(5000, help="Inspections through POST /inspections/batch (0 to skip)."),
        replay_events: int = typer.Option(200_000, help="Events for the raw and kit replay rates (0 to skip)."),
        refine: int = typer.Option(2, help="Steps after a ladder's first failure, each halving the gap between"
                                   " the last rate sustained and the lowest not sustained."),
        broker: str = typer.Option("tansu", help="The embedded broker: tansu, or kafka (Apache Kafka, from"
                                   " `make kafka-jars`); ignored when KAFKA_BOOTSTRAP_SERVERS names one."),
        out: Path = typer.Option(Path("bench-results/e2e.json"), help="Where the JSON results go.")) -> None:
    """Ladders of offered rates × subscriptions end to end, deliveries/s, bulk intake and replay, in one run."""
    from pathways_cli import stack

    plan = Plan(_numbers(rates, float), _numbers(subscriptions, int), seconds, drain, idle, fan_out, bulk,
                replay_events, refine)
    secret = secrets.token_urlsafe(32)
    if broker not in ("tansu", "kafka"):
        raise typer.BadParameter("tansu or kafka", param_hint="--broker")
    results: dict = {"machine": f"{os.cpu_count()} cores", "broker": os.environ.get("KAFKA_BOOTSTRAP_SERVERS", broker),
                     "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
                     "plan": asdict(plan), "sustain_rule": {"delivered_share": DELIVERED_SHARE,
                                                            "p99_growth_factor": GROWTH_FACTOR,
                                                            "p99_growth_margin_ms": GROWTH_MARGIN_MS},
                     "ladders": []}
    with tempfile.TemporaryDirectory(prefix="pathways-bench-e2e-") as tmp:
        state = Path(tmp)
        from pathways_runtime.settings import EMBEDDED_FETCH_MAX_WAIT_MS, Settings, new_field_key

        os.environ.setdefault("PG_PORT", str(free_port()))  # not 5432: another stack may be running here
        with stack.embedded_infrastructure(state, Settings(KAFKA_BOOTSTRAP_SERVERS=f"127.0.0.1:{free_port()}"),
                                             broker_kind=broker) as (kafka, database):
            stack.prepare_topics(kafka)
            env = dict(os.environ) | {
                "KAFKA_BOOTSTRAP_SERVERS": kafka, "DATABASE_URL": database, "PATHWAYS_JWT_SECRET": secret,
                "PATHWAYS_TRACE_DIR": str(state / "traces"), "INSPECTION_PORT": str(free_port()),
                "REFERRAL_PORT": str(free_port()), "NOTIFICATION_PORT": str(free_port()),
                "INSIGHTS_PORT": str(free_port()),
                "PATHWAYS_CONSUMER_SESSION_TIMEOUT_MS": "6000", "PATHWAYS_FIELD_KEY": new_field_key(),
                # The bench's own receiver listens on loopback: allowed by name, as an operator would.
                "PATHWAYS_WEBHOOK_ALLOWED_NETWORKS": "127.0.0.1/32"}
            if broker == "tansu" and not os.environ.get("KAFKA_BOOTSTRAP_SERVERS"):  # see EMBEDDED_FETCH_MAX_WAIT_MS
                env.setdefault("PATHWAYS_CONSUMER_FETCH_MAX_WAIT_MS", str(EMBEDDED_FETCH_MAX_WAIT_MS))
            results["fetch_max_wait_ms"] = env.get("PATHWAYS_CONSUMER_FETCH_MAX_WAIT_MS", "500")
            started = stack.start_services(env, state)
            try:
                stack.wait_ready(started, timeout=120)
                urls = {svc.name: svc.url for svc, _ in started}
                pids = {svc.name: proc.pid for svc, proc in started} | infrastructure_pids()
                asyncio.run(_measure(urls, pids, secret, plan, results))
            finally:
                stack.stop_services(started)
            if replay_events:
                results["replay"] = serve.run(replay_rates(kafka, database, replay_events,
                                                            max(1, replay_events // 10)))
    results["load_average_at_end"] = os.getloadavg()
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=2) + "\n")
    for line in summary(results):
        typer.echo(line)
    typer.echo(f"wrote {out}")
