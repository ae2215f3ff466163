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
def test_readme_example_runs(command, expected, tmp_path):
    # run where the examples are reachable but what a command writes (reports, JUnit) lands in tmp_path
    (tmp_path / "examples").symlink_to(ROOT / "examples")
    done = subprocess.run(["bash", "-c", f"set -o pipefail; {command}"], cwd=tmp_path, capture_output=True, text=True)
    assert done.returncode == expected, f"{command}\n{done.stdout}\n{done.stderr}"
    if expected == 2:
        assert done.stderr.startswith("klcli: error: ")


def readme_python() -> list[str]:
    blocks = re.findall(r"```python\n(.*?)```", (ROOT / "README.md").read_text(), flags=re.S)
    return [block for block in blocks if "import klcli" in block]  # the others are formulas written in Python


@pytest.mark.parametrize("block", readme_python())
def test_readme_python_runs(block, tmp_path, monkeypatch):
    (tmp_path / "examples").symlink_to(ROOT / "examples")
    monkeypatch.chdir(tmp_path)
    exec(compile(block, "README.md", "exec"), {})


@pytest.mark.skipif(shutil.which("make") is None, reason="needs make")
def test_ci_makefile_runs_and_writes_only_where_told(tmp_path):
    junit = tmp_path / "drift.xml"
    done = subprocess.run(["make", "-s", "-f", "examples/ci/Makefile", "drift", f"JUNIT={junit}"], cwd=ROOT, capture_output=True, text=True)
    assert done.returncode == 2 and "drift in" in done.stderr  # make reports the command's exit 1 as its own 2
    assert "<testsuite" in junit.read_text() and not (ROOT / "drift-junit.xml").exists()


def test_ci_workflow_installs_an_extra_that_exists():
    import tomllib

    extras = set(tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"])
    workflow = (ROOT / "examples" / "ci" / "drift.yml").read_text()
    for asked in re.findall(r"pip install \S*\[([\w,]+)\]", workflow):
        assert set(asked.split(",")) <= extras


def test_readme_has_examples():
    assert len(readme_commands()) >= 8


def test_ci_runs_the_readme_test_command():
    """.ci/run's commands are the README's test block, line for line."""
    ci = [line for line in (ROOT / ".ci" / "run").read_text().splitlines() if line and not line.startswith(("#", "set ", "cd "))]
    blocks = re.findall(r"```sh\n(.*?)```", (ROOT / "README.md").read_text(), flags=re.S)
    assert any(block.splitlines() == ci for block in blocks), ci
