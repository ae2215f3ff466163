"""Every bad input gets one clear line and exit 2: reader failures, limits, clean stderr, escaping.

The reproducers come from a fuzzing campaign (issue 11); each names the exception the
file used to leak. The fuzz tests at the end keep that campaign in the suite with a
bounded budget: every parser either reads its input or raises a KlcliError.
"""

from __future__ import annotations

import io
import json
import struct
import sys
import zipfile

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from klcli.errors import KlcliError
from tests.conftest import run_cli

FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])


def error_of(*args, input=None) -> str:
    """Run and return the one stderr line: exit 2, no stdout, no traceback, no warning text."""
    result = run_cli(*args, input=input)
    assert result.exit_code == 2, (result.stdout, result.stderr)
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("klcli: error: "), result.stderr
    assert "Error:" not in lines[0] and "Traceback" not in lines[0], lines[0]
    return lines[0]


def write(tmp_path, name: str, content: bytes | str) -> str:
    path = tmp_path / name
    path.write_bytes(content if isinstance(content, bytes) else content.encode())
    return str(path)


def npy_bytes(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, array)
    return buffer.getvalue()


def npy_with_header(header: str, data: bytes = b"") -> bytes:
    text = header.encode("latin1")
    text += b" " * (-(len(text) + 11) % 64) + b"\n"
    return b"\x93NUMPY\x01\x00" + struct.pack("<H", len(text)) + text + data


def npz_bytes(members: dict[str, bytes], compression=zipfile.ZIP_STORED) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=compression) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return buffer.getvalue()


# ---------------------------------------------------------------------------
# One reproducer per exception class that used to leak


def test_parquet_string_column_was_stop_iteration(tmp_path):
    import pandas as pd

    pd.DataFrame({"w": ["0.5", "0.5"]}).to_parquet(tmp_path / "s.parquet")
    line = error_of("compare", tmp_path / "s.parquet", "0.5,0.5")
    assert "column 'w' is a Parquet" in line and "string column; expected numbers" in line


@pytest.mark.parametrize(
    "array, words",
    [
        ("binary", "binary column"),
        ("list", "list<element: double> column"),
        ("struct", "struct<a: double> column"),
    ],
)
def test_parquet_columns_that_hold_no_numbers(tmp_path, array, words):
    import pyarrow as pa
    import pyarrow.parquet as pq

    values = {"binary": pa.array([b"a", b"b"]), "list": pa.array([[1.0], [2.0]]), "struct": pa.array([{"a": 1.0}, {"a": 2.0}])}[array]
    pq.write_table(pa.table({"w": values}), tmp_path / "t.parquet")
    assert words in error_of("compare", tmp_path / "t.parquet", "1,1")
    pq.write_table(pa.table({"label": values, "w": [1.0, 2.0]}), tmp_path / "l.parquet")
    assert f"column 'label' is a Parquet {words}; expected text or numbers as labels" in error_of(
        "compare", tmp_path / "l.parquet", "1,1", "--column", "w"
    )


def test_parquet_decimal_column_is_read_as_numbers(tmp_path):
    import decimal

    import pyarrow as pa
    import pyarrow.parquet as pq

    pq.write_table(pa.table({"w": pa.array([decimal.Decimal("0.25"), decimal.Decimal("0.75")], pa.decimal128(4, 2))}), tmp_path / "d.parquet")
    result = run_cli("compare", tmp_path / "d.parquet", "0.25,0.75", "-f", "json")
    assert result.exit_code == 0, result.stderr
    assert result.json()["kl_pq"] == 0


def test_empty_nested_json_list_was_zero_size_reduction(tmp_path):
    assert "the rows are empty lists" in error_of("compare", write(tmp_path, "p.json", "[[]]"), "1")


def test_json_integer_with_thousands_of_digits_was_int_max_str_digits(tmp_path):
    line = error_of("compare", write(tmp_path, "p.json", "[1" + "0" * 5000 + "]"), "1")
    assert "an integer with 5001 digits is far beyond the float64 range" in line


