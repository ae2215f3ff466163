"""How reading a file can fail: resource limits, and one map from reader exceptions to InputError.

Every reader (histograms, samples, NPY/NPZ, Parquet, JSON, specs read from
files) runs its parsing inside :func:`reading`, which turns whatever the
underlying library raises -- ``BadZipFile``, ``UnicodeDecodeError``,
``TokenError``, ``RecursionError``, pyarrow's ``ArrowInvalid``... -- into one
:class:`~klcli.errors.InputError` that names the file and says, in words,
what was wrong and what was expected. No exception class name reaches the user.

Limits bound what a small file can make klcli allocate. Each has a default
and an environment variable that raises it (sizes take ``K``, ``M``, ``G``,
``T`` suffixes, powers of 1024):

======================  ==========  =============================================
variable                default     bounds
======================  ==========  =============================================
KLCLI_MAX_MEMBER_BYTES  1G          the decompressed size of one ``.npz`` member
KLCLI_MAX_ARRAY_BYTES   8G          an array as float64 (elements x 8 bytes),
                                    from NPY/NPZ headers, before it is allocated
KLCLI_MAX_LINE_BYTES    1M          the length of one line of a text file
======================  ==========  =============================================

>>> MEMBER_BYTES.value()
1073741824
>>> parse_size("1.5K"), parse_size("2G"), parse_size("4096")
(1536, 2147483648, 4096)
>>> with reading("data.json", "a JSON list of numbers"):
...     raise RecursionError("maximum recursion depth exceeded")
Traceback (most recent call last):
klcli.errors.InputError: data.json: nested too deeply; expected a JSON list of numbers
"""

from __future__ import annotations

import contextlib
import os
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from klcli.errors import InputError, KlcliError, UsageError
from klcli.text import shorten

_SIZE = re.compile(r"^\s*(\d+(?:\.\d*)?|\.\d+)\s*([KMGT]?)i?B?\s*$", re.IGNORECASE)
_SCALE = {"": 1, "K": 1 << 10, "M": 1 << 20, "G": 1 << 30, "T": 1 << 40}


def parse_size(text: str) -> int:
    """Bytes in ``"4096"``, ``"64K"``, ``"1.5G"`` (powers of 1024); ValueError otherwise."""
    match = _SIZE.match(text)
    if not match:
        raise ValueError(text)
    return int(float(match.group(1)) * _SCALE[match.group(2).upper()])


