"""Shared test helpers: run the CLI in-process and read its outputs."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from klcli.cli import app

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples" / "data"


class Run:
    """The outcome of one CLI invocation."""

    def __init__(self, result):
        self.exit_code = result.exit_code
        self.stdout = result.stdout
        self.stderr = result.stderr

    def json(self):
        return json.loads(self.stdout)


def run_cli(*args: str, input: str | bytes | None = None) -> Run:
    """Invoke ``klcli ARGS`` through Typer's CliRunner (stdout and stderr apart)."""
    return Run(CliRunner().invoke(app, [str(a) for a in args], input=input))


@pytest.fixture
def cli():
    return run_cli


@pytest.fixture
def examples() -> Path:
    return EXAMPLES
