"""`pathways new-consumer` writes a project whose own test receives a live redflag.raised, without edits."""

from __future__ import annotations

import importlib.util
import sys
import tomllib
import uuid

import pytest
from typer.testing import CliRunner

from pathways_cli.main import app

pytestmark = pytest.mark.integration


async def test_the_scaffolded_consumers_own_test_passes_against_the_live_broker(infrastructure, tmp_path,
                                                                                monkeypatch):
    name = f"dept-{uuid.uuid4().hex[:6]}"
    result = CliRunner().invoke(app, ["new-consumer", name, "--dir", str(tmp_path)])
    assert result.exit_code == 0, result.output
    root = tmp_path / f"{name}-consumer"
    project = tomllib.loads((root / "pyproject.toml").read_text())["project"]
    assert {"pathways-consumer-kit", "pathways-contracts"} <= set(project["dependencies"])

    package = name.replace("-", "_") + "_consumer"
    monkeypatch.syspath_prepend(str(root / "src"))
    [test_file] = (root / "tests").glob("test_*.py")
    spec = importlib.util.spec_from_file_location(f"scaffolded_{package}_test", test_file)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    try:
        await module.test_receives_a_live_red_flag()  # the generated test, as generated
    finally:
        for loaded in [m for m in sys.modules if m.startswith(package)]:
            del sys.modules[loaded]


def test_a_bad_name_or_an_existing_folder_is_refused(tmp_path):
    assert CliRunner().invoke(app, ["new-consumer", "Bad Name", "--dir", str(tmp_path)]).exit_code != 0
    assert CliRunner().invoke(app, ["new-consumer", "parks", "--dir", str(tmp_path)]).exit_code == 0
    assert CliRunner().invoke(app, ["new-consumer", "parks", "--dir", str(tmp_path)]).exit_code != 0
