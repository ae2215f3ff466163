"""Data tables for ``klcli drift``: CSV, TSV, Parquet and JSON lines, read in batches.

A :class:`Table` is opened once (format from the extension, or sniffed from
the first bytes) and can then be streamed any number of times with
:meth:`Table.batches`, so that a table larger than memory is read with
bounded memory. Standard input (``-``) is read into memory once, because a
stream cannot be read twice.

Columns come out as pyarrow arrays; :func:`numeric_values` and
:func:`category_counts` turn them into what the drift counters need, with
errors that name the file, the column and the row. pyarrow is imported
lazily, so commands that never read a table do not pay for it.

>>> import io
>>> table = open_table("-", stdin=io.BytesIO(b"x,y\\n1,a\\n2,b\\n"))
>>> table.fmt, table.columns
('csv', ['x', 'y'])
>>> [batch.num_rows for _, batch in table.batches(["x"])]
[2]
"""

from __future__ import annotations

import csv
import io
import math
import os
import sys
from dataclasses import dataclass
from typing import Any, Iterator

import numpy as np

from klcli.errors import InputError, UsageError
from klcli.sources import is_number

TABLE_FORMATS = ("csv", "tsv", "parquet", "jsonl")
TABLE_EXTENSIONS = {
    ".csv": "csv",
    ".tsv": "tsv",
    ".tab": "tsv",
    ".parquet": "parquet",
    ".pq": "parquet",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".json": "jsonl",
}
_FORMAT_ALIASES = {"json": "jsonl", "ndjson": "jsonl", "txt": "csv"}

#: Rows per batch: large enough that the per-batch Python cost vanishes, small
#: enough that a batch of ten float64 columns stays near 20 MB.
BATCH_ROWS = 1 << 18

#: Bytes per block of the CSV and JSON-lines readers. Arrow's streaming readers parse
#: blocks ahead of the consumer: with 16 MiB blocks memory grew with the file (342 MiB
#: for 1M rows x 5 columns, 568 MiB for 4M); with 1 MiB it stays flat (about 205 MiB
#: for both) and reading is no slower.
_TEXT_BLOCK = 1 << 20


def _text_block() -> int:
    """:data:`_TEXT_BLOCK`, or the line limit when ``KLCLI_MAX_LINE_BYTES`` raised it (at most 64 MiB): a row must fit in a block."""
    from klcli.reading import LINE_BYTES

    limit = LINE_BYTES.value()
    return _TEXT_BLOCK if limit <= LINE_BYTES.default else min(limit, 64 << 20)


#: Cells read as missing in CSV/TSV (besides the empty cell).
MISSING_TOKENS = ["", "NA", "N/A", "NaN", "nan", "NULL", "null", "None", "#N/A"]


