"""`klcli batch`: equality with `compare`, file sources, pairwise matrices, failures, exit codes."""

from __future__ import annotations

import importlib
import io
import json
import os
import subprocess
import sys

import numpy as np
import pytest
from typer.testing import CliRunner

from klcli.cli import app, main
from klcli.compare import CompareOptions, compare_sources
from klcli.errors import InputError, UsageError
from klcli.render import comparison_record

core = importlib.import_module("klcli.batch")  # the module: `klcli.batch` is the API function

runner = CliRunner()
SRC = os.path.join(os.path.dirname(__file__), os.pardir, "src")


def write_counts(path, counts, header=None):
    with open(path, "w") as handle:
        if header:
            handle.write(header + "\n")
        handle.write("".join(f"{c}\n" for c in counts))
    return str(path)


@pytest.fixture
def daily(tmp_path):
    """A reference and eight daily histograms (counts), one with a zero bin."""
    rng = np.random.default_rng(3)
    ref = write_counts(tmp_path / "ref.csv", rng.integers(1, 50, 40))
    folder = tmp_path / "daily"
    folder.mkdir()
    files = []
    for day in range(8):
        counts = rng.integers(0 if day == 5 else 1, 50, 40)
        files.append(write_counts(folder / f"day{day}.csv", counts, header="count" if day % 2 else None))
    return ref, files


def cli(*args, input=None):
    result = runner.invoke(app, list(args), input=input)
    return result


# ---------------------------------------------------------------------------
# Equality with compare


@pytest.mark.parametrize(
    "options",
    [
        CompareOptions(),
        CompareOptions(base="2", smooth=0.01),
        CompareOptions(from_="logits", temperature=2.0),
        CompareOptions(base="10", from_="logprobs"),
    ],
    ids=["counts", "bits-smooth", "logits-T", "logprobs"],
)
def test_library_equals_compare_file_by_file(daily, options):
    ref, files = daily
    results = core.compare_batch(ref, files, options)
    assert [r.file for r in results] == files
    for r in results:
        expected = comparison_record(compare_sources(r.file, ref, options))
        assert comparison_record(r.comparison) == expected


def test_zero_bin_file_gets_compare_notes(daily):
    ref, files = daily
    result = core.compare_batch(ref, files)[5]
    assert result.comparison.values["kl_qp"] == float("inf")
    assert any("infinite" in note for note in result.comparison.notes)


def test_cli_json_equals_compare_json_plus_file(daily):
    ref, files = daily
    out = cli("batch", "--reference", ref, *files, "--format", "json", "--base", "2")
    assert out.exit_code == 0, out.output
    records = json.loads(out.stdout)
    assert [r["file"] for r in records] == files
    for record in records:
        single = cli("compare", record["file"], ref, "--format", "json", "--base", "2")
        expected = json.loads(single.stdout)
        assert {k: v for k, v in record.items() if k != "file"} == expected


def test_labelled_histograms_align_like_compare(tmp_path):
    ref = tmp_path / "ref.json"
    ref.write_text(json.dumps({"a": 5, "b": 3, "c": 2}))
    one = tmp_path / "one.csv"
    one.write_text("label,count\nb,4\na,1\nd,0\nc,5\n")
    two = tmp_path / "two.json"
    two.write_text(json.dumps({"c": 1, "a": 1, "b": 1}))
    results = core.compare_batch(str(ref), [str(one), str(two)])
    for r in results:
        assert comparison_record(r.comparison) == comparison_record(compare_sources(r.file, str(ref)))


def test_blocks_of_different_lengths_and_many_rows(tmp_path, monkeypatch):
    monkeypatch.setattr(core, "BLOCK_ELEMENTS", 64)  # several blocks per length
    rng = np.random.default_rng(0)
    files = [write_counts(tmp_path / f"{i:02d}.csv", rng.integers(1, 9, 10)) for i in range(25)]
    results = core.compare_batch(files[0], files, jobs=3)
    assert [r.file for r in results] == files
    for r in results:
        assert comparison_record(r.comparison) == comparison_record(compare_sources(r.file, files[0]))


