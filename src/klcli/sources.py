"""Sources: turn what the user typed (``-``, a path, a spec, ``0.1,0.9``) into data.

A source is resolved in the order SPEC.md gives: standard input, an existing
file, a distribution spec ``family(args)``, inline numbers. Files are read
into a :class:`Histogram` that remembers where every row came from, so that a
bad weight is reported as ``counts.csv: line 7: negative weight -3``.

>>> h = read_source("0.2, 0.3, 0.5")
>>> h.values.tolist(), h.labels, h.kind
([0.2, 0.3, 0.5], None, 'inline')
"""

from __future__ import annotations

import io
import itertools
import json
import math
import os
import re
import sys
import warnings
from dataclasses import dataclass, field
from typing import Any, Protocol, cast

import numpy as np

from klcli import delimited
from klcli.errors import InputError, UsageError
from klcli.reading import check_line_length, reading

INPUT_FORMATS = ("csv", "tsv", "txt", "json", "npy", "npz", "parquet")
DELIMITERS = {"csv": ",", "tsv": "\t", "txt": None}
EXTENSIONS = {
    ".csv": "csv",
    ".tsv": "tsv",
    ".tab": "tsv",
    ".txt": "txt",
    ".json": "json",
    ".npy": "npy",
    ".npz": "npz",
    ".parquet": "parquet",
    ".pq": "parquet",
}

#: Header names that mark the first of two numeric columns as labels (``bin,count``).
LABEL_HEADERS = {"label", "labels", "category", "categories", "bin", "bins", "key", "name", "class", "token", "id", "value"}

_INLINE = re.compile(r"^\s*\[?\s*[-+0-9.eE\s,;\[\]]+\]?\s*$|^\s*[-+]?inf")
_SPEC = re.compile(r"^\s*[A-Za-z_][A-Za-z0-9_-]*\s*\(")  # half-normal(2) is a spec too


@dataclass
class Histogram:
    """Numbers read from one source, before they are interpreted as weights.

    ``values`` is 1-D (one distribution) or 2-D (a batch, one per row);
    ``labels`` names the bins of a labelled histogram; ``lines`` gives the
    1-based line (or row) each entry came from, for error messages.
    """

    values: np.ndarray
    name: str
    kind: str
    labels: list[str] | None = None
    lines: np.ndarray | None = None
    notes: list[str] = field(default_factory=list)

    def where(self, index: tuple[int, ...]) -> str:
        """Describe the position of ``values[index]`` for an error message."""
        if self.labels is not None:
            return f"label {self.labels[index[-1]]!r}" + (f" (line {self.lines[index[-1]]})" if self.lines is not None else "")
        if self.lines is not None and self.values.ndim == 1:
            return f"line {self.lines[index[0]]}"
        if self.values.ndim == 2:
            return f"row {index[0]}, column {index[1]}"
        return f"index {index[0]}"


