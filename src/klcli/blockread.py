"""Many small text histograms read and validated a block of files at a time.

``batch`` on thousands of files spent its time on per-file Python work
(decoding, splitting, checking, normalising one file at a time) that holds
the GIL. Here worker threads each take a block of :data:`FILES_PER_BLOCK`
files, read their bytes, and when every file of the block is the plain
layout -- one number per line, no header, comment, blank line or quote --
parse the whole block with one call, check its weights (finite,
non-negative, not all zero) and normalise it as one 2-D array. A file that
is anything else, or whose weights are bad, is read by the ordinary reader
(:func:`klcli.batch.read_histogram`), so its error message names its line
exactly as ``compare`` would.

>>> import os, tempfile
>>> folder = tempfile.mkdtemp()
>>> paths = []
>>> for name, text in (("a.csv", "1\\n3\\n"), ("b.csv", "count\\n2\\n2\\n")):
...     paths.append(os.path.join(folder, name))
...     with open(paths[-1], "w") as handle:
...         _ = handle.write(text)
>>> sides = read_block(paths)
>>> sides[0].values.tolist(), sides[0].notes, sides[1]
([0.25, 0.75], ['P was normalised: its weights summed to 4'], None)
"""

from __future__ import annotations

import warnings
from typing import Sequence

import numpy as np

from klcli.compare import Side
from klcli.renormalise import EXACT_NORMALISATION_MAX
from klcli.sources import EXTENSIONS

#: Files one worker reads, parses and checks as one block.
FILES_PER_BLOCK = 256

#: Extensions whose files may take the block path (one number per line).
TEXT_EXTENSIONS = tuple(ext for ext, fmt in EXTENSIONS.items() if fmt in ("csv", "tsv", "txt"))

_NOT_PLAIN = (b",", b"\t", b"#", b'"', b"'", b"\r", b" ", b"\n\n", b"\xef\xbb\xbf")


def _plain(data: bytes) -> bool:
    """One number per line and nothing else (the first byte starts a number)."""
    return bool(data) and data[:1] in b"0123456789.-+" and not any(token in data for token in _NOT_PLAIN)


def _read_bytes(path: str) -> bytes | None:
    if not path.lower().endswith(TEXT_EXTENSIONS):
        return None
    try:
        with open(path, "rb") as handle:
            return handle.read().rstrip(b"\n")
    except OSError:
        return None


def read_block(paths: Sequence[str]) -> list[Side | None]:
    """Read ``paths`` as one block: the prepared side of each plain file, None for the others.

    A side is what :func:`klcli.compare.prepare_side` makes of the file as P
    (probabilities, notes, and the raw weights for exact renormalisation);
    None leaves the file to the ordinary reader.
    """
    from klcli.sources import _parse_numbers

    data = [_read_bytes(path) for path in paths]
    plain = [i for i, d in enumerate(data) if d is not None and _plain(d)]
    rows: list = [None] * len(paths)
    if plain:
        chosen = [d for i in plain if (d := data[i]) is not None]
        counts = np.array([d.count(b"\n") + 1 for d in chosen])
        joined = b"\n".join(chosen)
        del data, chosen
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # numpy warns when it stops at a bad cell
            values = _parse_numbers(joined.decode("ascii", "replace"))
        if values is not None and values.size == counts.sum():
            _normalise(values, counts, plain, rows)
    return rows


def _normalise(values: np.ndarray, counts: np.ndarray, plain: list[int], rows: list) -> None:
    """Fill ``rows`` with the files whose weights are all finite, non-negative and not all zero."""
    starts = np.concatenate(([0], np.cumsum(counts)[:-1]))
    with np.errstate(over="ignore", invalid="ignore"):
        totals = np.add.reduceat(values, starts)
        bad_cells = ~(values >= 0) | np.isinf(values)  # NaN fails the first test
        bad = np.add.reduceat(bad_cells, starts) > 0
    bad |= ~np.isfinite(totals) | (totals == 0)
    for i, start, count, skip in zip(plain, starts.tolist(), counts.tolist(), bad.tolist()):
        if skip:
            continue
        weights = values[start : start + count]
        total = weights.sum(keepdims=True)  # summed as prepare_side sums, to the last bit
        notes = [f"P was normalised: its weights summed to {float(total[0]):.6g}"] if abs(total[0] - 1) > 1e-9 else []
        if count <= EXACT_NORMALISATION_MAX:  # as prepare_side: the raw weights kept beside the probabilities
            rows[i] = Side(weights / total, None, None, "P", notes, weights, total)
        else:
            rows[i] = Side(np.divide(weights, total, out=weights), None, None, "P", notes)