def test_2d_npy_file_uses_reduction(tmp_path):
    rows = np.array([[1.0, 3.0], [2.0, 2.0]])
    np.save(tmp_path / "rows.npy", rows)
    options = CompareOptions(reduction="none")
    (result,) = core.compare_batch("0.5,0.5", [str(tmp_path / "rows.npy")], options)
    expected = compare_sources(str(tmp_path / "rows.npy"), "0.5,0.5", options)
    assert comparison_record(result.comparison) == comparison_record(expected)


# ---------------------------------------------------------------------------
# Where the files come from


def test_glob_directory_and_order(daily, tmp_path):
    ref, files = daily
    reordered = files[::-1]
    out = json.loads(cli("batch", "-r", ref, *reordered, "-f", "json").stdout)
    assert [r["file"] for r in out] == reordered
    folder = os.path.dirname(files[0])
    (tmp_path / "daily" / "notes.md").write_text("not a histogram")
    out = json.loads(cli("batch", "-r", ref, folder, "-f", "json").stdout)
    assert [r["file"] for r in out] == sorted(files)


def test_files_from_file_and_stdin(daily, tmp_path):
    ref, files = daily
    listing = tmp_path / "list.txt"
    listing.write_text("# the week\n" + "\n".join(files[:3]) + "\n\n")
    out = json.loads(cli("batch", "-r", ref, "--files-from", str(listing), "-f", "json").stdout)
    assert [r["file"] for r in out] == files[:3]
    out = cli("batch", "-r", ref, files[4], "--files-from", "-", "-f", "json", input="\n".join(files[:2]) + "\n")
    assert [r["file"] for r in json.loads(out.stdout)] == [files[4], *files[:2]]


def test_collect_files_errors(tmp_path):
    with pytest.raises(UsageError, match="no files to compare"):
        core.collect_files([])
    with pytest.raises(InputError, match="no histogram files in this directory"):
        core.collect_files([str(tmp_path)])
    with pytest.raises(InputError, match="missing.txt: cannot read the file list"):
        core.collect_files([], files_from=str(tmp_path / "missing.txt"))
    assert core.collect_files([], files_from="-", stdin=io.StringIO("a.csv\n#x\nb.csv\n")) == ["a.csv", "b.csv"]


# ---------------------------------------------------------------------------
# Output, sorting, thresholds


def test_sort_top_table_and_csv(daily):
    ref, files = daily
    records = json.loads(cli("batch", "-r", ref, *files, "-f", "json").stdout)
    by_js = sorted(records, key=lambda r: -r["js"] if r["js"] != "inf" else float("-inf"))
    out = cli("batch", "-r", ref, *files, "-f", "csv", "--sort", "js", "--top", "3")
    lines = out.stdout.splitlines()
    assert lines[0].startswith("file,p,q,kl_pq")
    assert [line.split(",")[0] for line in lines[1:]] == [r["file"] for r in by_js[:3]]
    table = cli("batch", "-r", ref, *files, "--sort", "js", "--top", "2")
    assert table.exit_code == 0 and "showing 2 of 8 files" in table.stdout


def test_fail_above_lists_files_on_stderr(daily, capsys):
    ref, files = daily
    values = [r.comparison.values["js"] for r in core.compare_batch(ref, files)]
    threshold = float(np.median(values))
    with pytest.raises(SystemExit) as done:
        main(["batch", "-r", ref, *files, "-f", "json", "--fail-above", str(threshold), "--metric", "js"])
    assert done.value.code == 1
    captured = capsys.readouterr()
    err = captured.err
    assert len(json.loads(captured.out)) == len(files)
    over = [f for f, v in zip(files, values) if v > threshold]
    assert f"js exceeds {threshold:g} for {len(over)} file(s)" in err
    assert all(f in err for f in over)
    assert not any(f in err for f in files if f not in over)


def test_fail_above_not_exceeded_exits_0(daily):
    ref, files = daily
    assert cli("batch", "-r", ref, *files, "--fail-above", "100", "--metric", "js", "-f", "csv").exit_code == 0


