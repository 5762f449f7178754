"""The `pathways` command: run the system, and the operations an on-call needs."""

from __future__ import annotations

import contextlib
import json
import os
import signal
from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table
from rich.tree import Tree

from pathways_cli import (
    bench,
    bench_e2e,
    bench_screening,
    deliveries,
    demo,
    establishments,
    insights,
    kafka_admin,
    reports,
    scaffold,
    stack,
)
from pathways_runtime import operations as ops
from pathways_runtime.auth import Role
from pathways_runtime.settings import EMBEDDED_FETCH_MAX_WAIT_MS, Settings

app = typer.Typer(help="Pathways: the event backbone of a city's response to human trafficking.",
                  no_args_is_help=True)
contracts_app = typer.Typer(help="Public contracts: JSON Schemas and AsyncAPI documents.")
app.add_typer(contracts_app, name="contracts")
app.command("demo")(demo.demo)
app.add_typer(establishments.app, name="establishments")
app.add_typer(reports.app, name="reports")
app.add_typer(deliveries.app, name="deliveries")
app.add_typer(kafka_admin.app, name="kafka")
app.command("new-consumer")(scaffold.new_consumer)
bench_app = typer.Typer(invoke_without_command=True)
bench_app.callback()(bench.bench)  # `pathways bench`: the kit's replay against raw consume, as before
bench_app.command("e2e")(bench_e2e.e2e)
app.add_typer(bench_app, name="bench")
app.add_typer(bench_screening.app, name="bench-screening")
app.command("simulate")(insights.simulate)
app.command("stats")(insights.stats)
app.command("bench-simulation")(insights.bench_simulation)
console = Console()
STATE_DIR = Path(os.environ.get("PATHWAYS_STATE_DIR", ".pathways"))


@app.command()
def run(broker: str = typer.Option(
        "tansu", "--broker",
        help="The embedded broker: tansu (in memory, nothing to install) or kafka (Apache Kafka, durable in "
             ".pathways/kafka; `make kafka-jars` first). Ignored when KAFKA_BOOTSTRAP_SERVERS is set.")) -> None:
    """Start the embedded PostgreSQL and broker, create the topics, start the services."""
    from pathways_runtime.embedded import BROKERS

    if broker not in BROKERS:
        raise typer.BadParameter(f"one of {', '.join(BROKERS)}", param_hint="--broker")
    settings = Settings()
    STATE_DIR.mkdir(exist_ok=True)
    if settings.dev_mode:
        console.print("[bold yellow]DEVELOPMENT MODE[/] (PATHWAYS_DEV_MODE=1): development allowances are on; "
                      "never put real people's data in this stack.")
    with contextlib.ExitStack() as running:
        with console.status(f"starting PostgreSQL and the broker ({broker})"):
            kafka, database = running.enter_context(stack.embedded_infrastructure(STATE_DIR, settings, broker))
        console.print(f"[green]✓[/] broker [bold]{kafka}[/] ({broker})   PostgreSQL [bold]{database}[/]")
        created = stack.prepare_topics(kafka)
        console.print(f"[green]✓[/] topics ready ({len(created)} created)")
        trace_dir = str((STATE_DIR / "traces").resolve())
        env = dict(os.environ) | stack.service_secrets(settings) | {
            "KAFKA_BOOTSTRAP_SERVERS": kafka, "DATABASE_URL": database, "PATHWAYS_TRACE_DIR": trace_dir,
            "PATHWAYS_STATE_DIR": str(STATE_DIR.resolve())}
        if not os.environ.get("KAFKA_BOOTSTRAP_SERVERS"):  # the embedded broker: see EMBEDDED_FETCH_MAX_WAIT_MS
            env.setdefault("PATHWAYS_CONSUMER_FETCH_MAX_WAIT_MS", str(EMBEDDED_FETCH_MAX_WAIT_MS))
        started = stack.start_services(env, STATE_DIR)
        started += stack.start_services(stack.console_env(env, started), STATE_DIR, [stack.console(env)])
        try:
            with console.status("waiting for the services to be ready"):
                stack.wait_ready(started)
            _welcome(settings)
            _wait_for_stop()
        except KeyboardInterrupt:
            pass
        finally:
            console.print("stopping…")
            stack.stop_services(started)
    console.print("[green]stopped[/]")


def _wait_for_stop() -> None:
    """Block until Ctrl-C, or SIGTERM (treated the same, so a supervisor can stop us cleanly)."""

    def interrupt(*_: object) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, interrupt)
    while True:
        signal.pause()


def _welcome(settings: Settings) -> None:
    tokens = stack.dev_tokens(stack.signing_secret(settings))
    token_file = STATE_DIR / "tokens.env"
    fd = os.open(token_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)  # bearer tokens: owner only
    with os.fdopen(fd, "w") as out:
        out.write("".join(f"export {k}={v}\n" for k, v in tokens.items()))
    os.chmod(token_file, 0o600)
    table = Table("service", "API", "docs", title="Pathways is running")
    for svc in stack.services():
        table.add_row(svc.name, svc.url, f"{svc.url}/docs")
    console.print(table)
    console.print(f"Ops console: [bold]{stack.console().url}[/]  (sign in with OPS_TOKEN)")
    console.print(f"Development tokens: [bold]source {token_file}[/]  (or `pathways tokens`)")
    console.print("Try it: [bold]make demo[/] in another terminal, or the curl walk-through in README.md")
    console.print(f"Logs: {STATE_DIR}/logs/   Traces: `pathways trace ID`   Ctrl-C stops everything.")


