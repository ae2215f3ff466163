"""CLI conventions: completion, jsonl, --output, --quiet, --color, negative numbers, streams, T² scaling, help."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys

import numpy as np
import pytest
from typer.testing import CliRunner

from klcli.cli import app, global_options

runner = CliRunner()
DATA = "examples/data"
SRC = os.path.join(os.path.dirname(__file__), os.pardir, "src")


def run(*args: str, input: str | None = None, env: dict | None = None):
    return runner.invoke(app, list(args), input=input, env=env)


def klcli(*args: str, input: str | None = None, env: dict | None = None, cwd=None) -> subprocess.CompletedProcess:
    environment = {**os.environ, "PYTHONPATH": os.path.abspath(SRC), **(env or {})}
    return subprocess.run([sys.executable, "-m", "klcli", *args], input=input, capture_output=True, text=True, env=environment, cwd=cwd)


# --- shell completion -------------------------------------------------------------------------


def test_show_completion_prints_a_script():
    done = klcli("--show-completion", "bash", env={"SHELL": "/bin/bash"})
    assert done.returncode == 0 and "_KLCLI_COMPLETE=complete_bash" in done.stdout


def test_real_completion_requests_complete_commands_and_options():
    env = {"_KLCLI_COMPLETE": "complete_bash", "COMP_WORDS": "klcli com", "COMP_CWORD": "1"}
    done = klcli(env=env)
    assert done.returncode == 0 and done.stdout.split() == ["compare"]
    env = {"_KLCLI_COMPLETE": "complete_bash", "COMP_WORDS": "klcli compare --fro", "COMP_CWORD": "2"}
    assert klcli(env=env).stdout.split() == ["--from"]


@pytest.mark.parametrize("value", ["1", "bash_complete", "yes please"])
def test_completion_variable_misuse_is_refused(value):
    done = klcli("compare", "1,1", "1,1", env={"_KLCLI_COMPLETE": value})
    assert done.returncode == 2 and done.stderr.startswith("klcli: error: _KLCLI_COMPLETE=") and done.stdout == ""


# --- negative numbers, empty values -----------------------------------------------------------


def test_negative_inline_numbers_are_arguments():
    result = run("compare", "-1,-2,-3", "-1,-1,-1", "--from", "logprobs", "--format", "json")
    assert result.exit_code == 0, result.output
    record = json.loads(result.stdout)
    p = np.exp([-1.0, -2, -3]) / np.exp([-1.0, -2, -3]).sum()
    assert record["p"] == "-1,-2,-3" and record["kl_pq"] == pytest.approx(float(np.sum(p * np.log(p * 3))), rel=1e-12)
    # option values stay option values; an unknown option is still an error
    assert run("compare", "1,2", "2,1", "--seed", "-1", "--format", "json").exit_code == 0
    assert "No such option: --frm" in run("compare", "1,2", "2,1", "--frm", "x").stderr


def test_global_options_are_taken_anywhere_before_double_dash():
    assert global_options(["-q", "compare", "--", "-q"]) == (["compare", "--", "-q"], True, None)
    assert global_options(["compare", "-inf,0", "1,1"])[0] == ["compare", " -inf,0", "1,1"]


def test_an_empty_value_between_commas_is_an_error():
    for text in ("0.1,,0.9", "0.1,0.9,", ",0.5"):
        result = run("compare", text, "0.5,0.5,0.5")
        assert result.exit_code == 2 and "has an empty value between commas" in result.stderr


# --- output: jsonl, --output, CSV, thresholds ------------------------------------------------


def test_batch_jsonl_is_the_json_list_one_line_each():
    args = ["batch", "-r", f"{DATA}/batch/reference.csv", f"{DATA}/batch/daily"]
    lines = run(*args, "--format", "jsonl").stdout.splitlines()
    assert [json.loads(line) for line in lines] == json.loads(run(*args, "--format", "json").stdout)
    assert "jsonl" in run("batch", "--pairwise", f"{DATA}/batch/daily", "--format", "jsonl").stderr


def test_drift_jsonl_is_the_columns_then_the_summary():
    args = ["drift", f"{DATA}/drift/reference.csv", f"{DATA}/drift/current.csv"]
    whole = json.loads(run(*args, "--format", "json").stdout)
    lines = [json.loads(line) for line in run(*args, "--format", "jsonl").stdout.splitlines()]
    assert lines[:-1] == whole["columns"]
    assert lines[-1] == {k: v for k, v in whole.items() if k != "columns"}


def test_every_command_has_output(tmp_path):
    target = tmp_path / "families.json"
    assert run("families", "--format", "json", "--output", str(target)).stdout == ""
    assert "normal" in {f["family"] for f in json.loads(target.read_text())["families"]}
    for command in ("compare", "batch", "drift", "families"):
        assert "--output" in run(command, "--help").stdout


def test_compare_csv_carries_p_and_q():
    lines = run("compare", "0.1,0.9", "0.5,0.5", "--format", "csv").stdout.splitlines()
    assert lines[0].startswith("p,q,kl_pq") and lines[1].startswith('"0.1,0.9","0.5,0.5",')
    rows = run(
        "compare", f"{DATA}/teacher_logits.npy", f"{DATA}/student_logits.npy", "--from", "logits", "--reduction", "none", "--format", "csv"
    ).stdout.splitlines()
    assert rows[0].startswith("row,p,q,")


def test_threshold_messages_give_the_value():
    result = run("compare", "0.1,0.9", "0.5,0.5", "--fail-above", "0.1")
    assert result.exit_code == 1 and result.stderr.strip() == "klcli: kl_pq = 0.368064 exceeds 0.1"
    result = run("batch", "-r", f"{DATA}/batch/reference.csv", f"{DATA}/batch/daily", "--fail-above", "0.05", "--metric", "js")
    assert result.exit_code == 1 and "2024-05-04.csv: js = 0.162882 exceeds 0.05" in result.stderr


# --- quiet and colour -------------------------------------------------------------------------


def test_quiet_drops_messages_but_not_errors_or_data():
    result = run("compare", "3,3,4", "2,2,6", "--fail-above", "0.01", "--format", "json", "-q")
    assert result.exit_code == 1 and result.stderr == "" and json.loads(result.stdout)["kl_pq"] > 0.01
    result = run("--quiet", "compare", "1,-1", "1,1")
    assert result.exit_code == 2 and result.stderr.startswith("klcli: error: ")


def test_color_never_always_and_the_environment():
    args = ["drift", f"{DATA}/drift/reference.csv", f"{DATA}/drift/current.csv"]
    colour = re.compile(r"\x1b\[(?:[0-9;]*;)?(?:3[0-8]|9[0-7])[;m]")  # a foreground colour (bold is not a colour)
    assert colour.search(klcli(*args, "--color", "always").stdout)
    assert "\x1b[" not in klcli(*args, "--color", "never", env={"FORCE_COLOR": "1"}).stdout
    assert "\x1b[" not in klcli(*args).stdout  # not a terminal
    assert colour.search(klcli(*args, env={"FORCE_COLOR": "1"}).stdout)
    assert not colour.search(klcli(*args, env={"FORCE_COLOR": "1", "NO_COLOR": "1"}).stdout)
    assert "`--color` must be one of auto, always, never" in klcli("compare", "1,1", "1,1", "--color", "red").stderr


# --- sources ----------------------------------------------------------------------------------


def test_npz_member_sources():
    record = json.loads(run("compare", f"{DATA}/splits.npz:train", f"{DATA}/splits.npz:test", "--format", "json").stdout)
    keyed = json.loads(run("compare", f"{DATA}/splits.npz", f"{DATA}/splits.npz", "--key", "train", "--format", "json").stdout)
    assert record["kl_pq"] > 0 and keyed["kl_pq"] == 0
    assert (
        "no array 'nope'" in run("compare", f"{DATA}/splits.npz:nope", "1,1").stderr
        or run("compare", f"{DATA}/splits.npz:nope", "1,1").exit_code == 2
    )


def test_a_file_named_like_a_spec_is_read_with_a_warning(tmp_path):
    (tmp_path / "normal(0,1)").write_text("1\n3\n")
    done = klcli("compare", "normal(0,1)", "1,1", "--format", "json", cwd=tmp_path)
    assert done.returncode == 0 and json.loads(done.stdout)["kl_pq"] > 0
    assert "klcli: warning: P: 'normal(0,1)' is a file in the working directory" in done.stderr
    assert "warning" not in klcli("compare", "./normal(0,1)", "1,1", cwd=tmp_path).stderr


def test_device_auto_reports_the_device_that_ran():
    torch = pytest.importorskip("torch")
    record = json.loads(
        run("compare", f"{DATA}/student_logits.npy", f"{DATA}/teacher_logits.npy", "--from", "logits", "--device", "auto", "--format", "json").stdout
    )

    assert record["backend"] == ("torch:cuda" if torch.cuda.is_available() else "torch:cpu")


# --- distillation and streams -----------------------------------------------------------------


def test_scale_t2_matches_the_distillation_loss():
    torch = pytest.importorskip("torch")

    teacher, student = np.load(f"{DATA}/teacher_logits.npy"), np.load(f"{DATA}/student_logits.npy")
    t = 2.0
    loss = (
        torch.nn.functional.kl_div(
            torch.log_softmax(torch.tensor(student, dtype=torch.float64) / t, -1),
            torch.log_softmax(torch.tensor(teacher, dtype=torch.float64) / t, -1),
            reduction="batchmean",
            log_target=True,
        )
        * t**2
    )
    args = ["compare", f"{DATA}/teacher_logits.npy", f"{DATA}/student_logits.npy", "--from", "logits", "-T", "2"]
    plain, scaled = (json.loads(run(*args, *extra, "--format", "json").stdout) for extra in ([], ["--scale-t2"]))
    assert scaled["kl_pq"] == pytest.approx(float(loss), rel=1e-12)
    assert scaled["kl_qp"] == pytest.approx(4 * plain["kl_qp"]) and scaled["js"] == plain["js"] and scaled["kl_scale"] == 4.0
    assert "applies to --from logits" in run("compare", "1,1", "1,1", "--scale-t2").stderr


def test_table_says_mean_over_rows():
    out = run("compare", f"{DATA}/teacher_logits.npy", f"{DATA}/student_logits.npy", "--from", "logits").stdout
    assert "mean over 16 rows (--reduction batchmean)" in out


def test_stream_answers_each_line_as_it_comes():
    """A line is answered before the next is written: the process is driven line by line."""
    process = subprocess.Popen(
        [sys.executable, "-m", "klcli", "compare", "--stream", "--from", "logits"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": os.path.abspath(SRC)},
    )
    answers = []
    for step, logits in enumerate(([2.0, 0.0], [0.0, 0.0], [1.0, -1.0])):
        process.stdin.write(json.dumps({"step": step, "p": logits, "q": [0.0, 0.0]}) + "\n")
        process.stdin.flush()
        answers.append(json.loads(process.stdout.readline()))  # would hang if the answer were buffered
    process.stdin.close()
    assert process.wait(timeout=30) == 0
    assert [a["step"] for a in answers] == [0, 1, 2] and answers[1]["kl_pq"] == 0.0
    expected = json.loads(run("compare", "2,0", "0,0", "--from", "logits", "--format", "json").stdout)
    assert answers[0]["kl_pq"] == expected["kl_pq"]


def test_stream_reports_bad_lines_and_goes_on():
    result = run("compare", "--stream", input='[[1, 2], [1]]\nnot json\n\n{"p": [1, 1], "q": [1, 3]}\n')
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert [line.get("line") for line in lines] == [1, 2, None] and lines[2]["kl_pq"] > 0
    assert result.exit_code == 2 and "2 line(s) could not be compared" in result.stderr
    assert "give P and Q, or --stream" in run("compare", "1,1", "--stream").stderr


# --- help -------------------------------------------------------------------------------------


def test_help_matches_the_docs():
    compare_help = run("compare", "--help").stdout
    assert "klcli compare teacher.npy student.npy --from logits" in compare_help
    batch_help = run("batch", "--help").stdout
    assert "<probs|logprobs|logits>" in batch_help and "samples>" not in batch_help
    assert "Monte Carlo of specs" in " ".join(compare_help.split())