# ---------------------------------------------------------------------------
# Failures


def bad_files(tmp_path):
    return {
        "missing.csv": (None, "no such file"),
        "negative.csv": ("1\n-2\n3\n", "line 2: negative weight -2.0"),
        "short.csv": ("1\n2\n", "has 2 bins but"),
        "text.csv": ("1\nabc\n3\n", "line 2, column 1: 'abc' is not a number"),
        "empty.csv": ("", "empty file"),
        "zeros.csv": ("0\n0\n0\n", "all weights are zero"),
    }


@pytest.mark.parametrize("name", list(bad_files(None)))
def test_bad_file_is_an_error_naming_it(tmp_path, capsys, name):
    content, message = bad_files(tmp_path)[name]
    ref = write_counts(tmp_path / "ref.csv", [1, 1, 1])
    good = write_counts(tmp_path / "good.csv", [1, 2, 3])
    path = tmp_path / name
    if content is not None:
        path.write_text(content)
    with pytest.raises(SystemExit) as done:
        main(["batch", "-r", ref, good, str(path)])
    assert done.value.code == 2
    err = capsys.readouterr().err
    assert err.startswith(f"klcli: error: {path}") and message in err
    assert err.count("\n") == 1


def test_keep_going_reports_and_exits_2(tmp_path, capsys):
    ref = write_counts(tmp_path / "ref.csv", [1, 1, 1])
    good = write_counts(tmp_path / "good.csv", [1, 2, 3])
    bad = tmp_path / "bad.csv"
    bad.write_text("1\n-2\n3\n")
    with pytest.raises(SystemExit) as done:
        main(["batch", "-r", ref, str(bad), good, "--keep-going", "-f", "json"])
    assert done.value.code == 2
    captured = capsys.readouterr()
    records = json.loads(captured.out)
    assert records[0] == {"file": str(bad), "error": f"{bad}: line 2: negative weight -2.0"}
    assert records[1]["file"] == good and records[1]["kl_pq"] > 0
    assert "1 of 2 files could not be compared" in captured.err
    with pytest.raises(SystemExit) as done:
        main(["batch", "-r", ref, str(bad), good, "-k"])
    table = capsys.readouterr().out
    assert done.value.code == 2 and "failed" in table and "negative weight" in table


def test_bad_reference_is_fatal_even_with_keep_going(tmp_path, capsys):
    good = write_counts(tmp_path / "good.csv", [1, 2, 3])
    with pytest.raises(SystemExit) as done:
        main(["batch", "-r", "1,-1,1", good, "--keep-going"])
    assert done.value.code == 2
    assert "negative weight" in capsys.readouterr().err


@pytest.mark.parametrize(
    "args, message",
    [
        (["a.csv"], "either --reference REF"),
        (["-r", "x.csv", "--pairwise", "a.csv"], "either --reference REF"),
        (["-r", "x.csv", "a.csv", "--cluster"], "--cluster orders a --pairwise matrix"),
        (["--pairwise", "a.csv", "b.csv", "--sort", "js"], "--sort and --top order"),
        (["-r", "x.csv", "a.csv", "-f", "json", "--top", "2"], "JSON keeps the input order"),
        (["-r", "x.csv", "a.csv", "--metric", "nope"], "`--metric` must be one of"),
        (["-r", "x.csv", "a.csv", "--sort", "nope"], "`--metric` must be one of"),
        (["-r", "x.csv", "a.csv", "--from", "samples"], "'samples' is not one of 'probs', 'logprobs', 'logits'"),
        (["--pairwise", "a.csv", "b.csv", "--metric", "entropy_p"], "for --pairwise must be one of"),
        (["-r", "-", "--files-from", "-"], "only one of REF and --files-from"),
        (["-r", "x.csv"], "no files to compare"),
    ],
)
def test_usage_errors(tmp_path, capsys, monkeypatch, args, message):
    monkeypatch.chdir(tmp_path)
    for name in ("a.csv", "b.csv", "x.csv"):
        write_counts(tmp_path / name, [1, 2, 3])
    with pytest.raises(SystemExit) as done:
        main(["batch", *args])
    assert done.value.code == 2
    assert message in capsys.readouterr().err


