"""Reading sources: every layout that must work, and every bad input (exit 2, one line)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from tests.conftest import run_cli


def kl(*args, **kwargs):
    result = run_cli("compare", *args, "--format", "json", **kwargs)
    assert result.exit_code == 0, result.stderr
    return result.json()


def fails(*args, input=None):
    """Run and return stderr, checking the error contract: exit 2, one line, no traceback."""
    result = run_cli("compare", *args, input=input)
    assert result.exit_code == 2, (result.stdout, result.stderr)
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("klcli: error: "), result.stderr
    return lines[0]


REFERENCE = kl("1,2,3", "3,2,1")


@pytest.mark.parametrize(
    "content",
    [
        "1\n2\n3\n",
        "1\n2\n3",
        "count\n1\n2\n3\n",
        "\ufeffcount\r\n1\r\n2\r\n3\r\n",
        "\ufeff1\r\n2\r\n3",
        "# a comment\ncount\n1\n\n2\n3\n",
        '"count"\n"1"\n"2"\n"3"\n',
        "1.0e0\n2\n3.\n",
    ],
)
def test_one_column_layouts_all_work(tmp_path, content):
    path = tmp_path / "p.csv"
    path.write_bytes(content.encode("utf-8"))
    assert kl(path, "3,2,1")["kl_pq"] == pytest.approx(REFERENCE["kl_pq"], rel=1e-15)


@pytest.mark.parametrize("suffix,text", [(".tsv", "a\t1\nb\t2\nc\t3\n"), (".txt", "a 1\nb 2\nc 3\n"), (".csv", "label,weight\na,1\nb,2\nc,3\n")])
def test_labelled_layouts(tmp_path, suffix, text):
    p = tmp_path / f"p{suffix}"
    p.write_text(text)
    q = tmp_path / "q.json"
    q.write_text(json.dumps({"c": 1, "b": 2, "a": 3}))
    assert kl(p, q)["kl_pq"] == pytest.approx(REFERENCE["kl_pq"], rel=1e-15)


def test_labels_are_aligned_by_union(tmp_path):
    p = tmp_path / "p.csv"
    p.write_text("x,1\ny,1\n")
    q = tmp_path / "q.csv"
    q.write_text("y,1\nz,1\n")
    out = kl(p, q)
    assert out["kl_pq"] == "inf" and out["kl_qp"] == "inf"
    assert out["js"] == pytest.approx(0.5 * np.log(2), rel=1e-15)
    assert any("'x'" in n or "x" in n for n in out["notes"])


def test_numeric_label_column_by_header(tmp_path):
    p = tmp_path / "p.csv"
    p.write_text("bin,count\n0,1\n1,2\n2,3\n")
    q = tmp_path / "q.csv"
    q.write_text("bin,count\n2,1\n1,2\n0,3\n")
    assert kl(p, q)["kl_pq"] == pytest.approx(REFERENCE["kl_pq"], rel=1e-15)


def test_column_picks_among_several(tmp_path):
    p = tmp_path / "p.csv"
    p.write_text("day,mon,tue\na,1,9\nb,2,9\nc,3,9\n")
    q = tmp_path / "q.json"
    q.write_text(json.dumps({"a": 3, "b": 2, "c": 1}))
    assert kl(p, q, "--column", "mon")["kl_pq"] == pytest.approx(REFERENCE["kl_pq"], rel=1e-15)


def test_npy_npz_and_parquet(tmp_path):
    np.save(tmp_path / "p.npy", np.array([1.0, 2.0, 3.0], dtype=np.float32))
    np.savez(tmp_path / "both.npz", p=np.array([1, 2, 3]), q=np.array([3, 2, 1]))
    assert kl(tmp_path / "p.npy", "3,2,1")["kl_pq"] == pytest.approx(REFERENCE["kl_pq"], rel=1e-15)
    assert kl(tmp_path / "both.npz", "3,2,1", "--key", "p")["kl_pq"] == pytest.approx(REFERENCE["kl_pq"], rel=1e-15)
    pd = pytest.importorskip("pandas")
    pytest.importorskip("pyarrow")
    pd.DataFrame({"label": ["a", "b", "c"], "weight": [1.0, 2.0, 3.0]}).to_parquet(tmp_path / "p.parquet")
    pd.DataFrame({"label": ["c", "b", "a"], "weight": [1.0, 2.0, 3.0]}).to_parquet(tmp_path / "q.parquet")
    assert kl(tmp_path / "p.parquet", tmp_path / "q.parquet")["kl_pq"] == pytest.approx(REFERENCE["kl_pq"], rel=1e-15)


@pytest.mark.parametrize("data,fmt", [(b"1\n2\n3\n", None), (b"[1, 2, 3]", None), (b'{"a": 1, "b": 2, "c": 3}', "json")])
def test_stdin(data, fmt):
    args = ["-", "3,2,1"] if b"{" not in data else ["-", '{"c":1}']
    if b"{" in data:
        result = run_cli("compare", "-", "tests/../examples/data/die_fair.json", input=data)
        assert result.exit_code == 2  # labelled vs positional
        return
    result = run_cli("compare", *args, "--format", "json", input=data)
    assert result.exit_code == 0, result.stderr
    assert result.json()["kl_pq"] == pytest.approx(REFERENCE["kl_pq"], rel=1e-15)


def test_npy_from_stdin(tmp_path):
    np.save(tmp_path / "p.npy", np.array([1.0, 2.0, 3.0]))
    result = run_cli("compare", "-", "3,2,1", "-f", "json", input=(tmp_path / "p.npy").read_bytes())
    assert result.exit_code == 0, result.stderr
    assert result.json()["kl_pq"] == pytest.approx(REFERENCE["kl_pq"], rel=1e-15)


# ---------------------------------------------------------------------------
# Bad input: each an exit 2 with a message that says what and where


def write(tmp_path, name, content):
    path = tmp_path / name
    path.write_bytes(content if isinstance(content, bytes) else content.encode())
    return str(path)


def test_missing_file():
    assert "no such file" in fails("nope.csv", "1,2")


def test_negative_weight_names_file_and_line(tmp_path):
    path = write(tmp_path, "p.csv", "count\n1\n-2\n3\n")
    message = fails(path, "1,2,3")
    assert "p.csv" in message and "line 3" in message and "negative weight -2" in message


@pytest.mark.parametrize("cell,word", [("nan", "NaN"), ("inf", "infinite")])
def test_nan_and_infinite_weights(tmp_path, cell, word):
    path = write(tmp_path, "p.csv", f"a,1\nb,{cell}\n")
    message = fails(path, path)
    assert f"{word} weight" in message and "'b'" in message and "line 2" in message


def test_empty_file(tmp_path):
    assert "empty file" in fails(write(tmp_path, "p.csv", ""), "1,2")
    assert "empty file" in fails(write(tmp_path, "q.csv", "\n\n"), "1,2")


def test_all_zero_histogram(tmp_path):
    assert "all weights are zero" in fails("0,0,0", "1,2,3")


def test_non_numeric_cell_names_file_row_and_column(tmp_path):
    path = write(tmp_path, "p.csv", "label,weight\na,1\nb,x\n")
    message = fails(path, path)
    assert "p.csv" in message and "line 3" in message and "column weight" in message and "'x'" in message


def test_ragged_rows(tmp_path):
    message = fails(write(tmp_path, "p.csv", "a,1\nb,2,3\nc,4\n"), "1,2,3")
    assert "line 2" in message and "ragged" in message


def test_malformed_json(tmp_path):
    assert "malformed JSON" in fails(write(tmp_path, "p.json", "[1, 2,"), "1,2")


def test_duplicate_json_keys(tmp_path):
    assert "duplicate key 'a'" in fails(write(tmp_path, "p.json", '{"a": 1, "a": 2}'), "1,2")


@pytest.mark.parametrize("token", ["NaN", "Infinity", "-Infinity"])
def test_json_nan_and_infinity_tokens(tmp_path, token):
    assert f"{token} is not valid JSON" in fails(write(tmp_path, "p.json", f"[1, {token}]"), "1,2")


def test_json_non_number(tmp_path):
    assert "index 1" in fails(write(tmp_path, "p.json", '[1, "two"]'), "1,2")


def test_npy_that_is_not_one(tmp_path):
    assert "NPY format version 32.103; expected version 1.0 or 2.0" in fails(write(tmp_path, "p.npy", b"\x93NUMPY garbage"), "1,2")
    assert "starts neither like an NPY array nor like an NPZ archive" in fails(write(tmp_path, "q.npy", b"hello"), "1,2")


def test_npy_with_objects_is_never_unpickled(tmp_path):
    np.save(tmp_path / "p.npy", np.array([1, "a", None], dtype=object), allow_pickle=True)
    assert "Python objects" in fails(str(tmp_path / "p.npy"), "1,2,3")


def test_npz_needs_a_key_when_several(tmp_path):
    np.savez(tmp_path / "h.npz", a=np.ones(2), b=np.ones(2))
    assert "--key" in fails(str(tmp_path / "h.npz"), "1,2")
    assert "no array named 'c'" in fails(str(tmp_path / "h.npz"), "1,2", "--key", "c")


def test_length_mismatch():
    assert "same length" in fails("1,2", "1,2,3")


def test_labelled_vs_positional(tmp_path):
    assert "labelled" in fails(write(tmp_path, "p.csv", "a,1\nb,2\n"), "1,2")


def test_several_numeric_columns_need_column(tmp_path):
    message = fails(write(tmp_path, "p.csv", "x,y,z\n1,2,3\n4,5,6\n"), "1,2")
    assert "--column" in message and "x, y, z" in message


def test_unknown_column(tmp_path):
    assert "no column 'w'" in fails(write(tmp_path, "p.csv", "x,y,z\n1,2,3\n"), "1,2", "--column", "w")


@pytest.mark.parametrize("base", ["0", "1", "-2", "abc", "nan"])
def test_bad_base(base):
    assert "--base" in fails("1,2", "1,2", "--base", base)


def test_not_a_source():
    assert "not a file" in fails("hello", "1,2")


def test_both_from_stdin():
    assert "standard input" in fails("-", "-", input=b"1\n2\n")


def test_binary_csv(tmp_path):
    assert "not UTF-8" in fails(write(tmp_path, "p.csv", b"\xff\xfe\x00\x01"), "1,2")


def test_debug_shows_the_traceback_and_still_exits_2(capsys):
    from klcli.cli import app

    assert app(["--debug", "compare", "1,-2", "1,2"], standalone_mode=False) == 2
    err = capsys.readouterr().err
    assert "Traceback (most recent call last)" in err and "raise InputError" in err
    assert err.strip().splitlines()[-1] == "klcli: error: 1,-2: index 1: negative weight -2.0"


def test_labelled_logits_need_the_same_labels(tmp_path):
    p = write(tmp_path, "p.json", '{"a": 1.5, "b": -2}')
    q = write(tmp_path, "q.json", '{"a": 0.5, "c": 1}')
    assert "same labels" in fails(p, q, "--from", "logits")
    same = write(tmp_path, "r.json", '{"b": -2, "a": 1.5}')
    assert run_cli("compare", p, same, "--from", "logits", "-f", "json").json()["kl_pq"] == 0