def read_source(
    text: str,
    *,
    role: str = "P",
    input_format: str | None = None,
    column: str | None = None,
    key: str | None = None,
    stdin=None,
):
    """Resolve ``text`` to a :class:`Histogram` or a distribution.

    ``role`` (``P``, ``Q``, a file name...) prefixes error messages.
    """
    if input_format is not None and input_format not in INPUT_FORMATS:
        raise UsageError(f"`--input-format` must be one of {', '.join(INPUT_FORMATS)}, not {input_format!r}")
    if text == "-":
        data = (stdin or sys.stdin.buffer).read()
        return parse_bytes(data, name="<stdin>", fmt=input_format or sniff_format(data), column=column, key=key)
    if text.lower().endswith(".safetensors") or (":" in text and not os.path.exists(text)):
        tensor = _read_tensor(text, key)  # file.safetensors[:NAME], file.npz:NAME
        if tensor is not None:
            return tensor
    if os.path.isfile(text):
        if _SPEC.match(text) or _INLINE.match(text):  # a file shadows a spec or numbers: say so (./NAME is quiet)
            what = "a distribution spec" if _SPEC.match(text) else "numbers"
            warnings.warn(
                f"{role}: {text!r} is a file in the working directory and was read as such, not as {what} (write ./{text} to mean the file)",
                UserWarning,
                stacklevel=2,
            )
        fmt = input_format or EXTENSIONS.get(os.path.splitext(text)[1].lower())
        if fmt is None:
            with reading(text, "a readable file"), open(text, "rb") as handle:
                fmt = sniff_format(handle.read(512))
        return read_file(text, fmt=fmt, column=column, key=key)
    if os.path.isdir(text):
        raise InputError(f"{role}: {text!r} is a directory, not a file")
    path, colon, member = text.rpartition(":")
    if colon and member and os.path.isfile(path) and EXTENSIONS.get(os.path.splitext(path)[1].lower()) == "npz":
        if key is not None and key != member:
            raise UsageError(f"{role}: {text!r} names the array {member!r} but --key says {key!r}")
        return read_file(path, fmt="npz", column=column, key=member)
    if _SPEC.match(text):
        from klcli.specs import parse_spec

        return parse_spec(text)
    if _INLINE.match(text) and any(ch.isdigit() for ch in text):
        return parse_inline(text, role=role)
    raise InputError(f"{role}: {text!r} is not a file (no such file), a distribution spec like normal(0,1), or a list of numbers like 0.2,0.8")


def parse_inline(text: str, *, role: str = "P") -> Histogram:
    """Numbers separated by commas or spaces; ``;`` separates the rows of a batch.

    >>> parse_inline("[0.1, 0.9]; [0.5, 0.5]").values.tolist()
    [[0.1, 0.9], [0.5, 0.5]]
    """
    rows = [r for r in text.replace("[", " ").replace("]", " ").split(";") if r.strip()]
    parsed = []
    for row in rows:
        cells = re.split(r"\s*,\s*|\s+", row.strip())
        if "" in cells:
            raise InputError(f"{role}: {text!r} has an empty value between commas (or a comma at an end); write every number")
        numbers = []
        for c in cells:
            try:
                numbers.append(float(c))
            except ValueError:
                raise InputError(f"{role}: {c!r} in {text!r} is not a number") from None
        parsed.append(numbers)
    if not parsed or not parsed[0]:
        raise InputError(f"{role}: {text!r} holds no numbers")
    if len({len(r) for r in parsed}) > 1:
        raise InputError(f"{role}: the rows of {text!r} have different lengths {[len(r) for r in parsed]}")
    values = np.array(parsed[0] if len(parsed) == 1 else parsed, dtype=np.float64)
    return Histogram(values, name=text, kind="inline")


# ---------------------------------------------------------------------------
# Files and bytes


def sniff_format(data: bytes) -> str:
    """Guess a format from the first bytes: NPY, NPZ (zip), Parquet, JSON or text.

    >>> sniff_format(b"\\x93NUMPY..."), sniff_format(b' [1, 2]'), sniff_format(b"a\\tb\\n")
    ('npy', 'json', 'tsv')
    """
    if data.startswith(b"\x93NUMPY"):
        return "npy"
    if data.startswith(b"PK\x03\x04"):
        return "npz"
    if data.startswith(b"PAR1"):
        return "parquet"
    head = data[:4096].lstrip(b"\xef\xbb\xbf \t\r\n")
    if head[:1] in (b"[", b"{"):
        return "json"
    first_line = head.split(b"\n", 1)[0]
    if b"\t" in first_line:
        return "tsv"
    if b"," in first_line:
        return "csv"
    return "txt"