# ---------------------------------------------------------------------------
# Pairwise


def test_pairwise_js_symmetric_zero_diagonal_equals_compare(daily):
    _, files = daily
    out = cli("batch", "--pairwise", *files, "-f", "json", "--base", "2")
    assert out.exit_code == 0, out.output
    record = json.loads(out.stdout)
    assert record["files"] == files and record["metric"] == "js" and record["base"] == "2"
    m = np.array(record["matrix"], dtype=float)
    assert np.array_equal(m, m.T) and np.all(np.diag(m) == 0)
    for i in range(len(files)):
        for j in range(len(files)):
            expected = compare_sources(files[i], files[j], CompareOptions(base="2")).values["js"]
            assert m[i, j] == pytest.approx(expected, rel=1e-10, abs=1e-300)


@pytest.mark.parametrize("metric", ["kl_pq", "kl_qp", "symmetric_kl", "js_distance"])
def test_pairwise_other_metrics_equal_compare(daily, metric):
    _, files = daily
    m = core.pairwise_matrix(files, metric=metric)
    for i in range(len(files)):
        for j in range(len(files)):
            expected = compare_sources(files[i], files[j]).values[metric]
            assert m.matrix[i, j] == pytest.approx(expected, rel=1e-10, abs=1e-300)
    if metric.startswith("kl_"):
        assert not np.array_equal(m.matrix, m.matrix.T)  # rows are P, columns Q
    assert np.all(np.diag(m.matrix) == 0)


def test_pairwise_near_identical_rows_are_recomputed_stably():
    rng = np.random.default_rng(1)
    base = rng.random(500)
    rows = np.stack([base, base * (1 + 1e-7 * rng.standard_normal(500)), rng.random(500)])
    p = rows / rows.sum(axis=1, keepdims=True)
    for metric in ("js", "kl_pq"):
        m, recomputed = core.pairwise_divergences(p, metric=metric)
        assert recomputed >= 2  # the close pair, both ways
        assert np.all(np.diag(m) == 0)  # set exactly, not recomputed
        from klcli.discrete import divergences

        exact = divergences(p[0], p[1])[metric]
        assert m[0, 1] == pytest.approx(exact, rel=1e-12)


def test_pairwise_cluster_and_csv(daily):
    _, files = daily
    out = cli("batch", "--pairwise", *files, "--cluster", "-f", "json")
    clustered = json.loads(out.stdout)
    plain = core.pairwise_matrix(files)
    assert sorted(clustered["files"]) == sorted(files)
    order = [files.index(f) for f in clustered["files"]]
    assert np.allclose(np.array(clustered["matrix"]), plain.matrix[np.ix_(order, order)])
    csv_lines = cli("batch", "--pairwise", *files[:3], "-f", "csv").stdout.splitlines()
    assert csv_lines[0] == ",".join(["file", *files[:3]])
    assert csv_lines[1].split(",")[1] == "0.0"


def test_pairwise_keep_going_and_fail_above(daily, tmp_path, capsys):
    _, files = daily
    bad = tmp_path / "bad.csv"
    bad.write_text("nan\n")
    with pytest.raises(SystemExit) as done:
        main(["batch", "--pairwise", files[0], str(bad), files[1], "-k", "-f", "json"])
    assert done.value.code == 2
    record = json.loads(capsys.readouterr().out)
    assert record["files"] == [files[0], files[1]]
    assert record["errors"][0]["file"] == str(bad)
    with pytest.raises(SystemExit) as done:
        main(["batch", "--pairwise", *files[:3], "--fail-above", "0", "-f", "csv"])
    assert done.value.code == 1
    err = capsys.readouterr().err
    assert "js exceeds 0 for 3 pair(s)" in err and f"{files[0]} vs {files[1]}" in err