def human_size(size: int) -> str:
    """``1073741824`` -> ``'1 GiB'``; ``1536`` -> ``'1.5 KiB'``.

    >>> human_size(1 << 30), human_size(1536), human_size(100)
    ('1 GiB', '1.5 KiB', '100 bytes')
    """
    for unit, scale in (("TiB", 1 << 40), ("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if size >= scale:
            return f"{size / scale:.3g} {unit}"
    return f"{size} bytes"


@dataclass(frozen=True)
class Limit:
    """A resource limit with a default, raised through an environment variable."""

    env: str
    default: int
    what: str

    def value(self) -> int:
        """The limit in force: the environment variable if set, else the default."""
        raw = os.environ.get(self.env)
        if raw is None or not raw.strip():
            return self.default
        try:
            size = parse_size(raw)
        except ValueError:
            size = 0
        if size <= 0:
            raise UsageError(f"{self.env} must be a positive size in bytes such as 2G or 4096, not {shorten(raw, 40)!r}")
        return size

    def check(self, size: int, name: str, subject: str) -> None:
        """Raise an InputError when ``size`` is above the limit; ``subject`` says what is that large."""
        limit = self.value()
        if size > limit:
            shown, most = human_size(size), human_size(limit)
            if shown == most:
                shown, most = f"{size:,} bytes", f"{limit:,} bytes"
            raise InputError(
                f"{name}: {subject} is {shown}, above the limit of {most} on {self.what}; "
                f"if the file is trusted, raise the limit with {self.env}={_suggest(size)}"
            )


def _suggest(size: int) -> str:
    for suffix, scale in (("T", 1 << 40), ("G", 1 << 30), ("M", 1 << 20), ("K", 1 << 10)):
        if size >= scale:
            return f"{-(-size // scale)}{suffix}"
    return str(size)


MEMBER_BYTES = Limit("KLCLI_MAX_MEMBER_BYTES", 1 << 30, "the decompressed size of an .npz member")
ARRAY_BYTES = Limit("KLCLI_MAX_ARRAY_BYTES", 8 << 30, "the size of an array (as float64)")
LINE_BYTES = Limit("KLCLI_MAX_LINE_BYTES", 1 << 20, "the length of a line")
LIMITS = (MEMBER_BYTES, ARRAY_BYTES, LINE_BYTES)


def check_line_length(chunks: bytes | bytearray | memoryview | Iterable[bytes], name: str) -> None:
    """Refuse text holding a line longer than :data:`LINE_BYTES`, naming the line.

    ``chunks`` is the whole text, or an iterable of consecutive pieces of it
    (a file read block by block). The scan runs in C (``bytes.find``), one step
    per block of the limit's size.

    >>> check_line_length(b"1\\n2\\n", "a.csv")
    >>> import os; os.environ["KLCLI_MAX_LINE_BYTES"] = "8"
    >>> check_line_length([b"1\\n12345", b"6789\\n"], "a.csv")
    Traceback (most recent call last):
    klcli.errors.InputError: a.csv: line 2 is 9 bytes, above the limit of 8 bytes on the length of a line; if the file is trusted, raise the limit with KLCLI_MAX_LINE_BYTES=9
    >>> del os.environ["KLCLI_MAX_LINE_BYTES"]
    """
    limit = LINE_BYTES.value()
    if isinstance(chunks, (bytes, bytearray, memoryview)):
        if len(chunks) <= limit:
            return
        chunks = [bytes(chunks)]  # no copy of bytes; a memoryview becomes searchable
    step = min(limit, 16 << 20)  # lines between two newlines of one window are shorter than the limit
    line_start = 0  # offset of the current line's first byte
    offset = 0  # offset of the chunk's first byte
    lines = 0  # newlines before the current line
    too_long = False  # the current line is over the limit: find where it ends, to say how long it is
    for chunk in chunks:
        for start in range(0, len(chunk), step):
            end = min(start + step, len(chunk))
            first = chunk.find(b"\n", start, end)
            if first < 0:
                too_long = too_long or offset + end - line_start > limit
                continue
            if too_long or offset + first - line_start > limit:
                LINE_BYTES.check(offset + first - line_start, name, f"line {lines + 1}")
            lines += chunk.count(b"\n", first, end)
            line_start = offset + chunk.rfind(b"\n", first, end) + 1
        offset += len(chunk)
    if too_long:
        LINE_BYTES.check(offset - line_start, name, f"line {lines + 1}")


# ---------------------------------------------------------------------------
# The one map from reader exceptions to InputError


def describe(error: BaseException) -> str:
    """What went wrong, in words, for an exception raised while reading a file.

    >>> describe(UnicodeDecodeError("utf-8", b"a\\x80", 1, 2, "invalid start byte"))
    'not UTF-8 text (byte 1 is 0x80)'
    >>> import zipfile
    >>> describe(zipfile.BadZipFile("File is not a zip file"))
    'a truncated or damaged archive (File is not a zip file)'
    """
    import zipfile
    import zlib
    from tokenize import TokenError

    text = shorten(str(error).strip().splitlines()[0] if str(error).strip() else "", 160)
    detail = f" ({text})" if text else ""
    if isinstance(error, UnicodeDecodeError):
        return f"not UTF-8 text (byte {error.start} is 0x{error.object[error.start]:02x})"
    if isinstance(error, (zipfile.BadZipFile, zlib.error)):
        return f"a truncated or damaged archive{detail}"
    if isinstance(error, EOFError):
        return "truncated: the data ends early"
    if isinstance(error, RuntimeError) and re.search(r"encrypt|password", str(error), re.IGNORECASE):
        return "encrypted (password-protected); klcli reads only unencrypted files"
    if isinstance(error, NotImplementedError):
        return f"written with a feature klcli cannot read{detail}"
    if isinstance(error, MemoryError):
        return "too large to read into memory"
    if isinstance(error, RecursionError):
        return "nested too deeply"
    if isinstance(error, (TokenError, SyntaxError)):
        return "a malformed header"
    if isinstance(error, OSError):
        return f"cannot be read ({error.strerror or text})"
    if isinstance(error, ValueError) and "digits" in str(error) and "integer" in str(error):
        return "holds an integer with thousands of digits (far beyond the float64 range, about 1.8e308)"
    if isinstance(error, StopIteration):
        return "holds no data"
    return f"cannot be read{detail}"


def input_error(error: BaseException, name: str, expected: str) -> KlcliError:
    """The :class:`InputError` for ``error`` raised while reading ``name`` as ``expected``.

    A :class:`~klcli.errors.KlcliError` is returned unchanged.
    """
    if isinstance(error, KlcliError):
        return error
    return InputError(f"{name}: {describe(error)}; expected {expected}")


@contextlib.contextmanager
def reading(name: str, expected: str) -> Iterator[None]:
    """Run a parser; any failure becomes one InputError naming ``name`` and ``expected``.

    ``expected`` says in words what the file should hold ("an NPY array of
    numbers", "a Parquet table"). The original exception is kept as the
    cause, so ``--debug`` shows where it came from.
    """
    try:
        yield
    except KlcliError:
        raise
    except Exception as error:  # every parser's own error types: the point of this function
        raise input_error(error, name, expected) from error