@dataclass
class Table:
    """A data table that can be streamed in batches, any number of times.

    ``name`` is how messages refer to it (the path, or ``<stdin>``);
    ``schema`` holds the column names and the types that every batch will
    have (for CSV and JSON lines they are inferred from the first block and
    then pinned, so that a later block cannot change them).
    """

    name: str
    fmt: str
    path: str | None
    data: bytes | None
    schema: Any
    row_count: int | None = None

    @property
    def columns(self) -> list[str]:
        """The column names, in file order."""
        return list(self.schema.names)

    def type_of(self, column: str):
        """The pyarrow type of ``column``."""
        return self.schema.field(column).type

    def batches(self, columns: list[str], *, batch_rows: int = BATCH_ROWS, row_groups: list[int] | None = None) -> Iterator[tuple[int, Any]]:
        """Yield ``(first_row, batch)`` for the given columns; rows count from 0.

        ``row_groups`` reads only these row groups of a Parquet file (rows
        are then counted over the rows read). A conversion error of the reader (a word in a numeric CSV column) is
        raised as an :class:`InputError` naming the column and the row.
        """
        first_row = 0
        reader = None
        while True:
            try:
                reader = reader or prefetched(self._reader(columns, batch_rows, row_groups))
                batch = next(reader)
            except StopIteration:
                return
            except Exception as error:  # pyarrow's ArrowInvalid and friends
                raise self._read_error(error, first_row) from None
            yield first_row, batch
            first_row += batch.num_rows

    def _source(self):
        import pyarrow as pa

        return pa.BufferReader(self.data) if self.data is not None else self.path

    def _reader(self, columns: list[str], batch_rows: int, row_groups: list[int] | None = None):
        if self.fmt == "parquet":
            import pyarrow.parquet as pq

            # pre_buffer would keep every row group read so far in memory.
            return iter(pq.ParquetFile(self._source(), pre_buffer=False).iter_batches(batch_size=batch_rows, columns=columns, row_groups=row_groups))
        if self.fmt == "jsonl":
            import pyarrow.json as pj

            reader = pj.open_json(
                self._source(), read_options=pj.ReadOptions(block_size=_text_block()), parse_options=pj.ParseOptions(explicit_schema=self.schema)
            )
            return (batch.select(columns) for batch in reader)
        import pyarrow.csv as pv

        convert = pv.ConvertOptions(
            column_types={name: self.type_of(name) for name in columns},
            include_columns=columns,
            null_values=MISSING_TOKENS,
            strings_can_be_null=True,
            quoted_strings_can_be_null=True,
        )
        return iter(
            pv.open_csv(
                self._source(), read_options=pv.ReadOptions(block_size=_text_block()), parse_options=_csv_parse(self.fmt), convert_options=convert
            )
        )

    def _read_error(self, error: Exception, first_row: int) -> InputError:
        message = str(error).split("\n")[0]
        if self.fmt in ("csv", "tsv") and "conversion error" in message:
            located = _locate_csv_error(self, message)
            if located:
                return InputError(located)
        if "straddl" in message:  # a row longer than a block
            from klcli.reading import LINE_BYTES

            return InputError(
                f"{self.name}: a row after row {first_row} is longer than {_text_block():,} bytes; "
                f"if the file is trusted, raise the limit with {LINE_BYTES.env}"
            )
        return InputError(f"{self.name}: cannot read the table after row {first_row}: {message}")

    def parquet_statistics(self, columns: list[str]) -> tuple[list[int], dict] | None:
        """Rows per row group and, per column, ``(minimum, maximum, nulls)`` from the Parquet footer.

        None unless this is Parquet and every row group has minimum, maximum
        and null count for every one of ``columns`` (flat numeric columns).
        Writers leave NaN out of the minimum and maximum.
        """
        if self.fmt != "parquet":
            return None
        import pyarrow.parquet as pq

        meta = pq.ParquetFile(self._source()).metadata
        paths = [meta.schema.column(i).path for i in range(meta.num_columns)]
        if any(paths.count(c) != 1 for c in columns):
            return None
        rows, ranges = [], {c: (math.inf, -math.inf, 0) for c in columns}
        for g in range(meta.num_row_groups):
            group = meta.row_group(g)
            rows.append(group.num_rows)
            for column in columns:
                stats = group.column(paths.index(column)).statistics
                if stats is None or not stats.has_min_max or not stats.has_null_count:
                    return None
                low, high, nulls = ranges[column]
                ranges[column] = (min(low, float(stats.min)), max(high, float(stats.max)), nulls + stats.null_count)
        return rows, ranges

    def with_column_types(self, types: dict) -> "Table":
        """The same table with some column types changed (CSV and JSON lines only).

        Used to read a column as text (``--categorical``) or as a number
        (``--numeric``) from the start, instead of the type inferred from the
        first block.
        """
        if self.fmt == "parquet" or not types:
            return self
        import pyarrow as pa

        fields = [pa.field(f.name, types.get(f.name, f.type)) for f in self.schema]
        return Table(self.name, self.fmt, self.path, self.data, pa.schema(fields), self.row_count)


