"""The command line: output contracts, exit codes, help, start-up cost."""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys

import numpy as np
import pytest

from tests.conftest import EXAMPLES, ROOT, run_cli

SPEC_KEYS = {"kl_pq", "kl_qp", "symmetric_kl", "js", "js_distance", "base", "method", "stderr"}


def test_json_has_the_spec_keys_and_is_strict():
    result = run_cli("compare", "0.2,0.8", "0.5,0.5", "--format", "json")
    assert result.exit_code == 0
    out = json.loads(result.stdout, parse_constant=lambda token: pytest.fail(f"non-strict JSON token {token}"))
    assert SPEC_KEYS <= set(out)
    assert out["method"]["kl_pq"] == "exact" and out["stderr"] == {}
    assert out["js_distance"] == pytest.approx(out["js"] ** 0.5, rel=1e-15)
    assert out["symmetric_kl"] == pytest.approx(out["kl_pq"] + out["kl_qp"], rel=1e-15)


def test_infinity_is_a_string_in_json():
    out = run_cli("compare", "0.5,0.5", "1,0", "-f", "json").json()
    assert out["kl_pq"] == "inf" and isinstance(out["js"], float)


def test_csv_output_parses():
    result = run_cli("compare", "0.2,0.8", "0.5,0.5", "--format", "csv", "--base", "2")
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert len(rows) == 1 and rows[0]["base"] == "2"
    assert float(rows[0]["kl_pq"]) == pytest.approx(0.2780719051126377, rel=1e-15)


def test_reduction_none_gives_lists():
    p, q = EXAMPLES / "batch_p.npy", EXAMPLES / "batch_q.npy"
    out = run_cli("compare", p, q, "--reduction", "none", "-f", "json").json()
    assert len(out["kl_pq"]) == 8
    mean = run_cli("compare", p, q, "-f", "json").json()
    assert mean["kl_pq"] == pytest.approx(np.mean(out["kl_pq"]), rel=1e-14)
    rows = list(csv.DictReader(io.StringIO(run_cli("compare", p, q, "--reduction", "none", "-f", "csv").stdout)))
    assert [int(r["row"]) for r in rows] == list(range(8))


def test_batch_against_one_reference_row():
    out = run_cli("compare", "0.1,0.9;0.5,0.5", "0.5,0.5", "--reduction", "none", "-f", "json").json()
    assert out["kl_pq"][1] == 0 and out["kl_pq"][0] > 0


def test_logits_with_temperature_match_torch():
    torch = pytest.importorskip("torch")
    t, s = EXAMPLES / "teacher_logits.npy", EXAMPLES / "student_logits.npy"
    out = run_cli("compare", t, s, "--from", "logits", "-T", "2", "-f", "json").json()
    lt = torch.log_softmax(torch.tensor(np.load(t), dtype=torch.float64) / 2, -1)
    ls = torch.log_softmax(torch.tensor(np.load(s), dtype=torch.float64) / 2, -1)
    expected = torch.nn.functional.kl_div(ls, lt, reduction="batchmean", log_target=True).item()
    assert out["kl_pq"] == pytest.approx(expected, rel=1e-12)
    assert any("temperature" in note for note in out["notes"])


def test_smoothing_makes_infinite_kl_finite():
    out = run_cli("compare", "0.5,0.5,0", "0.2,0.3,0.5", "--smooth", "1e-3", "-f", "json").json()
    assert isinstance(out["kl_qp"], float) and any("smoothed" in n for n in out["notes"])


@pytest.mark.parametrize("threshold,code", [("0.5", 0), ("0.1", 1)])
def test_fail_above(threshold, code):
    result = run_cli("compare", "0.2,0.8", "0.5,0.5", "--fail-above", threshold, "--metric", "js_distance", "-f", "json")
    assert result.exit_code == code
    assert json.loads(result.stdout)["js_distance"] > 0.1
    assert ("exceeds" in result.stderr) == bool(code)


def test_unknown_metric_is_a_usage_error():
    result = run_cli("compare", "1,2", "1,2", "--metric", "kl")
    assert result.exit_code == 2 and "--metric" in result.stderr


