"""The pyarrow fast path for delimited text reads exactly what the careful parser reads.

Every text is read twice, once with the fast path forced (``ARROW_MIN_BYTES = 0``)
and once with the careful parser alone: both must give the same numbers, labels
and line numbers, or the same error message.
"""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from klcli import delimited, sources
from klcli.errors import InputError

TEXTS = [
    "1\n2\n3\n",
    "1\n2\n3",
    "count\n1\n2\n3\n",
    "\ufeffcount\r\n1\r\n2\r\n3\r\n",
    "\ufeff1\r\n2\r\n3",
    "1\r2\r3\r",
    "# a comment\ncount\n1\n\n2\n3\n",
    "\n\n# leading\ncount\n1\n2\n",
    "count\n# between\n1\n2\n",
    "1\n2\n# trailing comment\n",
    "1\n2\n\n",
    '"count"\n"1"\n"2"\n"3"\n',
    "1.0e0\n2\n3.\n.5\n+4\n1E-3\n",
    " 1 \n  2\n3  \n",
    "nan\n1\n",
    "1\ninf\n",
    "1\n-2\n",
    "1\nInfinity\n",
    "1_000\n2\n",
    "0x10\n2\n",
    "1e999\n2\n",
    "1\nx\n3\n",
    "1\n\n",
    "count\n",
    "token,count\nthe,3\nof,2\n",
    "token,count\r\nthe,3\r\nof,2\r\n",
    "the,3\nof,2\n",
    "the,3\nof,2\nthe,1\n",
    "token,count\n the ,3\nof,2\n",
    "token,count\n'the',3\nof,2\n",
    "token,count\n'the,3\nof',2\n",
    'token,count\n"the",3\n"o""f",2\n',
    'token,count\n"a,b",3\nc,2\n',
    "token,count\nthe,3\n#of,2\n",
    "token,count\nthe,3\nof,2,1\n",
    "token,count\nthe,3\nof\n",
    "token,count\nthe,\nof,2\n",
    "token,count\nthe,3\nof,x\n",
    "token,count\nthe,x\nof,2\n",
    "bin,count\n1,3\n2,2\n",
    "bin,count\n1.5,3\n2,2\n",
    "a,b\n1,3\n2,2\n",
    "a,b,c\n1,3,4\n2,2,5\n",
    "1,3,4\n2,2,5\n",
    "token\tcount\nthe\t3\nof\t2\n",
    "1 2\n3 4\n",
    "2020-01-01,3\n2020-01-02,4\n",
    "true,3\nfalse,4\n",
    "\u00a0the,3\nof,2\n",
    "the\u2003,3\nof,2\n",
]


def read(text: str, fmt: str, fast: bool, monkeypatch, column: str | None = None):
    monkeypatch.setattr(delimited, "ARROW_MIN_BYTES", 0 if fast else 1 << 62)
    try:
        h = sources.parse_bytes(text.encode("utf-8"), name="t." + fmt, fmt=fmt, column=column)
    except InputError as error:
        return ("error", str(error))
    lines = None if h.lines is None else [int(n) for n in h.lines]
    return ("ok", h.values.tolist(), h.labels, lines)


def same(a, b) -> bool:
    """Outcomes equal, NaN equal to NaN."""
    if a[0] != b[0] or a[0] == "error":
        return a == b
    values_a, values_b = np.asarray(a[1]), np.asarray(b[1])
    return np.array_equal(values_a, values_b, equal_nan=True) and a[2:] == b[2:]


@pytest.mark.parametrize("fmt", ["csv", "tsv", "txt"])
@pytest.mark.parametrize("text", TEXTS)
def test_fast_path_reads_what_the_careful_parser_reads(text, fmt, monkeypatch):
    fast, careful = read(text, fmt, True, monkeypatch), read(text, fmt, False, monkeypatch)
    assert same(fast, careful), (fast, careful)


@pytest.mark.parametrize("column", ["b", "c", "z"])
def test_column_choice_is_the_same(column, monkeypatch):
    text = "a,b,c\n1,3,4\n2,2,5\n"
    assert read(text, "csv", True, monkeypatch, column) == read(text, "csv", False, monkeypatch, column)