def prefetched(items: Iterator, depth: int = 2) -> Iterator:
    """Iterate over ``items`` while a background thread reads up to ``depth`` items ahead.

    Reading and decoding (pyarrow, which releases the GIL) then overlap with
    the caller's work on the current batch. An exception of the reader is
    raised in the caller; closing the iterator early stops the thread.

    >>> list(prefetched(iter(range(5))))
    [0, 1, 2, 3, 4]
    """
    import queue
    import threading

    slots: queue.Queue = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def put(item) -> bool:
        while not stop.is_set():
            try:
                slots.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def produce() -> None:
        try:
            for item in items:
                if not put((True, item)):
                    return
            put((False, None))
        except BaseException as error:  # handed to the consumer, which raises it
            put((False, error))

    thread = threading.Thread(target=produce, name="klcli-prefetch", daemon=True)
    thread.start()
    try:
        while True:
            has_item, item = slots.get()
            if not has_item:
                if item is not None:
                    raise item
                return
            yield item
    finally:
        stop.set()


def open_table(text: str, *, input_format: str | None = None, stdin=None) -> Table:
    """Open a table: a path, or ``-`` for standard input.

    The format comes from ``input_format``, else the file extension, else the
    first bytes (``PAR1`` is Parquet, ``{`` JSON lines, a tab in the first
    line TSV, anything else CSV).

    Raises
    ------
    InputError
        The file does not exist, is empty or cannot be parsed.
    UsageError
        ``input_format`` is not one of :data:`TABLE_FORMATS`.
    """
    fmt = _FORMAT_ALIASES.get(input_format, input_format) if input_format else None
    if fmt is not None and fmt not in TABLE_FORMATS:
        raise UsageError(f"`--input-format` must be one of {', '.join(TABLE_FORMATS)} for drift, not {input_format!r}")
    if text == "-":
        data = (stdin or sys.stdin.buffer).read()
        name, path = "<stdin>", None
        if not data.strip():
            raise InputError(f"{name}: empty input")
        fmt = fmt or sniff_table_format(data)
    else:
        if os.path.isdir(text):
            raise InputError(f"{text}: is a directory, not a table")
        if not os.path.isfile(text):
            raise InputError(f"{text}: no such file")
        name, path, data = text, text, None
        if os.path.getsize(text) == 0:
            raise InputError(f"{name}: empty file")
        if fmt is None:
            fmt = TABLE_EXTENSIONS.get(os.path.splitext(text)[1].lower())
        if fmt is None:
            with open(text, "rb") as handle:
                fmt = sniff_table_format(handle.read(4096))
    table = Table(name, fmt, path, data, schema=None)
    table.schema, table.row_count = _read_schema(table)
    if not table.schema.names:
        raise InputError(f"{name}: no columns")
    if len(set(table.schema.names)) != len(table.schema.names):
        duplicates = sorted({c for c in table.schema.names if table.schema.names.count(c) > 1})
        raise InputError(f"{name}: duplicate column names {', '.join(map(repr, duplicates))}")
    return table


def sniff_table_format(data: bytes) -> str:
    """Guess the format of a table from its first bytes.

    >>> sniff_table_format(b"PAR1..."), sniff_table_format(b'{"a": 1}'), sniff_table_format(b"a\\tb\\n1\\t2")
    ('parquet', 'jsonl', 'tsv')
    """
    if data.startswith(b"PAR1"):
        return "parquet"
    head = data[:4096].lstrip(b"\xef\xbb\xbf \t\r\n")
    if head[:1] == b"{":
        return "jsonl"
    if head[:6] == b"\x93NUMPY" or head[:4] == b"PK\x03\x04":
        raise InputError("NumPy arrays are not tables: drift reads CSV, TSV, Parquet or JSON lines")
    return "tsv" if b"\t" in head.split(b"\n", 1)[0] else "csv"


def _csv_parse(fmt: str):
    import pyarrow.csv as pv

    return pv.ParseOptions(delimiter="\t" if fmt == "tsv" else ",")


