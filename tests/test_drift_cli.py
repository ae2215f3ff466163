"""``klcli drift`` on the command line: outputs, exit codes and every error path."""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from klcli.cli import app

ROOT = Path(__file__).resolve().parents[1]
SPEC_KEYS = ["column", "kind", "metric", "value", "threshold", "drifted", "severity", "status", "p_value", "noise_floor"]


def run(*args: str, input: bytes | str | None = None):
    return CliRunner().invoke(app, ["drift", *args], input=input)


@pytest.fixture(scope="module")
def tables(tmp_path_factory):
    """reference.csv, same.csv (a fresh sample), drifted.csv and a Parquet copy of the reference."""
    import pandas as pd

    folder = tmp_path_factory.mktemp("drift")
    rng = np.random.default_rng(0)

    def frame(n, shift=0.0, mix=(0.6, 0.3, 0.1)):
        return pd.DataFrame(
            {
                "amount": rng.lognormal(3 + shift, 1.0, n),
                "score": rng.normal(shift, 1.0, n),
                "plan": rng.choice(["free", "pro", "team"], n, p=list(mix)),
                "seats": rng.integers(1, 6, n),
            }
        )

    paths = {}
    for name, data in (("reference", frame(4000)), ("same", frame(4000)), ("drifted", frame(4000, shift=1.0, mix=(0.3, 0.3, 0.4)))):
        paths[name] = folder / f"{name}.csv"
        data.to_csv(paths[name], index=False)
    paths["parquet"] = folder / "reference.parquet"
    pd.read_csv(paths["reference"]).to_parquet(paths["parquet"], index=False)
    paths["folder"] = folder
    return paths


def test_no_drift_exits_0(tables):
    result = run(str(tables["reference"]), str(tables["same"]), "--format", "json")
    assert result.exit_code == 0, result.stderr
    report = json.loads(result.stdout)
    assert list(report)[:2] == ["drifted", "columns"] and report["drifted"] is False
    assert [c["column"] for c in report["columns"]] == ["amount", "score", "plan", "seats"]
    for column in report["columns"]:
        assert list(column)[:10] == SPEC_KEYS and column["severity"] == "ok" and column["status"] == "compared"
        assert 0 < column["p_value"] <= 1 and 0 < column["noise_floor"] < 0.1
        assert column["metric"] == "js_distance" and column["threshold"] == 0.1 and 0 <= column["value"] < 0.1


def test_drift_exits_1_and_says_where(tables):
    result = run(str(tables["parquet"]), str(tables["drifted"]), "--format", "json")
    assert result.exit_code == 1
    report = json.loads(result.stdout)
    drifted = {c["column"]: c for c in report["columns"] if c["drifted"]}
    assert report["drifted"] is True and set(drifted) == {"amount", "score", "plan"}
    assert drifted["plan"]["kind"] == "categorical" and drifted["amount"]["kind"] == "numeric"
    assert "drift in 3 of 4 columns: amount, score, plan" in result.stderr


def test_table_output(tables):
    result = run(str(tables["reference"]), str(tables["drifted"]))
    assert result.exit_code == 1
    assert "DRIFT" in result.stdout and "drift in 3 of 4 columns" in result.stdout


def test_markdown_output(tables):
    result = run(str(tables["reference"]), str(tables["drifted"]), "--format", "markdown")
    lines = result.stdout.splitlines()
    assert lines[0].startswith("### Data drift:") and "drift in 3 of 4 columns" in lines[0]
    header = next(i for i, line in enumerate(lines) if line.startswith("| column |"))
    rows = [[cell.strip() for cell in line.strip("|").split(" | ")] for line in lines[header + 2 : header + 6]]
    assert [(r[0], r[6]) for r in rows] == [("amount", "**drift**"), ("score", "**drift**"), ("plan", "**drift**"), ("seats", "ok")]


