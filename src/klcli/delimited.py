"""Delimited text (CSV, TSV, TXT) read at the speed of the disk, by pyarrow's CSV parser.

:func:`read_columns` is the fast path of :mod:`klcli.sources`: it decides
the layout (delimiter, header, which columns hold numbers) from the first
lines in Python, with the very rules of the careful parser, then lets
``pyarrow.csv`` read the whole file in parallel blocks with those column
types fixed. It gives up -- returns None -- whenever the text is anything
the careful parser might read differently or must report on: a comment or a
blank line after the first data row, a cell that is not a number where the
first row had one, a row of another width, a label with padding or quotes
left in it, bytes that are not UTF-8, whitespace-separated columns, a line
longer than :data:`klcli.reading.LINE_BYTES`. The careful parser then reads
the file and accepts it, or names the bad row and column. So the fast path
changes how fast a file is read, never what is read from it.

pyarrow is imported only here, and only for text of at least
:data:`ARROW_MIN_BYTES`: a one-liner on a small file does not pay its
start-up.

>>> header, columns, lines = read_columns(b"token,count\\r\\nthe,3\\r\\nof,2\\r\\n", delimiter=",")
>>> header, list(columns[0]), columns[1].tolist(), list(lines)
(['token', 'count'], ['the', 'of'], [3.0, 2.0], [2, 3])
>>> read_columns(b"1\\n# a comment\\n2\\n", delimiter=",") is None  # for the careful parser
True
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

import numpy as np

#: Text smaller than this is read by the careful parser alone: importing
#: pyarrow (about 0.1 s) would cost more than it saves.
ARROW_MIN_BYTES = 1 << 20

#: Bytes of the head read to decide the layout.
_HEAD_BYTES = 1 << 16

NUMBER = re.compile(r"^\s*[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?\s*$")
_SPECIAL = ("nan", "inf", "-inf", "+inf")


def unquote(cell: str) -> str:
    """A cell without surrounding blanks and one pair of matching quotes.

    >>> unquote(' "a b" '), unquote("'x'"), unquote("'s")
    ('a b', 'x', "'s")
    """
    cell = cell.strip()
    if len(cell) >= 2 and cell[0] == cell[-1] and cell[0] in "\"'":
        return cell[1:-1]
    return cell


def is_header(cells: list[str]) -> bool:
    """A first row is a header when none of its cells reads as a number.

    >>> is_header(["token", "count"]), is_header(["a", "3"]), is_header(["nan"])
    (True, False, False)
    """
    return all(not NUMBER.match(c) and c.lower() not in _SPECIAL for c in cells)


def is_comment(line: str) -> bool:
    """Blank lines and lines starting with ``#`` hold no data."""
    stripped = line.strip()
    return not stripped or stripped.startswith("#")


def txt_delimiter(line: str) -> str | None:
    """The delimiter of a ``.txt`` file from its first data line: tab, comma, or runs of blanks (None)."""
    return "\t" if "\t" in line else "," if "," in line else None


def _is_float(cell: str) -> bool:
    try:
        float(cell)
        return True
    except ValueError:
        return False


class Labels(Sequence):
    """Labels kept in a pyarrow array: a million of them take no Python objects.

    A read-only sequence of ``str`` (items are made on access); two of them
    are compared, checked for duplicates and aligned by Arrow's kernels.

    >>> import pyarrow as pa
    >>> labels = Labels(pa.array(["a", "b", "a"]))
    >>> len(labels), labels[1], list(labels), labels.duplicates()
    (3, 'b', ['a', 'b', 'a'], ['a'])
    """

    dtype = np.dtype(object)  # a column of text, as the careful parser's object arrays
    #: The last union of these labels with another (see :func:`union_labels`); set on first use.
    _union: tuple[Labels, tuple[Labels, np.ndarray]]

    def __init__(self, arrow):
        self.arrow = arrow

    def __len__(self) -> int:
        return len(self.arrow)

    def __getitem__(self, index):
        if isinstance(index, slice):
            return self.arrow[index].to_pylist()
        if not -len(self) <= index < len(self):
            raise IndexError(index)
        return self.arrow[int(index)].as_py()

    def __iter__(self):
        return iter(self.arrow.to_pylist())

    def __eq__(self, other) -> bool:
        if isinstance(other, Labels):
            return self.arrow.equals(other.arrow)
        return isinstance(other, (list, tuple)) and list(self) == list(other)

    # defining __eq__ without __hash__ leaves __hash__ None: Labels are not hashable

    def __add__(self, other) -> list[str]:
        return list(self) + list(other)

    def duplicates(self) -> list[str]:
        """The labels that appear more than once, sorted."""
        import pyarrow.compute as pc

        if len(self.arrow.dictionary_encode().dictionary) == len(self):  # one hash pass when all differ
            return []
        counts = pc.value_counts(self.arrow)
        return sorted(counts.field("values").filter(pc.greater(counts.field("counts"), 1)).to_pylist())


def union_labels(first: Labels, second: Labels) -> tuple[Labels, np.ndarray]:
    """:func:`klcli.sources.union_labels` of two :class:`Labels`, by Arrow's hash table.

    The last union is kept on ``first``: the probabilities and the raw
    weights of a pair are aligned on the same labels.
    """
    import pyarrow as pa

    cached = getattr(first, "_union", None)
    if cached is not None and cached[0] is second:
        return cached[1]
    encoded = pa.chunked_array([first.arrow, second.arrow], type=pa.string()).combine_chunks().dictionary_encode()
    union = Labels(encoded.dictionary), encoded.indices.to_numpy()[len(first) :].astype(np.intp)
    first._union = (second, union)
    return union