def read_file(path: str, *, fmt: str, column: str | None = None, key: str | None = None) -> Histogram:
    """Read one file of a known format."""
    try:
        if fmt in DELIMITERS and os.path.getsize(path) >= delimited.ARROW_MIN_BYTES:
            fast = _read_delimited_fast(path, name=path, fmt=fmt, column=column)
            if fast is not None:
                return fast
        if fmt == "parquet":
            return _read_parquet(path, column=column)
        if fmt in ("npy", "npz"):  # straight from the file: no copy of the bytes
            return _read_numpy(path, name=path, fmt=fmt, key=key)
        with open(path, "rb") as handle:
            data = handle.read()
    except OSError as error:
        raise InputError(f"{path}: cannot read: {error.strerror or error}") from None
    return parse_bytes(data, name=path, fmt=fmt, column=column, key=key)


def parse_bytes(data: bytes, *, name: str, fmt: str, column: str | None = None, key: str | None = None):
    """Parse the bytes of a source in format ``fmt``."""
    if not data.strip():
        raise InputError(f"{name}: empty file")
    if fmt in ("npy", "npz"):
        return _read_numpy(data, name=name, fmt=fmt, key=key)
    if fmt == "parquet":
        return _read_parquet(io.BytesIO(data), column=column, name=name)
    if fmt in DELIMITERS and len(data) >= delimited.ARROW_MIN_BYTES:
        fast = _read_delimited_fast(data, name=name, fmt=fmt, column=column)
        if fast is not None:
            return fast
    expected = "JSON: a list of numbers or an object {label: weight}" if fmt == "json" else _TEXT_EXPECTED
    check_line_length(data, name)
    with reading(name, expected):
        text = data.decode("utf-8-sig")
        if fmt == "json":
            return _read_json(text, name=name)
        return _read_delimited(text, name=name, delimiter=DELIMITERS.get(fmt), column=column)


_TEXT_EXPECTED = "UTF-8 text with one weight per line, or label,weight columns"


def _read_delimited_fast(source: str | bytes, *, name: str, fmt: str, column: str | None) -> Histogram | None:
    """Large text through pyarrow's parser (:func:`klcli.delimited.read_columns`), or None for the careful one."""
    with reading(name, _TEXT_EXPECTED):
        read = delimited.read_columns(source, delimiter=DELIMITERS[fmt])
    if read is None:
        return None
    header, columns, lines = read
    return _histogram_from_columns(header, columns, lines, name=name, kind="csv", column=column, row_word="line")


def _read_json(text: str, *, name: str):
    def no_duplicates(pairs):
        seen = {}
        for k, v in pairs:
            if k in seen:
                raise InputError(f"{name}: duplicate key {k!r} in JSON object")
            seen[k] = v
        return seen

    def no_constants(token):
        raise InputError(f"{name}: {token} is not valid JSON (write numbers only, or null-free data)")

    def float_integer(digits):
        if len(digits) > 400:  # beyond float64 either way; int() refuses beyond 4300 digits
            raise InputError(f"{name}: an integer with {len(digits)} digits is far beyond the float64 range (about 1.8e308)")
        return float(digits)

    try:
        obj = json.loads(text, object_pairs_hook=no_duplicates, parse_constant=no_constants, parse_int=float_integer)
    except json.JSONDecodeError as error:
        raise InputError(f"{name}: malformed JSON at line {error.lineno}, column {error.colno}: {error.msg}") from None
    if isinstance(obj, dict) and "family" in obj:
        from klcli.specs import spec_from_mapping

        return spec_from_mapping(obj)
    if isinstance(obj, dict):
        if not obj:
            raise InputError(f"{name}: empty JSON object")
        labels = list(obj)
        values: list[Any] = [_json_number(obj[k], name, f"key {k!r}") for k in labels]
        return Histogram(np.array(values, dtype=np.float64), name=name, kind="json", labels=labels)
    if isinstance(obj, list):
        if not obj:
            raise InputError(f"{name}: empty JSON list")
        if all(isinstance(row, list) for row in obj):
            lengths = {len(row) for row in obj}
            if len(lengths) > 1:
                raise InputError(f"{name}: ragged rows: the lists have lengths {sorted(lengths)}")
            if lengths == {0}:
                raise InputError(f"{name}: the rows are empty lists; expected a list of numbers, or a list of rows of numbers")
            values = [[_json_number(v, name, f"row {i}, column {j}") for j, v in enumerate(row)] for i, row in enumerate(obj)]
        else:
            values = [_json_number(v, name, f"index {i}") for i, v in enumerate(obj)]
        return Histogram(np.array(values, dtype=np.float64), name=name, kind="json")
    raise InputError(f"{name}: expected a JSON list of numbers or an object {{label: weight}}, got {type(obj).__name__}")