def test_pairwise_length_mismatch_names_file(tmp_path):
    a = write_counts(tmp_path / "a.csv", [1, 2, 3])
    b = write_counts(tmp_path / "b.csv", [1, 2])
    with pytest.raises(InputError, match="b.csv has 2 bins but .*a.csv has 3"):
        core.pairwise_matrix([a, b])


# ---------------------------------------------------------------------------
# Process level


def test_subprocess_no_progress_bar_when_not_a_terminal(daily):
    ref, files = daily
    env = dict(os.environ, PYTHONPATH=SRC)
    done = subprocess.run([sys.executable, "-m", "klcli", "batch", "-r", ref, *files, "-f", "csv"], capture_output=True, text=True, env=env)
    assert done.returncode == 0 and done.stderr == ""
    assert len(done.stdout.splitlines()) == len(files) + 1


def test_help_and_readme_examples_run():
    folder = os.path.join(os.path.dirname(__file__), os.pardir, "examples", "data", "batch")
    assert cli("batch", "--help").exit_code == 0
    ref = os.path.join(folder, "reference.csv")
    daily_dir = os.path.join(folder, "daily")
    assert cli("batch", "-r", ref, daily_dir, "--sort", "js", "--top", "3").exit_code == 0
    out = cli("batch", "-r", ref, daily_dir, "--fail-above", "0.1", "--metric", "js", "-f", "json")
    assert out.exit_code == 1
    assert cli("batch", "--pairwise", daily_dir, "--cluster", "--base", "2").exit_code == 0


@pytest.mark.parametrize("per_block", [1, 3, 256])
def test_block_reading_gives_what_file_by_file_reading_gives(tmp_path, monkeypatch, per_block):
    """Plain files read a block at a time, every other file by the ordinary reader: same results, same errors."""
    from klcli import blockread

    texts = {
        "plain.csv": "1\n2\n3\n",
        "normalised.txt": "0.25\n0.25\n0.5\n",
        "header.csv": "count\n1\n1\n2\n",
        "comment.csv": "# made by hand\n1\n2\n3\n",
        "crlf.csv": "3\r\n2\r\n1\r\n",
        "negative.csv": "1\n-2\n3\n",
        "nan.csv": "1\nnan\n3\n",
        "zero.csv": "0\n0\n0\n",
        "short.csv": "1\n2\n",
        "word.csv": "1\nx\n3\n",
        "blank.csv": "1\n\n2\n3\n",
        "q_zero.csv": "1\n1\n1\n",
        "huge.csv": "1e308\n1e308\n1\n",
        "floats.csv": "0.1\n0.7\n0.30000000000000004\n",
        "near.csv": "1.0000000001\n1\n1e-300\n",
        "missing.csv": None,
    }
    files = []
    for name, text in texts.items():
        if text is not None:
            (tmp_path / name).write_text(text)
        files.append(str(tmp_path / name))
    reference = "2,2,0"
    monkeypatch.setattr(blockread, "FILES_PER_BLOCK", per_block)
    careful = []
    read_histogram = core.read_histogram
    monkeypatch.setattr(core, "read_histogram", lambda path, options: careful.append(os.path.basename(path)) or read_histogram(path, options))
    by_blocks = core.compare_batch(reference, files, keep_going=True)
    by_reader = set(texts) - {"plain.csv", "normalised.txt", "q_zero.csv", "floats.csv", "near.csv", "short.csv"}
    if per_block == 1:  # a block holding a cell that is not a number goes to the reader as a whole
        assert sorted(careful) == sorted(by_reader)
    assert by_reader <= set(careful)
    monkeypatch.setattr(core, "_by_blocks", lambda options, side: False)
    by_file = core.compare_batch(reference, files, keep_going=True)
    for a, b in zip(by_blocks, by_file):
        assert a.error == b.error, a.file
        assert (a.comparison is None) == (b.comparison is None), a.file
        if a.comparison is not None:
            assert a.comparison.values == b.comparison.values and a.comparison.notes == b.comparison.notes, a.file
    assert sum(r.failed for r in by_file) == 7