def test_csv_output(tables):
    result = run(str(tables["reference"]), str(tables["same"]), "--format", "csv", "--metric", "psi")
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert [r["column"] for r in rows] == ["amount", "score", "plan", "seats"]
    assert all(r["metric"] == "psi" and float(r["threshold"]) == 0.1 and r["drifted"] == "false" and r["severity"] == "ok" for r in rows)


def test_junit_report(tables, tmp_path):
    junit = tmp_path / "drift.xml"
    result = run(str(tables["reference"]), str(tables["drifted"]), "--junit", str(junit), "--format", "json")
    assert result.exit_code == 1
    root = ET.parse(junit).getroot()
    cases = root.findall("./testsuite/testcase")
    assert root.get("tests") == "4" and root.get("failures") == "3"
    assert [c.get("name") for c in cases] == ["amount", "score", "plan", "seats"]
    failed = [c.get("name") for c in cases if c.find("failure") is not None]
    assert failed == ["amount", "score", "plan"]
    assert "js_distance" in cases[0].find("failure").get("message")


def test_options_select_columns_and_kinds(tables):
    result = run(str(tables["reference"]), str(tables["drifted"]), "--columns", "seats,plan", "--categorical", "seats", "-f", "json")
    report = json.loads(result.stdout)
    assert [(c["column"], c["kind"]) for c in report["columns"]] == [("seats", "categorical"), ("plan", "categorical")]
    result = run(str(tables["reference"]), str(tables["drifted"]), "--exclude", "amount", "--exclude", "score,plan", "-f", "json")
    assert result.exit_code == 0 and [c["column"] for c in json.loads(result.stdout)["columns"]] == ["seats"]
    result = run(str(tables["reference"]), str(tables["same"]), "--columns", "seats", "--numeric", "seats", "--bins", "quantile:4", "-f", "json")
    assert json.loads(result.stdout)["columns"][0]["kind"] == "numeric"


def test_threshold_and_metric(tables):
    result = run(str(tables["reference"]), str(tables["drifted"]), "--metric", "kl", "--threshold", "100", "-f", "json")
    report = json.loads(result.stdout)
    assert result.exit_code == 0 and {(c["metric"], c["threshold"], c["unit"]) for c in report["columns"]} == {("kl", 100.0, "nats")}


def test_config_file(tables, tmp_path):
    config = tmp_path / "drift.toml"
    config.write_text(
        '[columns.amount]\nthreshold = 0.9\n\n[columns.score]\nmetric = "psi"\nthreshold = 5\n\n[columns.plan]\nkind = "categorical"\nthreshold = 0.9\n'
    )
    result = run(str(tables["reference"]), str(tables["drifted"]), "--config", str(config), "-f", "json")
    assert result.exit_code == 0, result.stdout
    by_name = {c["column"]: c for c in json.loads(result.stdout)["columns"]}
    assert by_name["score"]["metric"] == "psi" and by_name["amount"]["threshold"] == 0.9


def test_standard_input(tables):
    data = tables["drifted"].read_bytes()
    result = run(str(tables["reference"]), "-", "-f", "json", input=data)
    assert result.exit_code == 1 and json.loads(result.stdout)["drifted"] is True
    result = run("-", str(tables["parquet"]), "-f", "json", "--input-format", "csv", input=tables["same"].read_bytes())
    assert result.exit_code == 0


def test_json_lines_and_tsv(tables):
    import pandas as pd

    frame = pd.read_csv(tables["same"])
    jsonl, tsv = tables["folder"] / "same.jsonl", tables["folder"] / "same.tsv"
    frame.to_json(jsonl, orient="records", lines=True)
    frame.to_csv(tsv, sep="\t", index=False)
    for path in (jsonl, tsv):
        result = run(str(tables["reference"]), str(path), "-f", "json")
        assert result.exit_code == 0, (path, result.stdout, result.stderr)


def test_help():
    result = CliRunner().invoke(app, ["drift", "--help"])
    assert result.exit_code == 0 and "--threshold" in result.stdout and "--junit" in result.stdout