def test_temperature_needs_logits():
    result = run_cli("compare", "1,2", "1,2", "-T", "2")
    assert result.exit_code == 2 and "--temperature" in result.stderr


def test_table_mentions_units_notes_and_infinite_bins():
    result = run_cli("compare", EXAMPLES / "browsers_today.csv", EXAMPLES / "browsers_baseline.csv", "--base", "2")
    assert result.exit_code == 0
    assert "bits" in result.stdout and "KL(P‖Q)" in result.stdout and "H(P)" in result.stdout
    assert "samsung" in result.stdout and "opera" in result.stdout and "normalised" in result.stdout


@pytest.mark.parametrize("command", [[], ["compare"], ["batch"], ["families"]])
def test_every_command_has_help(command):
    result = run_cli(*command, "--help")
    assert result.exit_code == 0 and "Usage" in result.stdout


def test_version():
    assert run_cli("--version").stdout.startswith("klcli ")


def klcli_process(*args, input=None):
    env = dict(os.environ, PYTHONPATH=str(ROOT / "src"))
    return subprocess.run([sys.executable, "-m", "klcli", *map(str, args)], input=input, capture_output=True, env=env, cwd=ROOT)


def test_real_process_reads_stdin_and_keeps_the_error_contract():
    done = klcli_process("compare", "-", "0.5,0.5", "--format", "json", input=b"1\n3\n")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["kl_pq"] == pytest.approx(0.13081203594113694, rel=1e-14)
    bad = klcli_process("compare", "-", "0.5,0.5", input=b"1\n-3\n")
    assert bad.returncode == 2 and bad.stdout == b""
    assert bad.stderr.decode().strip() == "klcli: error: <stdin>: line 2: negative weight -3.0"


def test_one_liner_imports_no_heavy_module():
    """`klcli compare 0.1,0.9 0.5,0.5` must not pay for torch, pandas or scipy.stats."""
    code = (
        "import sys\n"
        "from klcli.cli import app\n"
        "try:\n    app(['compare', '0.1,0.9', '0.5,0.5'])\nexcept SystemExit:\n    pass\n"
        "heavy = [m for m in ('torch', 'pandas', 'scipy.stats', 'scipy') if m in sys.modules]\n"
        "print('HEAVY', heavy)\n"
    )
    env = dict(os.environ, PYTHONPATH=str(ROOT / "src"))
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, env=env, text=True)
    assert "HEAVY []" in done.stdout, done.stdout + done.stderr


def test_families_lists_every_family_and_its_closed_forms():
    out = run_cli("families", "--format", "json").json()
    names = {f["family"] for f in out["families"]}
    assert {"normal", "studentt", "mvn", "mixture", "poisson", "dirichlet"} <= names
    assert ["normal", "normal"] in out["closed_form_pairs"]
    table = run_cli("families")
    assert table.exit_code == 0 and "studentt" in table.stdout


def test_compare_specs_reports_methods_and_errors():
    out = run_cli("compare", "normal(0,1)", "normal(1,2)", "-f", "json").json()
    assert out["kl_pq"] == pytest.approx(np.log(2) + (1 + 1) / 8 - 0.5, rel=1e-14)
    assert out["method"]["kl_pq"] == "closed_form" and out["method"]["js"] == "quadrature"
    mc = run_cli(
        "compare",
        "mvn(loc=[0,0], covariance_matrix=[[1,0],[0,1]])",
        "mvn(loc=[1,0], covariance_matrix=[[2,0],[0,1]])",
        "--samples",
        "20000",
        "--seed",
        "3",
        "-f",
        "json",
    ).json()
    assert mc["method"]["js"] == "monte_carlo" and mc["stderr"]["js"] > 0 and mc["seed"] == 3


def test_spec_from_a_json_file(tmp_path):
    path = tmp_path / "p.json"
    path.write_text(json.dumps({"family": "normal", "loc": 0, "scale": 1}))
    out = run_cli("compare", path, "normal(1,1)", "-f", "json").json()
    assert out["kl_pq"] == pytest.approx(0.5, rel=1e-14)