@pytest.mark.parametrize(
    "text,delimiter,taken",
    [
        ("1\n2\n", ",", True),
        ("count\r\n1\r\n2\r\n", ",", True),
        ("token,count\nthe,3\nof,2\n", ",", True),
        ("\ufeff# c\ntoken\tcount\nthe\t3\n", None, True),
        ("1\n# c\n2\n", ",", False),  # a comment after the data starts
        ("1\n\n2\n", ",", False),  # a blank line would shift the line numbers
        ("token,count\n the,3\n", ",", False),  # padding the careful parser strips
        ("1 2\n3 4\n", None, False),  # columns separated by runs of blanks
        ("1\n2\xff\n", ",", False),  # not UTF-8: the careful parser says where
    ],
)
def test_which_texts_take_the_fast_path(text, delimiter, taken):
    assert (
        delimited.read_columns(text.encode("utf-8", "surrogateescape") if "\xff" not in text else text.encode("latin-1"), delimiter=delimiter)
        is not None
    ) is taken


def test_lines_are_numbered_from_the_file(tmp_path):
    header, columns, lines = delimited.read_columns(b"# made by hand\n\ntoken,count\nthe,3\nof,2\n", delimiter=",")
    assert header == ["token", "count"] and list(lines) == [4, 5]


def test_bad_weight_names_its_line_on_the_fast_path(tmp_path, monkeypatch):
    monkeypatch.setattr(delimited, "ARROW_MIN_BYTES", 0)
    path = tmp_path / "w.csv"
    path.write_text("count\n" + "1\n" * 5 + "-3\n")
    h = sources.read_source(str(path))
    with pytest.raises(InputError, match=r"w.csv: line 7: negative weight -3"):
        sources.check_weights(h)


def test_large_file_and_stdin_agree_with_the_careful_parser(tmp_path, monkeypatch):
    rng = np.random.default_rng(1)
    counts = rng.integers(0, 1000, 200_000)
    text = "token,count\n" + "".join(f"t{i},{c}\n" for i, c in enumerate(counts))
    path = tmp_path / "big.csv"
    path.write_text(text)
    assert os.path.getsize(path) >= delimited.ARROW_MIN_BYTES
    from_file = sources.read_source(str(path))
    from_stdin = sources.parse_bytes(text.encode(), name="<stdin>", fmt="csv")
    careful = read(text, "csv", False, monkeypatch)
    for h in (from_file, from_stdin):
        assert h.values.tolist() == careful[1] and h.labels == careful[2]
        assert list(h.lines) == careful[3]


def test_a_line_over_the_limit_is_refused_on_the_fast_path(tmp_path, monkeypatch):
    monkeypatch.setattr(delimited, "ARROW_MIN_BYTES", 0)
    monkeypatch.setenv("KLCLI_MAX_LINE_BYTES", "64K")
    path = tmp_path / "long.csv"
    path.write_text("token,count\n" + "a,1\n" * 100 + "b" * 70_000 + ",2\n")
    with pytest.raises(InputError, match="line 102 is 70,002 bytes|line 102 is 68.4 KiB"):
        sources.read_source(str(path))


CELLS = st.sampled_from(["1", "2.5", "0", "-1", "x", "", " 3", "'a'", '"b"', "#c", "nan", "1e3", "tok", "a b", "\u00a0d"])
ROWS = st.lists(st.lists(CELLS, min_size=1, max_size=3), min_size=1, max_size=6)


@settings(max_examples=150, deadline=None)
@given(rows=ROWS, header=st.booleans(), sep=st.sampled_from([",", "\t"]), ending=st.sampled_from(["\n", "\r\n"]))
def test_fast_and_careful_agree_on_generated_tables(rows, header, sep, ending):
    text = ending.join(sep.join(row) for row in ([["token", "count"][: len(rows[0])]] if header else []) + rows) + ending
    fmt = "csv" if sep == "," else "tsv"
    with pytest.MonkeyPatch.context() as monkeypatch:
        fast, careful = read(text, fmt, True, monkeypatch), read(text, fmt, False, monkeypatch)
    assert same(fast, careful), (text, fast, careful)


def test_small_files_do_not_import_pyarrow(tmp_path):
    path = tmp_path / "p.csv"
    path.write_text("token,count\nthe,3\nof,2\n")
    code = "import sys; from klcli.sources import read_source; read_source(sys.argv[1]); print('pyarrow' in sys.modules)"
    env = dict(os.environ, PYTHONPATH=os.path.join(os.path.dirname(__file__), os.pardir, "src"))
    done = subprocess.run([sys.executable, "-c", code, str(path)], capture_output=True, text=True, env=env, check=True)
    assert done.stdout.strip() == "False"