def _json_number(value: Any, name: str, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise InputError(f"{name}: {where}: {value!r} is not a number")
    return float(value)


def _read_numpy(source: bytes | str, *, name: str, fmt: str, key: str | None):
    """Read an NPY/NPZ array from bytes or from a path (never unpickling)."""
    from klcli.npyio import load

    array = load(source, name=name, key=key)
    if not (np.issubdtype(array.dtype, np.number) or array.dtype == np.bool_) or np.iscomplexobj(array):
        raise InputError(f"{name}: expected a real numeric array, got dtype {array.dtype}")
    if array.ndim not in (1, 2):
        raise InputError(f"{name}: expected a 1-D histogram or a 2-D batch (one per row), got shape {array.shape}")
    if array.size == 0:
        raise InputError(f"{name}: empty array")
    return Histogram(np.asarray(array, dtype=np.float64), name=name, kind=fmt)


def _read_tensor(text: str, key: str | None) -> Histogram | None:
    """A whole tensor named like ``file.safetensors:NAME`` as a histogram (3-D: rows over two axes)."""
    from klcli.tensors import open_tensor, read_array

    tensor = open_tensor(text, key)
    if tensor is None:
        return None
    if not 1 <= len(tensor.shape) <= 3 or 0 in tensor.shape:
        raise InputError(f"{tensor.name}: expected a 1-D histogram or a 2-D/3-D batch (one per row), got shape {tensor.shape}")
    values = read_array(tensor, np.float64)
    return Histogram(values.reshape(-1, tensor.width) if values.ndim == 3 else values, name=tensor.name, kind="tensor")


def _read_parquet(source, *, column: str | None, name: str | None = None) -> Histogram:
    name = name or str(source)
    with reading(name, "a Parquet table"):  # names and types are decoded lazily: they fail here too
        import pyarrow.parquet as pq

        table = pq.read_table(source)
        if table.num_rows == 0 or table.num_columns == 0:
            raise InputError(f"{name}: empty table")
        header = [str(c) for c in table.column_names]
        columns, types = [], {}
        for i, chunked in enumerate(table.columns):
            values = arrow_column(chunked)
            if values is None or values.dtype == object:
                types[i] = f"a Parquet {chunked.type} column"
            columns.append(np.full(table.num_rows, "", dtype=object) if values is None else values)
    lines = np.arange(1, table.num_rows + 1)
    return _histogram_from_columns(header, columns, lines, name=name, kind="parquet", column=column, row_word="row", types=types)


def arrow_column(chunked) -> np.ndarray | None:
    """A pyarrow column as float64 (numbers, booleans, decimals; null is NaN), as text, or None.

    Text (string or dictionary-encoded string) comes back as an object array of
    ``str`` (null is ``""``); a binary, list, struct, map, date... column as None:
    it is neither weights nor labels.
    """
    import pyarrow as pa

    kind = chunked.type
    if pa.types.is_dictionary(kind):
        kind = kind.value_type
        chunked = chunked.cast(kind)
    if pa.types.is_integer(kind) or pa.types.is_floating(kind) or pa.types.is_decimal(kind) or pa.types.is_boolean(kind):
        return chunked.cast(pa.float64()).to_numpy()
    if pa.types.is_string(kind) or pa.types.is_large_string(kind):
        return np.array(chunked.fill_null("").to_pylist(), dtype=object)
    return None


# ---------------------------------------------------------------------------
# Delimited text


def _read_delimited(text: str, *, name: str, delimiter: str | None, column: str | None) -> Histogram:
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    fast = _single_column_fast(text)
    if fast is not None:
        values, lines, header = fast
        if column is not None and column not in (header, "0"):
            raise InputError(f"{name}: no column {column!r} (it has {header or 'one unnamed column'})")
        return Histogram(values, name=name, kind="csv", lines=lines)
    numbered = [(i + 1, line) for i, line in enumerate(text.split("\n")) if not delimited.is_comment(line)]
    if not numbered:
        raise InputError(f"{name}: empty file")
    if delimiter is None:  # .txt: commas, tabs or runs of spaces
        delimiter = delimited.txt_delimiter(numbered[0][1])
    unquote = delimited.unquote
    rows = [[unquote(c) for c in (line.split(delimiter) if delimiter else line.split())] for _, line in numbered]
    width = len(rows[-1])
    for (line_no, _), row in zip(numbered, rows):
        if len(row) != width:
            raise InputError(f"{name}: line {line_no}: ragged row with {len(row)} cells where the others have {width}")
    header = None
    if delimited.is_header(rows[0]):
        header, rows, numbered = rows[0], rows[1:], numbered[1:]
        if not rows:
            raise InputError(f"{name}: a header but no data rows")
    lines = np.array([n for n, _ in numbered])
    columns = [_column_values(col) for col in zip(*rows)]
    return _histogram_from_columns(header, columns, lines, name=name, kind="csv", column=column, row_word="line")


def _single_column_fast(text: str):
    """Parse one number per line (optionally under a one-word header) quickly.

    Returns ``(values, lines, header)``, or None when the text is anything
    else, or holds a bad cell for the careful parser to find and report.
    """
    head = text[:4096]
    if "," in head or "\t" in head or "#" in head:
        return None
    body = text.strip("\n")
    header = None
    first, _, rest = body.partition("\n")
    first = first.strip()
    if not delimited.NUMBER.match(first):
        if " " in first or not first or first.lower() in ("nan", "inf", "-inf", "+inf"):
            return None
        header, body = first, rest
    if not body or "\n\n" in body or " " in body.strip():
        return None
    n_lines = body.count("\n") + 1
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # numpy warns when it stops at a bad cell
        values = _parse_numbers(body)
    if values is None or values.size != n_lines or not np.isfinite(values).all():
        return None
    offset = len(text) - len(text.lstrip("\n")) + (2 if header is not None else 1)
    return values, np.arange(offset, offset + n_lines), header


def _parse_numbers(body: str) -> np.ndarray | None:
    """Whitespace-separated numbers as float64, or None if a cell is not a number.

    Counts (integers only) take a parser about five times faster than the
    float one.

    >>> _parse_numbers("3\\n0\\n12").tolist(), _parse_numbers("0.5\\n2").tolist(), _parse_numbers("1\\n2x")
    ([3.0, 0.0, 12.0], [0.5, 2.0], None)
    """
    try:
        if not any(ch in body for ch in ".eEnNiI"):
            counts = np.fromstring(body, dtype=np.int64, sep=" ")
            # int64 saturates on overflow: leave such numbers to the float parser
            if counts.size and np.abs(counts).max() < _INT_EXACT:
                return counts.astype(np.float64)
        return np.fromstring(body, dtype=np.float64, sep=" ")
    except ValueError:  # a cell that is not a number
        return None


#: Integers below this convert to float64 exactly (2**53).
_INT_EXACT = 1 << 53


def _column_values(cells: tuple[str, ...]) -> np.ndarray:
    """A float array when every cell is a number, else the cells as an object array."""
    try:
        return np.array(cells, dtype=np.float64)
    except ValueError:
        return np.array(cells, dtype=object)


def _histogram_from_columns(
    header, columns, lines, *, name: str, kind: str, column: str | None, row_word: str, types: dict[int, str] | None = None
) -> Histogram:
    """Pick the weight column (and the label column) of a parsed table.

    ``types`` describes the typed columns (Parquet) that hold no numbers, by index.
    """
    names = list(header) if header is not None else [str(i) for i in range(len(columns))]
    numeric = [i for i, c in enumerate(columns) if c.dtype != object]
    labels = None
    if column is not None:
        if column in names:
            index = names.index(column)
        else:
            raise InputError(f"{name}: no column {column!r} (columns: {', '.join(names)})")
        if index != 0 and columns[0].dtype == object:
            labels = _label_list(columns[0])
    elif len(columns) == 1:
        index = 0
    elif len(columns) == 2 and (columns[0].dtype == object or names[0].strip().lower() in LABEL_HEADERS):
        index = 1
        labels = _label_list(columns[0])
    elif len(numeric) == 1 and len(columns) == 2:
        index = numeric[0]
    else:
        candidates = [names[i] for i in numeric] or names
        raise InputError(f"{name}: has several columns ({', '.join(candidates)}): choose the weights with --column NAME")
    values = columns[index]
    shown = names[index] if header is not None else f"{index + 1}"
    types = types or {}
    if index in types:
        raise InputError(f"{name}: column {shown!r} is {types[index]}; expected numbers (integers, floats or decimals) as weights")
    if labels is not None and 0 in types and "string" not in types[0]:
        raise InputError(f"{name}: column {names[0]!r} is {types[0]}; expected text or numbers as labels")
    if values.dtype == object:
        bad = next((i for i, v in enumerate(values) if not is_number(v)), None)
        if bad is None:  # every cell reads as a number on its own, but not the column as a whole
            raise InputError(f"{name}: column {shown!r} holds numbers written as text; expected a numeric column of weights")
        raise InputError(
            f"{name}: {row_word} {lines[bad]}, column {shown}: {values[bad]!r} is not a number"
            if values[bad] != ""
            else f"{name}: {row_word} {lines[bad]}, column {shown}: empty cell"
        )
    if labels is not None:
        if isinstance(labels, delimited.Labels):
            duplicates = labels.duplicates()
        elif len(labels) < 10_000:
            duplicates = sorted({label for label in labels if labels.count(label) > 1})
        else:
            duplicates = [] if len(set(labels)) == len(labels) else ["(several)"]
        if duplicates:
            shown = duplicates[0] if len(labels) < 10_000 else "(several)"
            raise InputError(f"{name}: label {shown!r} appears more than once")
    # a delimited.Labels stands in for the list of labels (a read-only sequence of str that compares as one)
    return Histogram(np.asarray(values, dtype=np.float64), name=name, kind=kind, labels=cast("list[str] | None", labels), lines=lines)


def is_number(value: Any) -> bool:
    """True when ``float(value)`` succeeds (``"1e3"``, ``" 2 "``, ``"nan"``...).

    >>> is_number("1e-3"), is_number("x"), is_number(None)
    (True, False, False)
    """
    try:
        float(value)
        return True
    except (TypeError, ValueError):
        return False


def _label_list(column) -> list[str] | delimited.Labels:
    """The labels of a column: text as it is, numbers as :func:`_label` writes them."""
    if isinstance(column, delimited.Labels):
        return column
    if column.dtype == object:
        return [str(v) for v in column]
    return [_label(v) for v in column]


def _label(value: Any) -> str:
    """Labels as text; ``1.0`` read from a numeric column reads back as ``1``."""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


# ---------------------------------------------------------------------------
# From numbers to probabilities


def check_weights(h: Histogram) -> np.ndarray:
    """Raise an :class:`InputError` naming the file and row of a bad weight.

    Returns the sum of each row (of the whole histogram when it is 1-D), kept as a last axis.
    """
    values = h.values
    with np.errstate(over="ignore"):  # an overflowing sum is reported below
        totals = values.sum(axis=-1, keepdims=True)
    if not (values.min() >= 0 and np.isfinite(totals).all()):  # two reductions when all is well
        bad = ~np.isfinite(values) | (values < 0)
        if bad.any():
            index = tuple(int(i) for i in np.argwhere(bad)[0])
            value = values[index]
            kind = "NaN" if math.isnan(value) else "infinite" if math.isinf(value) else "negative"
            hint = " (a number beyond about 1.8e308 reads as infinite)" if kind == "infinite" else ""
            raise InputError(f"{h.name}: {h.where(index)}: {kind} weight {_show(value)}{hint}")
        raise InputError(f"{h.name}: the weights sum beyond the float64 range (about 1.8e308); divide them by a common factor")
    if (totals == 0).any():
        where = f" (row {int(np.argmax(totals.ravel() == 0))})" if values.ndim == 2 else ""
        raise InputError(f"{h.name}: all weights are zero{where}: it is not a distribution")
    return totals


def _show(value: float) -> str:
    return repr(float(value)).replace("nan", "NaN")


class Binned(Protocol):
    """What :func:`align` reads: a :class:`Histogram`, or a prepared side of one."""

    values: np.ndarray
    labels: list[str] | None
    name: str


def align(p: Binned, q: Binned) -> tuple[np.ndarray, np.ndarray, list[str] | None]:
    """Put two histograms on the same bins: by label (union) or by position.

    >>> a = Histogram(np.array([1.0, 2.0]), "a", "json", labels=["x", "y"])
    >>> b = Histogram(np.array([3.0]), "b", "json", labels=["z"])
    >>> [v.tolist() for v in align(a, b)[:2]], align(a, b)[2]
    ([[1.0, 2.0, 0.0], [0.0, 0.0, 3.0]], ['x', 'y', 'z'])
    """
    if (p.labels is None) != (q.labels is None):
        labelled, positional = (p, q) if p.labels is not None else (q, p)
        raise InputError(f"{labelled.name} is a labelled histogram but {positional.name} is positional: give labels to both, or to neither")
    if p.labels is None:
        if p.values.shape[-1] != q.values.shape[-1]:
            raise InputError(
                f"{p.name} has {p.values.shape[-1]} bins but {q.name} has {q.values.shape[-1]}: positional histograms must have the same length"
            )
        if p.values.ndim == 2 and q.values.ndim == 2 and p.values.shape[0] != q.values.shape[0]:
            raise InputError(f"{p.name} has {p.values.shape[0]} rows but {q.name} has {q.values.shape[0]}")
        return p.values, q.values, None
    if p.labels == q.labels:
        return p.values, q.values, p.labels
    labels, q_index = union_labels(p.labels, q.labels)
    pv = np.zeros(p.values.shape[:-1] + (len(labels),))
    qv = np.zeros(q.values.shape[:-1] + (len(labels),))
    pv[..., : len(p.labels)] = p.values
    qv[..., q_index] = q.values
    return pv, qv, labels


def union_labels(first, second) -> tuple[list[str], np.ndarray]:
    """The labels of ``first`` then those of ``second`` not in it, and where each of ``second`` went.

    The loops run in C (``dict``, ``map``); labels read by pyarrow are
    joined by its hash table instead (:class:`klcli.delimited.Labels`).

    >>> labels, index = union_labels(["a", "b"], ["c", "a"])
    >>> labels, index.tolist()
    (['a', 'b', 'c'], [2, 0])
    """
    if isinstance(first, delimited.Labels) and isinstance(second, delimited.Labels):
        return cast("tuple[list[str], np.ndarray]", delimited.union_labels(first, second))  # Labels stand in for a list
    position = dict(zip(first, range(len(first))))
    index = np.fromiter(map(position.get, second, itertools.repeat(-1)), dtype=np.intp, count=len(second))
    new = index < 0
    index[new] = np.arange(len(first), len(first) + int(new.sum()))
    return first + list(itertools.compress(second, new.tolist())), index