@app.command()
def tokens(
    role: Role | None = typer.Option(None, help="Issue one token for this role (with --org)."),
    org: str | None = typer.Option(None, help="The token's organisation, e.g. an agency id of the directory "
                                             "or police-department."),
    subject: str | None = typer.Option(None, help="Who holds it (default: dev-ORG)."),
    ttl: int = typer.Option(12 * 3600, min=1, help="Lifetime in seconds (at most PATHWAYS_TOKEN_MAX_TTL_SECONDS)."),
) -> None:
    """Print bearer tokens signed with this installation's secret (or PATHWAYS_JWT_SECRET).

    Without options: the development set, one per role, as shell exports. With --role and --org: one
    token for that role and organisation, alone on its line, e.g. AGENCY=$(pathways tokens --role agency --org ID).
    """
    settings = Settings()
    if role is None and org is None:
        for name, value in stack.dev_tokens(stack.signing_secret(settings)).items():
            print(f"export {name}={value}")
        return
    if role is None or not org:
        raise typer.BadParameter("give both --role and --org", param_hint="--role/--org")
    if ttl > settings.token_max_ttl_seconds:
        raise typer.BadParameter(f"at most {settings.token_max_ttl_seconds} s: the services refuse longer tokens",
                                 param_hint="--ttl")
    print(stack.token_for(stack.signing_secret(settings), role, org, subject=subject, ttl_seconds=ttl))


@app.command("create-topics")
def create_topics(
        replication: int | None = typer.Option(
            None, help="Replace the file's replication factor (1 on a single development broker); "
                       "min.insync.replicas is lowered to leave one broker spare."),
        file: Path | None = typer.Option(None, "--file", help="Topic definitions (default: deploy/kafka/topics.yaml, "
                                                               "or $PATHWAYS_TOPICS_FILE)."),
) -> None:
    """Create every event topic and its dead-letter topic that does not exist yet, as the topics file says."""
    created = stack.prepare_topics(Settings().kafka_bootstrap_servers, replication, file)
    console.print(f"[green]✓[/] {len(created)} topic(s) created: {', '.join(created) or 'none missing'}")


@app.command()
def topics() -> None:
    """List the topics with their partitions and message counts."""
    sizes = ops.run(ops.topic_sizes(Settings()))
    table = Table("topic", "partitions", "messages")
    for name, (partitions, count) in sizes.items():
        style = "red" if name.endswith(".dlq") and count else None
        table.add_row(name, str(partitions), str(count), style=style)
    console.print(table)


@app.command()
def tail(topic: str, follow: bool = typer.Option(False, "--follow", "-f", help="Keep waiting for new events."),
         as_json: bool = typer.Option(False, "--json", help="One JSON object per line.")) -> None:
    """Print a topic's events from the beginning, decoded (dead letters with their reasons)."""

    async def go() -> None:
        async for record in ops.read_topic(Settings(), topic, follow=follow):
            if as_json:
                print(json.dumps(record, default=str), flush=True)
            else:
                console.print_json(data=record)

    ops.run(go())


@app.command()
def trace(needle: str = typer.Argument(..., help="A trace id, or an inspection, case, establishment or event id.")) -> None:
    """Show the span tree of the traces that touch ID, across every service."""
    spans = ops.load_spans(Settings().trace_dir)
    trace_ids = ops.find_traces(spans, needle)
    if not trace_ids:
        console.print(f"no trace mentions {needle!r} (traces are read from {Settings().trace_dir})")
        raise typer.Exit(1)
    for trace_id in trace_ids:
        roots, children = ops.span_tree(spans, trace_id)
        tree = Tree(f"[bold]trace {trace_id}[/]")
        for root in roots:
            _add_span(tree, root, children, roots[0]["start"])
        console.print(tree)


def _add_span(parent: Tree, span: dict, children: dict, t0: int) -> None:
    offset_ms = (span["start"] - t0) / 1e6
    took_ms = (span["end"] - span["start"]) / 1e6
    colour = "red" if span["status"] == "ERROR" else "cyan"
    node = parent.add(f"[{colour}]{span['service']}[/] {span['name']}  [dim]+{offset_ms:.0f} ms, {took_ms:.1f} ms[/]")
    for child in children.get(span["span_id"], []):
        _add_span(node, child, children, t0)


@app.command()
def replay(topic: str = typer.Argument(..., help="The topic whose dead letters to replay, e.g. redflag.raised."),
           group: str | None = typer.Option(None, help="Only records parked by this consumer group."),
           event_id: str | None = typer.Option(None, "--event-id", help="Only the record with this ce_id.")) -> None:
    """Publish parked dead letters of TOPIC back onto it, once the cause is fixed."""
    count = ops.run(ops.replay_dead_letters(Settings(), topic, group=group, event_id=event_id))
    console.print(f"[green]✓[/] replayed {count} record(s) from {topic}.dlq onto {topic}")


@contracts_app.command("write")
def contracts_write() -> None:
    """Regenerate contracts/schemas (and new-major baselines) and the AsyncAPI documents."""
    from pathways_cli.contracts import write_asyncapi
    from pathways_contracts.schemas import write_all

    for path in write_all() + write_asyncapi():
        console.print(f"wrote {path}")