def _read_schema(table: Table):
    """The schema (types pinned from the first block) and the row count if known."""
    import pyarrow as pa

    try:
        if table.fmt == "parquet":
            import pyarrow.parquet as pq

            meta = pq.ParquetFile(table._source())
            return meta.schema_arrow, meta.metadata.num_rows
        if table.fmt == "jsonl":
            import pyarrow.json as pj

            reader = pj.open_json(table._source(), read_options=pj.ReadOptions(block_size=_text_block()))
            return reader.schema, None
        import pyarrow.csv as pv

        convert = pv.ConvertOptions(null_values=MISSING_TOKENS, strings_can_be_null=True, quoted_strings_can_be_null=True)
        reader = pv.open_csv(
            table._source(), read_options=pv.ReadOptions(block_size=_text_block()), parse_options=_csv_parse(table.fmt), convert_options=convert
        )
        # A column that is empty in the first block is inferred as null: read it as text.
        fields = [pa.field(f.name, pa.string() if pa.types.is_null(f.type) else f.type) for f in reader.schema]
        return pa.schema(fields), None
    except UnicodeDecodeError as error:
        raise InputError(f"{table.name}: column names are not UTF-8 text (byte 0x{error.object[error.start]:02x}); save the file as UTF-8") from None
    except (OSError, pa.ArrowException) as error:
        what = {"parquet": "Parquet file", "jsonl": "JSON-lines file"}.get(table.fmt, f"{table.fmt.upper()} table")
        raise InputError(f"{table.name}: not a valid {what} ({str(error).splitlines()[0]})") from None


def _locate_csv_error(table: Table, message: str) -> str | None:
    """Find the row of a CSV conversion error by scanning the text (error path only).

    pyarrow reports the column index and the bad cell but not its row.
    """
    import re

    match = re.search(r"column #(\d+): CSV conversion error to (\w+): invalid value '(.*)'", message)
    if not match:
        return None
    index, type_name, bad = int(match.group(1)), match.group(2), match.group(3)
    column = table.columns[index]
    handle: io.TextIOWrapper
    if table.data is not None:
        handle = io.TextIOWrapper(io.BytesIO(table.data), encoding="utf-8-sig")
    else:
        assert table.path is not None  # a table not read from standard input has a path
        handle = open(table.path, encoding="utf-8-sig", newline="")
    with handle:
        rows = csv.reader(handle, delimiter="\t" if table.fmt == "tsv" else ",")
        next(rows, None)
        for row_number, row in enumerate(rows, start=1):
            if index < len(row) and row[index] == bad:
                return f"{table.name}: column {column!r}, row {row_number}: {bad!r} is not {_type_word(type_name)}{_hint(table, column)}"
    return f"{table.name}: column {column!r}: {bad!r} is not {_type_word(type_name)}{_hint(table, column)}"


def _type_word(type_name: str) -> str:
    return {"bool": "true/false"}.get(type_name, "a number")


def _hint(table: Table, column: str) -> str:
    import pyarrow as pa

    kind = table.type_of(column)
    if pa.types.is_floating(kind) or pa.types.is_integer(kind):
        return f" (pass --categorical {column} to compare it by category)"
    return ""


# ---------------------------------------------------------------------------
# Columns


def numeric_values(array, *, table: Table, column: str, first_row: int) -> np.ndarray:
    """A column as float64, missing values as NaN.

    Text is parsed as numbers; the first cell that is not a number raises an
    :class:`InputError` naming the table, the column and the row (1-based).
    """
    import pyarrow as pa
    import pyarrow.compute as pc

    kind = array.type
    if pa.types.is_dictionary(kind):
        array, kind = array.dictionary_decode(), kind.value_type
    if pa.types.is_floating(kind) or pa.types.is_integer(kind) or pa.types.is_boolean(kind) or pa.types.is_decimal(kind):
        return _float64_view(array)
    if pa.types.is_temporal(kind):  # days (date32), or the type's unit since the epoch
        return _float64_view(pc.cast(array, pa.int32() if pa.types.is_date32(kind) else pa.int64()))
    if pa.types.is_string(kind) or pa.types.is_large_string(kind):
        cleaned = pc.if_else(pc.is_in(pc.utf8_trim_whitespace(array), pa.array(MISSING_TOKENS)), pa.scalar(None, kind), array)
        try:
            return _float64_view(pc.cast(cleaned, pa.float64()))
        except pa.ArrowInvalid:
            for offset, cell in enumerate(cleaned.to_pylist()):
                if cell is not None and not is_number(cell):
                    raise InputError(f"{table.name}: column {column!r}, row {first_row + offset + 1}: {cell!r} is not a number") from None
            raise
    raise InputError(f"{table.name}: column {column!r} has type {kind}, which cannot be read as numbers")