def test_csv_integer_with_thousands_of_digits_is_an_infinite_weight(tmp_path):
    line = error_of("compare", write(tmp_path, "p.csv", "1" + "0" * 5000 + "\n2\n"), "1,1")
    assert "p.csv: line 1: infinite weight inf (a number beyond about 1.8e308 reads as infinite)" in line


def test_spec_number_beyond_float64_is_said_so():
    line = error_of("compare", "normal(1" + "0" * 5000 + ", 1)", "normal(0,1)")
    assert "the number '100000000000000000000000… (4977 more characters)' is beyond the float64 range" in line
    assert "'1e999' is beyond the float64 range" in error_of("compare", "normal(0, 1e999)", "normal(0,1)")


def test_deeply_nested_json_was_recursion_error(tmp_path):
    line = error_of("compare", write(tmp_path, "p.json", "[" * 100_000 + "]" * 100_000), "1")
    assert "p.json: nested too deeply; expected JSON" in line


def test_deeply_nested_spec_was_recursion_error():
    assert "nested too deeply" in error_of("compare", "normal(" + "[" * 5000 + ")", "1")


def test_truncated_npy_header_was_token_error(tmp_path):
    line = error_of("compare", write(tmp_path, "p.npy", b"\x93NUMPY\x01\x00\x01\x00{"), "1")
    assert "p.npy: a malformed NPY header (it ends before the header does)" in line


def test_npy_header_with_a_bad_descr_was_syntax_error(tmp_path):
    data = npy_with_header("{'descr': ',', 'fortran_order': False, 'shape': (3,), }", b"\0" * 24)
    assert "a malformed NPY header" in error_of("compare", write(tmp_path, "p.npy", data), "1,1,1")


def test_npy_header_claiming_a_huge_shape_was_memory_error(tmp_path):
    data = npy_with_header("{'descr': '<f8', 'fortran_order': False, 'shape': (1099511627776,), }", b"\0" * 24)
    line = error_of("compare", write(tmp_path, "p.npy", data), "1")
    assert "truncated: the header promises 8 TiB of data" in line and "but 24 bytes follow" in line


def test_bare_zip_magic_was_bad_zip_file(tmp_path):
    line = error_of("compare", write(tmp_path, "p.npz", b"PK\x03\x04"), "1")
    assert "p.npz: a truncated or damaged archive" in line and "expected an .npz archive" in line


