"""`pathways new-consumer NAME`: a working department consumer project, with a test that receives a live event.

The generated test needs only a broker and a PostgreSQL (``KAFKA_BOOTSTRAP_SERVERS``
and ``DATABASE_URL``, as ``make run`` provides); it runs without edits.
"""

from __future__ import annotations

import re
from pathlib import Path
from string import Template

import typer

NAME = re.compile(r"^[a-z][a-z0-9-]{0,30}$")

PYPROJECT = Template('''\
[project]
name = "$name-consumer"
version = "0.1.0"
description = "The $name department's consumer of Pathways events."
requires-python = ">=3.11"
dependencies = ["pathways-consumer-kit", "pathways-contracts"]

[project.scripts]
$name-consumer = "$package.consumer:main"

[dependency-groups]
dev = ["pytest>=8", "pytest-asyncio>=0.24"]
$sources
[build-system]
requires = ["hatchling"]
build-backend = "hatchling.build"

[tool.hatch.build.targets.wheel]
packages = ["src/$package"]

[tool.pytest.ini_options]
pythonpath = ["src"]
asyncio_mode = "auto"
''')

CONSUMER = Template('''\
"""The $name department's consumer: what it does when Pathways tells it something.

Run it with `$name-consumer` (or `python -m $package.consumer`). Settings come from the
environment: KAFKA_BOOTSTRAP_SERVERS, DATABASE_URL (and KAFKA_SASL_* for a secured cluster).
"""

from __future__ import annotations

from pathlib import Path

from pathways_consumer_kit import Context, DepartmentConsumer
from pathways_contracts.events import RedFlagRaised

DEPARTMENT = "$name"
MIGRATIONS = Path(__file__).parent / "migrations"


async def on_red_flag(event: RedFlagRaised, ctx: Context) -> None:
    """Keep each red flag in the department's own table; replace this with your department's work."""
    await ctx.conn.execute(
        f"insert into {ctx.schema}.red_flags (red_flag_id, establishment_id, level, indicator_codes, event_id)"
        " values ($$1, $$2, $$3, $$4, $$5) on conflict (red_flag_id) do nothing",
        event.red_flag_id, event.establishment_id, event.level, event.indicator_codes, ctx.event.id)


def build(**options) -> DepartmentConsumer:
    consumer = DepartmentConsumer(DEPARTMENT, migrations=MIGRATIONS, **options)
    consumer.on(RedFlagRaised)(on_red_flag)
    return consumer


def main() -> None:
    build().run()


if __name__ == "__main__":
    main()
''')

MIGRATION = '''\
-- The department's own tables, in its own schema ({schema} is replaced with it).
create table {schema}.red_flags (
    red_flag_id      uuid primary key,
    establishment_id text not null,
    level            text not null,
    indicator_codes  text[] not null,
    event_id         text not null,
    received_at      timestamptz not null default now()
);
'''

TEST = Template('''\
"""The consumer receives a live redflag.raised from the broker and records it in its own table."""

import asyncio
import time
import uuid
from datetime import UTC, datetime

from pathways_consumer_kit import publish
from pathways_contracts.events import RedFlagRaised

from $package.consumer import build


async def test_receives_a_live_red_flag() -> None:
    flag = RedFlagRaised(red_flag_id=uuid.uuid4(), establishment_id=f"est-{uuid.uuid4().hex[:8]}",
                         jurisdiction="test", level="red_flag", score=6.0, categories=["labor"],
                         indicator_codes=["LAB-WAGE-THEFT"], contributing_inspection_ids=[uuid.uuid4()],
                         departments=["labor-standards"], rules_version="v1", raised_at=datetime.now(UTC))
    consumer = build()
    async with consumer.running():
        await publish(flag)
        deadline = time.monotonic() + 30
        query = f"select count(*) from {consumer.schema}.red_flags where red_flag_id = $$1"
        while not await consumer.pool.fetchval(query, flag.red_flag_id):
            assert time.monotonic() < deadline, "the red flag did not arrive within 30 s"
            await asyncio.sleep(0.2)
''')

README = Template('''\
# $name-consumer

The $name department's consumer of Pathways events, made with `pathways new-consumer`.

    uv sync                       # or: pip install -e .
    $name-consumer                # consume (Ctrl-C stops after the event in hand)
    pytest                        # receives a live redflag.raised (needs KAFKA_BOOTSTRAP_SERVERS, DATABASE_URL)

Edit `src/$package/consumer.py` (handlers) and `src/$package/migrations/` (your tables).
See docs/add-your-department.md in the Pathways repository.
''')


def _local_sources() -> str:
    """Point uv at this checkout's kit and contracts while they are not on a package index."""
    import pathways_consumer_kit
    import pathways_contracts

    kit = Path(pathways_consumer_kit.__file__).resolve().parents[2]
    contracts = Path(pathways_contracts.__file__).resolve().parents[2]
    if not (kit / "pyproject.toml").exists() or not (contracts / "pyproject.toml").exists():
        return ""
    return ("\n[tool.uv.sources]\n"
            f'pathways-consumer-kit = {{ path = "{kit}", editable = true }}\n'
            f'pathways-contracts = {{ path = "{contracts}", editable = true }}\n')


def scaffold(name: str, directory: Path) -> Path:
    """Write the project ``<directory>/<name>-consumer`` and return its path."""
    if not NAME.match(name):
        raise ValueError(f"{name!r}: use lower-case letters, digits and '-', starting with a letter")
    package = name.replace("-", "_") + "_consumer"
    root = directory / f"{name}-consumer"
    if root.exists():
        raise FileExistsError(f"{root} exists already")
    values = {"name": name, "package": package, "sources": _local_sources()}
    files = {
        "pyproject.toml": PYPROJECT.substitute(values),
        "README.md": README.substitute(values),
        f"src/{package}/__init__.py": f'"""The {name} department\'s Pathways consumer."""\n',
        f"src/{package}/consumer.py": CONSUMER.substitute(values),
        f"src/{package}/migrations/001_red_flags.sql": MIGRATION,
        f"tests/test_{package}.py": TEST.substitute(values),
    }
    for relative, text in files.items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return root


def new_consumer(name: str = typer.Argument(..., help="The department, e.g. housing or parks-and-rec."),
                 directory: Path = typer.Option(Path("."), "--dir", help="Where to create NAME-consumer/.")) -> None:
    """Scaffold a working department consumer project, with a test that receives a live redflag.raised."""
    try:
        root = scaffold(name, directory)
    except (ValueError, FileExistsError) as exc:
        raise typer.BadParameter(str(exc)) from exc
    typer.echo(f"created {root}\nnext: cd {root} && uv sync && uv run pytest")