def integer_values(array) -> np.ndarray:
    """An integer column as int64 numpy, nulls as 0 (exact, unlike :func:`numeric_values` beyond 2**53).

    >>> import pyarrow as pa
    >>> integer_values(pa.array([2**60 + 1, None, 3])).tolist()
    [1152921504606846977, 0, 3]
    """
    import pyarrow as pa
    import pyarrow.compute as pc

    if pa.types.is_dictionary(array.type):
        array = array.dictionary_decode()
    array = pc.fill_null(array.cast(pa.int64(), safe=False), 0)
    return np.frombuffer(array.buffers()[1], dtype=np.int64, count=len(array), offset=array.offset * 8)


def _float64_view(array) -> np.ndarray:
    """A numeric arrow array as float64 numpy, nulls as NaN; no copy when it is float64 without nulls.

    (``Array.to_numpy`` would import pandas, which costs most of a second.)
    """
    import pyarrow as pa
    import pyarrow.compute as pc

    if array.type != pa.float64():
        array = array.cast(pa.float64(), safe=False)  # int64 beyond 2**53 rounds to the nearest double
    if array.null_count:
        array = pc.fill_null(array, float("nan"))
    return np.frombuffer(array.buffers()[1], dtype=np.float64, count=len(array), offset=array.offset * 8)


def category_counts(array) -> tuple[dict[str, int], int]:
    """Counts of each category of a column, and the number of missing cells.

    Numbers are labelled so that ``1`` and ``1.0`` are the same category; NaN
    is missing.

    >>> import pyarrow as pa
    >>> category_counts(pa.array(["a", None, "b", "a"]))
    ({'a': 2, 'b': 1}, 1)
    >>> category_counts(pa.array([1.0, 2.5, float("nan"), 1.0]))
    ({'1': 2, '2.5': 1}, 1)
    """
    import pyarrow as pa
    import pyarrow.compute as pc

    if pa.types.is_dictionary(array.type):
        array = array.dictionary_decode()
    counts: dict[str, int] = {}
    missing = 0
    table = pc.value_counts(array)
    for value, count in zip(table.field("values").to_pylist(), table.field("counts").to_pylist()):
        if value is None or (isinstance(value, float) and math.isnan(value)):
            missing += count
            continue
        label = category_label(value)
        counts[label] = counts.get(label, 0) + count
    return counts, missing


def category_label(value: Any) -> str:
    """How a cell is named as a category: ``true``/``false``, ``3`` for 3.0.

    >>> category_label(True), category_label(3.0), category_label(0.5), category_label("x")
    ('true', '3', '0.5', 'x')
    """
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def is_integer_type(kind) -> bool:
    """Integer columns (possibly dictionary-encoded)."""
    import pyarrow as pa

    if pa.types.is_dictionary(kind):
        kind = kind.value_type
    return pa.types.is_integer(kind)


def is_numeric_type(kind) -> bool:
    """Floating, integer and temporal columns: binned unless they look categorical."""
    import pyarrow as pa

    if pa.types.is_dictionary(kind):
        kind = kind.value_type
    return pa.types.is_floating(kind) or pa.types.is_integer(kind) or pa.types.is_temporal(kind) or pa.types.is_decimal(kind)