def test_truncated_npz_archive(tmp_path):
    data = npz_bytes({"a.npy": npy_bytes(np.arange(1000.0))}, zipfile.ZIP_DEFLATED)
    assert "a truncated or damaged archive" in error_of("compare", write(tmp_path, "p.npz", data[: len(data) // 2]), "1")


def test_npz_member_that_is_not_an_array_was_attribute_error(tmp_path):
    line = error_of("compare", write(tmp_path, "p.npz", npz_bytes({"a.txt": b"hello"})), "1")
    assert "member 'a.txt' is not an NPY array" in line


def test_encrypted_npz_member(tmp_path):
    data = bytearray(npz_bytes({"a.npy": npy_bytes(np.ones(3))}))
    data[6] |= 1  # general-purpose flag of the local header
    central = data.index(b"PK\x01\x02")
    data[central + 8] |= 1  # and of the central directory entry
    assert "member 'a' is encrypted (password-protected)" in error_of("compare", write(tmp_path, "p.npz", bytes(data)), "1,1,1")


def test_mixture_without_weights_or_components_was_type_error(tmp_path):
    assert "mixture() is missing parameter 'weights'; e.g. mixture([1, 3], [normal(0, 1), normal(4, 1)])" in error_of("compare", "mixture()", "1")
    assert "mixture() takes at most 2 positional arguments (weights, components), but 3 were given" in error_of("compare", "mixture(1,2,3)", "1")
    spec = write(tmp_path, "m.json", json.dumps({"family": "mixture", "weights": [1]}))
    assert "is missing parameter 'components'" in error_of("compare", spec, "1")


def test_json_spec_with_null_was_silently_nan(tmp_path):
    path = write(tmp_path, "d.json", '{"family": "lognormal", "scale": [null]}')
    assert "Expected parameter scale of lognormal(...) to be a number or a list of numbers, but found null (at index 0)" in error_of(
        "compare", path, "normal(0,1)"
    )


def test_samples_file_starting_with_a_blank_line_was_empty_data_error(tmp_path):
    p = write(tmp_path, "p.csv", "\n0.0")
    q = write(tmp_path, "q.csv", "0.1\n0.2\n")
    assert "p.csv: 1 samples; estimating a divergence needs at least" in error_of("compare", p, q, "--from", "samples")


@pytest.mark.parametrize("samples", [False, True])
def test_non_utf8_text_was_unicode_decode_error(tmp_path, samples):
    path = write(tmp_path, "p.csv", b"a\x80,b\n1,2\n")
    extra = ["--from", "samples"] if samples else []
    line = error_of("compare", path, write(tmp_path, "q.csv", "1\n2\n3\n4\n5\n") if samples else "1,1", *extra)
    assert "p.csv: not UTF-8 text (byte 1 is 0x80); expected" in line


def test_unexpected_errors_are_internal_errors_with_exit_2(monkeypatch):
    import klcli.compare  # noqa: F401

    def broken(*args, **kwargs):
        raise ZeroDivisionError("float division by zero")

    monkeypatch.setattr(sys.modules["klcli.compare"], "compare_sources", broken)
    line = error_of("compare", "1,1", "1,1")
    assert line.startswith("klcli: error: internal error: float division by zero") and "--debug" in line


def test_running_out_of_memory_is_one_line_with_exit_2(monkeypatch):
    import klcli.compare  # noqa: F401

    def huge(*args, **kwargs):
        raise MemoryError("Unable to allocate 8.00 TiB")

    monkeypatch.setattr(sys.modules["klcli.compare"], "compare_sources", huge)
    assert error_of("compare", "1,1", "1,1") == "klcli: error: out of memory: the inputs are too large for this machine's memory"


# ---------------------------------------------------------------------------
# Limits: refused before allocating, raised through the environment


def test_npz_member_decompressed_size_limit(tmp_path, monkeypatch):
    data = npz_bytes({"a.npy": npy_bytes(np.zeros(1 << 17))}, zipfile.ZIP_DEFLATED)  # 1 MiB of zeros in ~1 KiB
    path = write(tmp_path, "bomb.npz", data)
    monkeypatch.setenv("KLCLI_MAX_MEMBER_BYTES", "512K")
    line = error_of("compare", path, "1")
    assert "bomb.npz, member 'a': its decompressed size is 1 MiB, above the limit of 512 KiB" in line
    assert "KLCLI_MAX_MEMBER_BYTES=2M" in line
    monkeypatch.setenv("KLCLI_MAX_MEMBER_BYTES", "2M")
    assert "all weights are zero" in error_of("compare", path, "1")


def test_array_size_limit(tmp_path, monkeypatch):
    path = write(tmp_path, "p.npy", npy_bytes(np.ones(1000, dtype=np.float16)))
    monkeypatch.setenv("KLCLI_MAX_ARRAY_BYTES", "4K")
    line = error_of("compare", path, path)
    assert "an array of shape (1000,) is 7.81 KiB, above the limit of 4 KiB on the size of an array (as float64)" in line
    monkeypatch.setenv("KLCLI_MAX_ARRAY_BYTES", "8K")
    assert run_cli("compare", path, path, "-f", "json").exit_code == 0


def test_line_length_limit(tmp_path, monkeypatch):
    path = write(tmp_path, "p.csv", "1\n" + ",".join(["1.5"] * 1000) + "\n")
    monkeypatch.setenv("KLCLI_MAX_LINE_BYTES", "1K")
    for extra in ([], ["--from", "samples"]):
        line = error_of("compare", path, path, *extra)
        assert "p.csv: line 2 is 3.91 KiB, above the limit of 1 KiB on the length of a line" in line


def test_a_bad_limit_value_is_a_usage_error(tmp_path, monkeypatch):
    monkeypatch.setenv("KLCLI_MAX_LINE_BYTES", "lots")
    path = write(tmp_path, "p.csv", "1\n" * 600)
    assert "KLCLI_MAX_LINE_BYTES must be a positive size in bytes such as 2G or 4096, not 'lots'" in error_of("compare", path, path)


# ---------------------------------------------------------------------------
# Clean stderr and escaped text


def test_weights_near_the_float64_limit_give_an_error_without_warning_text(tmp_path):
    np.save(tmp_path / "p.npy", np.array([1e308, 1e308, 1.0]))
    assert "the weights sum beyond the float64 range" in error_of("compare", tmp_path / "p.npy", "1,1,1")


def test_logits_near_the_float64_limit_are_computed_without_warning_text(tmp_path):
    np.save(tmp_path / "p.npy", np.array([[1e308, -1e308, 2.0], [1.0, 2.0, 3.0]]))
    np.save(tmp_path / "q.npy", np.array([[1.0, 1.0, 2.0], [1.0, 2.0, 3.0]]))
    result = run_cli("compare", tmp_path / "p.npy", tmp_path / "q.npy", "--from", "logits", "-f", "json")
    assert result.exit_code == 0 and result.stderr == ""
    assert result.json()["kl_qp"] == "inf"  # P puts mass 0 (exactly) where Q does not


def test_a_temperature_that_overflows_the_logits_is_an_error():
    assert "logits divided by the temperature 1e-300 overflow float64; use a larger --temperature" in error_of(
        "compare", "1e10,2", "2,1", "--from", "logits", "-T", "1e-300"
    )


def test_samples_near_the_float64_limit_are_refused_by_the_knn_estimator(tmp_path):
    p = write(tmp_path, "p.csv", "1e308\n-1e308\n1\n2\n3\n4\n5.5\n")
    q = write(tmp_path, "q.csv", "0.5\n1\n2\n3\n4\n5\n")
    assert "p.csv: a value of magnitude 1e+308 is beyond the estimators' range" in error_of("compare", p, q, "--from", "samples")


def test_numpy_warnings_become_one_klcli_warning_line():
    result = run_cli("compare", "normal(0,1e308)", "normal(0,1)", "-f", "json")
    assert result.exit_code == 0
    assert result.stderr == "klcli: warning: numerical overflow in a computation; a value may be inaccurate or infinite (--debug shows where)\n"


def test_control_characters_are_escaped_in_error_lines(tmp_path):
    path = write(tmp_path, "x\x1b[2Jy.json", '{"a": 1}')
    line = error_of("compare", path, "1,2")
    assert "\x1b" not in line and "x\\x1b[2Jy.json is a labelled histogram" in line


def test_control_characters_are_escaped_in_tables(tmp_path):
    p = write(tmp_path, "p\x07.json", '{"a\\u001b[31mred\\u202e": 1, "b": 1}')
    q = write(tmp_path, "q.json", '{"a\\u001b[31mred\\u202e": 0, "b": 1}')
    result = run_cli("compare", p, q)
    assert result.exit_code == 0, result.stderr
    assert "\x1b" not in result.stdout and "\x07" not in result.stdout and "\u202e" not in result.stdout
    assert "a\\x1b[31mred\\u202e" in result.stdout and "p\\x07.json" in result.stdout
    assert json.loads(run_cli("compare", p, q, "-f", "json").stdout)["p"] == p  # machine formats keep the data as it is


def test_control_characters_are_escaped_in_batch_threshold_lines(tmp_path):
    reference = write(tmp_path, "ref.csv", "1\n0\n")
    path = write(tmp_path, "a\x1b[2J.csv", "0\n1\n")
    result = run_cli("batch", "-r", reference, path, "--fail-above", "0.1", "--metric", "js", "-f", "json")
    assert result.exit_code == 1
    assert "\x1b" not in result.stderr and "a\\x1b[2J.csv" in result.stderr


def test_long_values_are_cut_in_error_lines():
    line = error_of("compare", "x" * 10_000, "1")
    assert len(line) < 2100 and "more characters)" in line


# ---------------------------------------------------------------------------
# Exit codes of the boundary itself


def test_completion_variable_is_refused_with_exit_2(monkeypatch):
    """A value that is not one of typer's completion requests is a mistake (real completion: test_conventions)."""
    monkeypatch.setenv("_KLCLI_COMPLETE", "bash_complete")
    assert error_of("compare", "1", "1") == (
        "klcli: error: _KLCLI_COMPLETE='bash_complete' is not a shell completion request; unset _KLCLI_COMPLETE "
        "(completion is set up with klcli --install-completion)"
    )


def test_debug_errors_exit_2_with_the_traceback(capsys):
    from klcli.cli import app

    assert app(["--debug", "compare"], standalone_mode=False) == 2
    err = capsys.readouterr().err
    assert "Traceback" in err and err.strip().splitlines()[-1] == "klcli: error: missing P and Q: give two sources, or --stream"


# ---------------------------------------------------------------------------
# Bounded fuzzing: each parser reads its input or raises a KlcliError


def _mutations(valid: bytes):
    """Truncations, byte flips and insertions of a valid file."""
    flip = st.tuples(st.integers(0, max(len(valid) - 1, 0)), st.integers(1, 255)).map(
        lambda t: valid[: t[0]] + bytes([valid[t[0]] ^ t[1]]) + valid[t[0] + 1 :] if valid else valid
    )
    cut = st.integers(0, len(valid)).map(lambda n: valid[:n])
    insert = st.tuples(st.integers(0, len(valid)), st.binary(min_size=1, max_size=8)).map(lambda t: valid[: t[0]] + t[1] + valid[t[0] :])
    return st.one_of(flip, cut, insert, st.binary(max_size=64))


def _reads_or_refuses(call) -> None:
    try:
        call()
    except KlcliError:
        pass


_VALID_NPY = npy_bytes(np.array([[0.25, 0.75], [0.5, 0.5]]))
_VALID_NPZ = npz_bytes({"a.npy": _VALID_NPY}, zipfile.ZIP_DEFLATED)


@FUZZ
@given(data=_mutations(_VALID_NPY))
def test_fuzz_npy(data):
    from klcli.sources import parse_bytes

    _reads_or_refuses(lambda: parse_bytes(data, name="f.npy", fmt="npy"))


@FUZZ
@given(data=_mutations(_VALID_NPZ))
def test_fuzz_npz(data):
    from klcli.sources import parse_bytes

    _reads_or_refuses(lambda: parse_bytes(data, name="f.npz", fmt="npz"))


def _valid_parquet() -> bytes:
    import pyarrow as pa
    import pyarrow.parquet as pq

    buffer = io.BytesIO()
    pq.write_table(pa.table({"label": ["a", "b"], "w": [1.0, 2.0]}), buffer)
    return buffer.getvalue()


@FUZZ
@given(data=_mutations(_valid_parquet()))
def test_fuzz_parquet(data):
    from klcli.sources import parse_bytes

    _reads_or_refuses(lambda: parse_bytes(data, name="f.parquet", fmt="parquet"))


def _tokens(tokens: list[str], max_size: int):
    return st.lists(st.sampled_from(tokens), max_size=max_size).map("".join)


_TEXT = _tokens(list("0123456789.,-+eE \t\n\r#\"'[]{}:nailfx") + ["\x00", "\x1b", "é", "\udc80", "null", "true", "1" * 400], 60)


@FUZZ
@given(text=_TEXT, fmt=st.sampled_from(["csv", "tsv", "txt", "json"]))
def test_fuzz_text_formats(text, fmt):
    from klcli.sources import parse_bytes

    _reads_or_refuses(lambda: parse_bytes(text.encode("utf-8", "surrogatepass"), name="f", fmt=fmt))


@FUZZ
@given(data=st.binary(max_size=40), fmt=st.sampled_from(["csv", "json"]))
def test_fuzz_text_bytes(data, fmt):
    from klcli.sources import parse_bytes

    _reads_or_refuses(lambda: parse_bytes(data, name="f", fmt=fmt))


@FUZZ
@given(text=_tokens(list("()[],= .-+e0123456789") + ["normal", "mixture", "categorical", "mvn", "loc", "scale", "probs", "inf", "nan", "x"], 40))
def test_fuzz_spec_parser(text):
    from klcli.specs import parse_spec

    _reads_or_refuses(lambda: parse_spec(text))


_JSON_VALUE = st.recursive(
    st.none() | st.booleans() | st.floats(allow_nan=False) | st.integers() | st.text(max_size=3),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=3), inner, max_size=3),
    max_leaves=8,
)


@FUZZ
@given(
    family=st.sampled_from(["normal", "lognormal", "mixture", "categorical", "mvn", "dirichlet", "nope", 3]),
    params=st.dictionaries(
        st.sampled_from(["loc", "scale", "probs", "weights", "components", "covariance_matrix", "concentration", "x"]), _JSON_VALUE, max_size=3
    ),
)
def test_fuzz_json_specs(family, params):
    from klcli.specs import spec_from_mapping

    _reads_or_refuses(lambda: spec_from_mapping({"family": family, **params}))


@FUZZ
@given(text=_TEXT)
def test_fuzz_samples_text(tmp_path, text):
    from klcli.samples import read_samples

    path = tmp_path / "s.csv"
    path.write_bytes(text.encode("utf-8", "surrogatepass"))
    _reads_or_refuses(lambda: read_samples(path))


# ---------------------------------------------------------------------------
# The reader map itself: every exception class it knows, in words


@pytest.mark.parametrize(
    "error, words",
    [
        (UnicodeDecodeError("utf-8", b"ab\xff", 2, 3, "invalid start byte"), "not UTF-8 text (byte 2 is 0xff)"),
        (zipfile.BadZipFile("Bad CRC-32 for file 'a.npy'"), "a truncated or damaged archive (Bad CRC-32 for file 'a.npy')"),
        (__import__("zlib").error("Error -3 while decompressing data"), "a truncated or damaged archive"),
        (EOFError(), "truncated: the data ends early"),
        (RuntimeError("File 'a.npy' is encrypted, password required for extraction"), "encrypted (password-protected)"),
        (NotImplementedError("That compression method is not supported"), "written with a feature klcli cannot read"),
        (MemoryError(), "too large to read into memory"),
        (RecursionError("maximum recursion depth exceeded"), "nested too deeply"),
        (__import__("tokenize").TokenError("EOF in multi-line statement", (2, 0)), "a malformed header"),
        (SyntaxError("invalid syntax"), "a malformed header"),
        (FileNotFoundError(2, "No such file or directory"), "cannot be read (No such file or directory)"),
        (ValueError("Exceeds the limit (4300 digits) for integer string conversion"), "an integer with thousands of digits"),
        (StopIteration(), "holds no data"),
        (AttributeError("'bytes' object has no attribute 'dtype'"), "cannot be read ('bytes' object has no attribute 'dtype')"),
    ],
)
def test_reader_map_says_each_failure_in_words(error, words):
    from klcli.errors import InputError
    from klcli.reading import reading

    with pytest.raises(InputError) as raised, reading("f.dat", "an example"):
        raise error
    message = str(raised.value)
    assert message.startswith("f.dat: ") and words in message and message.endswith("; expected an example")
    assert raised.value.__cause__ is error  # --debug shows where it came from