def test_spec_with_lists_keeps_its_brackets_in_the_table():
    result = run_cli("compare", "mixture(weights=[0.5,0.5], components=[normal(-1,1), normal(1,1)])", "normal(0,2)", "--samples", "2000")
    assert result.exit_code == 0 and "weights=[0.5,0.5]" in result.stdout.replace("\n", "").replace(" ", "")


def test_histogram_against_spec_is_an_error():
    result = run_cli("compare", "0.5,0.5", "normal(0,1)")
    assert result.exit_code == 2 and "cannot compare" in result.stderr


def test_cuda_without_a_gpu_is_a_clear_error():
    result = run_cli("compare", "normal(0,1)", "studentt(3)", "--engine", "mc", "--device", "cuda", "--samples", "1000")
    assert result.exit_code == 2
    assert result.stderr.startswith("klcli: error: ") and ("cuda" in result.stderr.lower() or "torch" in result.stderr.lower())


def test_samples_from_the_command_line():
    after, before = EXAMPLES / "samples_after.csv", EXAMPLES / "samples_before.csv"
    out = run_cli("compare", after, before, "--from", "samples", "-f", "json").json()
    assert out["method"]["kl_pq"] == "classifier" and set(out["stderr"]) >= {"kl_pq", "kl_qp", "js"}
    assert out["interval"]["kl_pq"][0] <= 0.125 <= out["interval"]["kl_pq"][1]
    assert abs(out["kl_pq"] - 0.125) < 4 * out["stderr"]["kl_pq"] + 0.02
    one = run_cli("compare", after, before, "--from", "samples", "--columns", "y", "--bootstrap", "0", "-f", "json").json()
    assert one["dim"] == 1 and set(one["stderr"]) >= {"kl_pq"} and abs(one["kl_pq"]) < 0.05
    assert not any("bootstrap count" in note for note in one["notes"])
    assert any("per-point terms" in note for note in one["notes"])


def test_sample_options_need_from_samples():
    result = run_cli("compare", "1,2", "2,1", "--k", "5")
    assert result.exit_code == 2 and "--from samples" in result.stderr


def test_samples_from_stdin_and_npz(tmp_path):
    before = EXAMPLES / "samples_before.csv"
    text = (EXAMPLES / "samples_after.csv").read_bytes()
    from_file = run_cli("compare", EXAMPLES / "samples_after.csv", before, "--from", "samples", "-f", "json").json()
    from_stdin = run_cli("compare", "-", before, "--from", "samples", "-f", "json", input=text).json()
    assert from_stdin["kl_pq"] == from_file["kl_pq"]
    rng = np.random.default_rng(0)
    np.savez(tmp_path / "s.npz", a=rng.normal(size=(400, 2)), b=rng.normal(0.5, 1, (400, 2)))
    out = run_cli("compare", f"{tmp_path / 's.npz'}:a", f"{tmp_path / 's.npz'}:b", "--from", "samples", "-f", "json").json()
    assert out["n_p"] == 400 and out["kl_pq"] > 0
    bad = run_cli("compare", tmp_path / "s.npz", before, "--from", "samples")
    assert bad.exit_code == 2 and "holds several arrays (a, b)" in bad.stderr


def test_sample_columns_must_match_unless_paired(tmp_path):
    rng = np.random.default_rng(1)
    (tmp_path / "p.csv").write_text("a,b\n" + "\n".join(f"{u},{v}" for u, v in rng.normal(size=(50, 2))))
    (tmp_path / "q.csv").write_text("x,y\n" + "\n".join(f"{u},{v}" for u, v in rng.normal(size=(50, 2))))
    result = run_cli("compare", tmp_path / "p.csv", tmp_path / "q.csv", "--from", "samples")
    assert result.exit_code == 2
    assert "has columns a, b but" in result.stderr and "--columns a:x,b:y" in result.stderr
    ok = run_cli("compare", tmp_path / "p.csv", tmp_path / "q.csv", "--from", "samples", "--columns", "a:x,b:y", "--bootstrap", "0", "-f", "json")
    assert ok.exit_code == 0 and ok.json()["dim"] == 2