@pytest.mark.parametrize(
    "args, message",
    [
        (["{ref}", "{folder}/absent.csv"], "absent.csv: no such file"),
        (["{ref}", "{folder}"], "is a directory"),
        (["-", "-"], "only one of REFERENCE and CURRENT"),
        (["{ref}", "{same}", "--bins", "many"], "`--bins` must be auto, N, quantile:N"),
        (["{ref}", "{same}", "--threshold", "nan"], "`--threshold` must be a finite number"),
        (["{ref}", "{same}", "--columns", "nope"], "no column 'nope'"),
        (["{ref}", "{same}", "--exclude", "nope"], "`--exclude`: no column 'nope'"),
        (["{ref}", "{same}", "--categorical", "plan", "--numeric", "plan"], "both --categorical and --numeric"),
        (["{ref}", "{same}", "--columns", ","], "empty column name"),
        (["{ref}", "{same}", "--config", "{folder}/absent.toml"], "absent.toml: no such file"),
        (["{ref}", "{same}", "--input-format", "npy"], "Invalid value for '--input-format'"),
        (["{ref}", "{same}", "--metric", "tv"], "Invalid value for '--metric'"),
        (["{ref}", "{same}", "--junit", "{folder}/no/such/dir/x.xml"], "cannot write the JUnit report"),
    ],
)
def test_errors_exit_2_with_one_line(tables, args, message):
    names = {"ref": tables["reference"], "same": tables["same"], "folder": tables["folder"]}
    result = run(*[a.format(**names) for a in args])
    assert result.exit_code == 2, (result.stdout, result.stderr)
    assert message in result.stderr
    assert "Traceback" not in result.stderr


def test_table_errors(tmp_path):
    """Only an unreadable table stops the run; column problems are statuses (tests/test_drift_decisions.py)."""
    (tmp_path / "ref.csv").write_text("a,b\n1,x\n2,y\n")
    (tmp_path / "empty.csv").write_text("")
    (tmp_path / "header.csv").write_bytes(b"a\x80,b\n1,x\n")
    for args, message in (
        (["ref.csv", "empty.csv"], "empty.csv: empty file"),
        (["header.csv", "ref.csv"], "header.csv: column names are not UTF-8 text (byte 0x80)"),
    ):
        result = run(*[str(tmp_path / a) for a in args])
        assert result.exit_code == 2 and message in result.stderr and "Traceback" not in result.stderr, result.stderr


def test_bad_config_exits_2(tables, tmp_path):
    config = tmp_path / "drift.toml"
    config.write_text("[columns.nope]\nthreshold = 1\n")
    result = run(str(tables["reference"]), str(tables["same"]), "--config", str(config))
    assert result.exit_code == 2 and "[columns.nope]: no column 'nope'" in result.stderr


def test_exit_codes_of_the_process(tables):
    """The console entry point exits 0, 1 and 2 as SPEC.md says."""

    def code(*args):
        return subprocess.run(
            [sys.executable, "-m", "klcli", "drift", *args, "-f", "json"], capture_output=True, cwd=ROOT, env={"PYTHONPATH": str(ROOT / "src")}
        ).returncode

    assert code(str(tables["reference"]), str(tables["same"])) == 0
    assert code(str(tables["reference"]), str(tables["drifted"])) == 1
    assert code(str(tables["reference"]), "absent.csv") == 2


def test_compare_does_not_import_pandas_or_pyarrow():
    code = (
        "import sys; from klcli.cli import app; "
        "app(['compare', '0.1,0.9', '0.5,0.5', '-f', 'json'], standalone_mode=False); "
        "print(sorted(m for m in ('pandas', 'pyarrow') if m in sys.modules))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env={"PYTHONPATH": str(ROOT / "src")})
    assert done.stdout.strip().splitlines()[-1] == "[]", done.stderr
