"""Every command in the README's ```sh blocks runs, with the exit code it promises."""

from __future__ import annotations

import re
import shutil
import subprocess

import pytest

from tests.conftest import ROOT

SETUP = ("pip install",)


def readme_commands() -> list[tuple[str, int]]:
    text = (ROOT / "README.md").read_text()
    commands = []
    for block in re.findall(r"```sh\n(.*?)```", text, flags=re.S):
        for line in block.splitlines():
            if not line.strip() or line.startswith(SETUP) or "klcli" not in line:
                continue
            expected = re.search(r"#\s*exit (\d)", line)
            command = line.split("  #")[0].strip()
            commands.append((command, int(expected.group(1)) if expected else 0))
    return commands


@pytest.mark.skipif(shutil.which("klcli") is None, reason="needs the installed klcli command (pip install -e .)")
@pytest.mark.parametrize("command,expected", readme_commands())
def test_readme_example_runs(command, expected):
    done = subprocess.run(["bash", "-c", f"set -o pipefail; {command}"], cwd=ROOT, capture_output=True, text=True)
    assert done.returncode == expected, f"{command}\n{done.stdout}\n{done.stderr}"
    if expected == 2:
        assert done.stderr.startswith("klcli: error: ")


def test_readme_has_examples():
    assert len(readme_commands()) >= 8


def test_ci_runs_the_readme_test_command():
    """.ci/run's commands are the README's test block, line for line."""
    ci = [line for line in (ROOT / ".ci" / "run").read_text().splitlines() if line and not line.startswith(("#", "set ", "cd "))]
    blocks = re.findall(r"```sh\n(.*?)```", (ROOT / "README.md").read_text(), flags=re.S)
    assert any(block.splitlines() == ci for block in blocks), ci