def read_columns(source: str | bytes, *, delimiter: str | None):
    """Read delimited text with pyarrow; ``(header, columns, lines)`` or None.

    ``source`` is a path or the bytes of the file. ``delimiter`` is ``,``,
    ``\\t``, or None for ``.txt`` (guessed from the first data line as the
    careful parser guesses it). ``columns`` are float64 arrays; ``lines`` the 1-based line of
    each row (a ``range``: it takes no memory). Columns of text
    are :class:`Labels`. None means "read it with the careful parser" (see
    the module docstring).
    """
    layout = _layout(_head(source), delimiter)
    if layout is None:
        return None
    header, types, skip, delimiter = layout
    table = _arrow_table(source, types, skip, delimiter)
    if table is None or table.num_rows == 0:
        return None
    columns: list[Any] = []
    for i, numeric in enumerate(types):
        column = table.column(i).chunks if numeric else _labels(table.column(i))
        if column is None:
            return None
        columns.append(column)
    n_rows = table.num_rows
    del table  # the numbers are copied block by block, each block let go once copied
    columns = [_concatenate(column, n_rows) if numeric else column for column, numeric in zip(columns, types)]
    first = skip + 1
    return header, columns, range(first, first + n_rows)


def _head(source: str | bytes) -> bytes:
    if isinstance(source, (bytes, bytearray, memoryview)):
        return bytes(source[:_HEAD_BYTES])
    with open(source, "rb") as handle:
        return handle.read(_HEAD_BYTES)


def _layout(head: bytes, delimiter: str | None):
    """``(header, numeric, skip, delimiter)`` from the first lines, or None.

    ``numeric[i]`` says whether column i is read as float64 (its first data
    cell is a number) or as text; ``skip`` counts the lines before the first
    data row (comments, blank lines and the header).
    """
    if head.startswith(b"\xef\xbb\xbf"):
        head = head[3:]
    cut = max(head.rfind(b"\n"), head.rfind(b"\r"))
    try:
        text = head[: cut + 1].decode("utf-8")
    except UnicodeDecodeError:
        return None
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")[:-1]  # complete lines only
    skip = 0
    while skip < len(lines) and is_comment(lines[skip]):
        skip += 1
    if skip + 1 >= len(lines):
        return None
    first = lines[skip]
    if delimiter is None:
        delimiter = txt_delimiter(first)
        if delimiter is None:
            if len(first.split()) != 1:  # columns separated by runs of blanks
                return None
            delimiter = "\t"  # absent: one column (a tab or comma in a later row fails the read)
    cells = [unquote(c) for c in first.split(delimiter)]
    header = None
    if is_header(cells):
        header, skip = cells, skip + 1
        if is_comment(lines[skip]):
            return None
        cells = [unquote(c) for c in lines[skip].split(delimiter)]
        if len(cells) != len(header):
            return None
    return header, [_is_float(c) for c in cells], skip, delimiter


def _arrow_table(source, numeric: list[bool], skip: int, delimiter: str):
    """The rows after ``skip`` with fixed column types, or None on any failure."""
    import pyarrow as pa
    import pyarrow.csv as csv

    from klcli.reading import LINE_BYTES

    # A row longer than two blocks fails the read, so every row read is within the line limit
    block_size = min(LINE_BYTES.value() // 2, 64 << 20)
    if block_size < 1 << 12:
        return None
    names = [f"c{i}" for i in range(len(numeric))]
    read_options = csv.ReadOptions(column_names=names, skip_rows=skip, block_size=block_size)
    # a blank line is a row of one empty cell: it fails the read instead of being skipped unnumbered
    # quotes are stripped by the careful parser's rule (_labels), not CSV's: a quoted number fails the read
    parse_options = csv.ParseOptions(delimiter=delimiter, quote_char=False, ignore_empty_lines=False)
    convert_options = csv.ConvertOptions(
        column_types={n: pa.float64() if is_number else pa.string() for n, is_number in zip(names, numeric)},
        null_values=[],
        strings_can_be_null=False,
        quoted_strings_can_be_null=False,
    )
    if not isinstance(source, str):
        source = pa.BufferReader(source)
    try:
        return csv.read_csv(source, read_options=read_options, parse_options=parse_options, convert_options=convert_options)
    except Exception:  # noqa: BLE001 - whatever failed, the careful parser reads the file and says what
        return None


def _concatenate(chunks: list, size: int) -> np.ndarray:
    """The float64 blocks of a column in one array, each released once copied.

    Arrow's memory pool is asked to hand the copied blocks back to the
    system every 32 MiB, so memory peaks at the array and a few blocks, not
    twice the array.
    """
    import pyarrow as pa

    out = np.empty(size)
    start = released = 0
    chunks.reverse()
    while chunks:
        block = chunks.pop().to_numpy()
        out[start : start + block.size] = block
        start += block.size
        del block
        if start - released >= 1 << 22:
            pa.default_memory_pool().release_unused()
            released = start
    return out


def _labels(chunked) -> Labels | None:
    """A text column as the careful parser reads it, or None.

    The careful parser strips blanks, then one pair of matching quotes
    (double or single), from each cell, and skips ``#`` lines: a cell with
    blanks around it or starting with ``#`` is left to it (None); quotes are
    stripped here by the same rule.
    """
    import pyarrow.compute as pc

    blank = r"[\s\x0b\x1c-\x1f\x85\pZ]"  # what str.strip() removes
    if pc.any(pc.match_substring_regex(chunked, rf"^{blank}|{blank}$|^#")).as_py():
        return None
    quoted = pc.match_substring_regex(chunked, r"^\"(?s:.*)\"$|^'(?s:.*)'$")
    if pc.any(quoted).as_py():
        chunked = pc.if_else(quoted, pc.utf8_slice_codeunits(chunked, 1, -1), chunked)
    return Labels(chunked.combine_chunks())
