"""Divergences estimated from raw samples (``klcli compare P Q --from samples``).

A sample file holds one observation per row and one column per dimension.
:func:`read_samples` turns a file into a :class:`SampleSet`;
:func:`compare_samples` estimates KL(P‖Q), KL(Q‖P) and JS(P, Q) from two of
them, Q being the reference:

* text labels, or 1-D integer values with at most
  :data:`MAX_DISCRETE_VALUES` distinct values over both sets, are counted into
  label-aligned histograms and compared exactly (method ``exact``);
* everything else goes to the estimators of :mod:`klcli.sample_estimators`
  (weighted kNN, kNN, classifier), after whitening by the pooled covariance.

Examples
--------
>>> import numpy as np
>>> rng = np.random.default_rng(1)
>>> p = SampleSet(rng.normal(0, 1, (3000, 2)), "p")
>>> q = SampleSet(rng.normal(0, 1, (3000, 2)), "q")
>>> c = compare_samples(p, q)
>>> c.method["kl_pq"], abs(c.values["kl_pq"]) < 0.05
('classifier', True)
"""

from __future__ import annotations

import csv
import math
import os
from dataclasses import dataclass
from pathlib import Path
from collections.abc import Callable
from typing import Any, TextIO

import numpy as np

from klcli.discrete import divergences
from klcli.errors import InputError, UsageError
from klcli.knn import DEFAULT_K
from klcli.reading import check_line_length, reading
from klcli.result import Comparison
from klcli.sources import arrow_column, is_number

#: 1-D integer samples with at most this many distinct values (over P and Q
#: together) are compared as exact histograms of counts; text labels always are.
MAX_DISCRETE_VALUES = 50

#: Largest sample magnitude the estimators take: squared distances and covariances
#: of such values (and sums of them over dimensions) stay within float64.
MAX_ABS_VALUE = 1e150

_TEXT_SUFFIXES = {".csv": ",", ".tsv": "\t", ".txt": None}

#: Fewest observations per set for a continuous estimate.
MIN_SAMPLES = 8

#: Half-sample resamples for standard errors unless `bootstrap` says otherwise.
DEFAULT_BOOTSTRAP = 10


@dataclass(frozen=True)
class SampleSet:
    """Observations read from one source.

    ``values`` is a float64 array of shape (n, d), or a 1-D array of text
    labels (dtype object); ``source`` names the file in messages.

    Examples
    --------
    >>> s = SampleSet(np.zeros((4, 2)), "a.csv")
    >>> s.n, s.dim, s.is_labels
    (4, 2, False)
    """

    values: np.ndarray
    source: str
    names: tuple[str, ...] | None = None  # column names from a header, else None

    @property
    def is_labels(self) -> bool:
        """True for a 1-D array of text labels."""
        return self.values.ndim == 1

    @property
    def n(self) -> int:
        """Number of observations."""
        return int(self.values.shape[0])

    @property
    def dim(self) -> int:
        """Number of dimensions (1 for labels)."""
        return 1 if self.is_labels else int(self.values.shape[1])


# --------------------------------------------------------------------------- reading


def read_samples(
    path: str | os.PathLike[str],
    *,
    columns: list[str] | None = None,
    key: str | None = None,
    stdin: Any = None,
    input_format: str | None = None,
) -> SampleSet:
    """Read samples from a CSV, TSV, TXT, NPY, NPZ or Parquet file, or standard input.

    Parameters
    ----------
    path : str or path-like
        ``.csv`` (comma), ``.tsv`` (tab), ``.txt`` (comma, tab or whitespace,
        whichever the first line uses), ``.npy`` (1-D or 2-D array), ``.npz``
        (one member: ``--key NAME`` or ``file.npz:NAME``; needed when it holds
        several), ``.parquet``, or ``-`` for standard input (format sniffed
        from its first bytes unless ``input_format`` names it).
    columns : list of str, optional
        Columns to use, by header name or by 0-based index (``"0"`` or ``0``);
        all columns by default.
    key : str, optional
        The member of an ``.npz`` archive.
    stdin : binary file, optional
        Read instead of ``sys.stdin.buffer`` for ``-``.
    input_format : str, optional
        ``csv``, ``tsv``, ``txt``, ``npy``, ``npz`` or ``parquet`` for ``-``.

    Returns
    -------
    SampleSet

    Raises
    ------
    InputError
        Unreadable file, empty data, a missing/NaN/infinite value or a
        non-numeric cell in a numeric column (naming the line or row), an
        unknown column, or text labels in more than one column.

    Notes
    -----
    Text files: the first line is a header when one of its cells is not a
    number while the line below holds a number in that column, or when it is
    the only line. In a file of text only (labels), the first line is a header
    when none of its values occurs again in its column. A column is numeric when most of its cells are
    numbers; a cell that is not is then an error, and a column of mostly text
    is read as labels. Errors give 1-based line numbers for text files and
    1-based row numbers (header excluded) for NPY and Parquet.

    Examples
    --------
    >>> import tempfile, os
    >>> f = os.path.join(tempfile.mkdtemp(), "p.csv")
    >>> _ = open(f, "w").write("x,y\\n0.1,2\\n0.4,3\\n")
    >>> s = read_samples(f)
    >>> s.values.tolist(), s.dim, s.names
    ([[0.1, 2.0], [0.4, 3.0]], 2, ('x', 'y'))
    >>> import io
    >>> read_samples("-", stdin=io.BytesIO(b"1.5\\n2.5\\n")).values.tolist()
    [[1.5], [2.5]]
    """
    name = os.fspath(path)
    if name == "-":
        return _read_stdin(stdin, columns, key, input_format)
    if not os.path.isfile(name) and ".npz:" in name:
        name, _, member = name.rpartition(":")
        if key is not None and key != member:
            raise UsageError(f"{name}: give the .npz member once, as `file.npz:NAME` or --key, not both")
        key = member
    if not os.path.isfile(name):
        raise InputError(f"{name}: no such file")
    suffix = Path(name).suffix.lower()
    if key is not None and suffix != ".npz":
        raise UsageError(f"--key applies to .npz files; {name} is not one")
    if suffix == ".npy":
        return _from_array(_load_npy(name), name, columns)
    if suffix == ".npz":
        return _from_array(_load_npz(name, name, key), f"{name}:{key}" if key else name, columns)
    if suffix == ".parquet":
        frame, first_line = _load_parquet(name), None
    elif suffix in _TEXT_SUFFIXES:
        frame, first_line = _load_text(name, _TEXT_SUFFIXES[suffix])
    else:
        raise InputError(f"{name}: cannot read samples from a '{suffix}' file; use .csv, .tsv, .txt, .npy, .npz or .parquet")
    return _from_frame(frame, name, columns, first_line)


def _read_stdin(stdin: Any, columns: list[str] | None, key: str | None, input_format: str | None) -> SampleSet:
    import io
    import sys

    from klcli.sources import sniff_format

    name = "<stdin>"
    data = (stdin or sys.stdin.buffer).read()
    if not data.strip():
        raise InputError(f"{name}: no samples (standard input is empty)")
    fmt = input_format or sniff_format(data)
    if key is not None and fmt != "npz":
        raise UsageError("--key applies to .npz input")
    if fmt == "npy":
        return _from_array(_load_npy(data, name), name, columns)
    if fmt == "npz":
        return _from_array(_load_npz(data, name, key), name, columns)
    if fmt == "parquet":
        return _from_frame(_load_parquet(io.BytesIO(data), name), name, columns, None)
    if fmt == "json":
        raise InputError(f"{name}: samples are read from CSV, TSV, TXT, NPY, NPZ or Parquet, not JSON")
    frame, first_line = _load_text(data, {"csv": ",", "tsv": "\t"}.get(fmt), name)
    return _from_frame(frame, name, columns, first_line)


def _load_npz(source: str | bytes, name: str, key: str | None) -> np.ndarray:
    from klcli.npyio import load

    return _two_dimensional(load(source, name=name, key=key), name)


def _load_npy(source: str | bytes, name: str | None = None) -> np.ndarray:
    from klcli.npyio import load

    name = name or str(source)
    return _two_dimensional(load(source, name=name), name)


def _two_dimensional(array: np.ndarray, name: str) -> np.ndarray:
    if array.ndim not in (1, 2):
        raise InputError(f"{name}: expected a 1-D or 2-D array of samples, found shape {array.shape}")
    return array


def _load_parquet(source: Any, name: str | None = None) -> Any:
    import pandas as pd

    name = name or source
    with reading(name, "a Parquet table of samples, one column per dimension"):
        import pyarrow.parquet as pq

        table = pq.read_table(source)
        frame = {}
        for column, chunked in zip(table.column_names, table.columns):
            values = arrow_column(chunked)
            if values is None:
                raise InputError(f"{name}: column {column!r} is a Parquet {chunked.type} column; expected numbers, or text labels")
            frame[column] = values
        return pd.DataFrame(frame)


def _load_text(source: str | bytes, sep: str | None, name: str | None = None) -> tuple[Any, int]:
    """Read delimited text (a file name, or the bytes of one); return the frame and the line of its first row."""
    import io

    import pandas as pd

    if not name:
        assert isinstance(source, str), "text given as bytes comes with the name of its source"
        name = source
    table: str | io.BytesIO = source if isinstance(source, str) else io.BytesIO(source)
    lines: TextIO
    with reading(name, "delimited UTF-8 text, one sample per line"):
        if isinstance(source, bytes):
            check_line_length([source], name)
            lines = io.StringIO(source.decode("utf-8"), newline="")
        else:
            with open(source, "rb") as handle:
                check_line_length(iter(lambda: handle.read(1 << 20), b""), name)
            lines = open(source, newline="", encoding="utf-8")
        with lines:
            blank = 0  # leading blank lines
            line = lines.readline()
            while line and not line.strip():
                blank, line = blank + 1, lines.readline()
            head = [text for text in (line, lines.readline()) if text.strip()]
        if not head:
            raise InputError(f"{name}: the file is empty")
        if sep is None:
            sep = "," if "," in head[0] else "\t" if "\t" in head[0] else r"\s+"
        cells = [_split(text, sep) for text in head]
        header: int | None = None
        if not all(is_number(c) for c in cells[0]):
            if len(cells) == 1 or any(not is_number(a) and is_number(b) for a, b in zip(*cells)):
                header = 0
        frame = pd.read_csv(table, sep=sep, header=header, skiprows=blank, skip_blank_lines=False, engine="c")
    frame = _drop_trailing_blank_rows(frame)
    if header is None and len(frame) > 1 and _text_header(frame):
        frame = _drop_trailing_blank_rows(frame.iloc[1:].set_axis([str(v) for v in frame.iloc[0]], axis=1))
        return frame.reset_index(drop=True), blank + 2
    return frame, blank + (1 if header is None else 2)


def _split(line: str, sep: str) -> list[str]:
    if sep == r"\s+":
        return line.split()
    return next(csv.reader([line], delimiter=sep))


def _text_header(frame: Any) -> bool:
    """Whether the first row of an all-text frame is a header (see read_samples)."""
    first = frame.iloc[0]
    if first.isna().any() or any(is_number(str(v)) for v in first):
        return False
    return all(first.iloc[j] not in set(frame.iloc[1:, j].astype(str)) for j in range(frame.shape[1]))


def _drop_trailing_blank_rows(frame: Any) -> Any:
    blank = frame.isna().all(axis=1).to_numpy()
    end = len(blank)
    while end and blank[end - 1]:
        end -= 1
    return frame.iloc[:end]


def _select(names: list[str], columns: list[str] | list[int] | None, source: str, has_names: bool) -> list[int]:
    """Positions of the requested columns (by name, else by 0-based index)."""
    if columns is None:
        return list(range(len(names)))
    if not columns:
        raise UsageError("`columns` must name at least one column")
    picked = []
    for col in columns:
        key = str(col).strip()
        if has_names and key in names:
            picked.append(names.index(key))
        elif key.isdigit() and int(key) < len(names):
            picked.append(int(key))
        else:
            available = ", ".join(names) if has_names else f"0..{len(names) - 1} (no header)"
            raise InputError(f"{source}: no column {key!r}; available: {available}")
    return picked


def _from_frame(frame: Any, source: str, columns: list[str] | None, first_line: int | None) -> SampleSet:
    import pandas as pd

    has_names = not all(isinstance(c, int) for c in frame.columns)
    names = [str(c) for c in frame.columns]
    frame = frame.iloc[:, _select(names, columns, source, has_names)]
    if len(frame) == 0:
        raise InputError(f"{source}: no samples (the file has no data rows)")

    def where(i: int) -> str:
        return f"row {i + 1}" if first_line is None else f"line {i + first_line}"

    numeric, labels = [], []
    for j, name in enumerate(frame.columns):
        col = frame.iloc[:, j]
        label = f"column {name!r}" if has_names else f"column {name}"
        missing = col.isna().to_numpy()
        if missing.any():
            raise InputError(f"{source}, {where(int(np.argmax(missing)))}, {label}: missing value (NaN or empty cell)")
        if pd.api.types.is_bool_dtype(col) or not pd.api.types.is_numeric_dtype(col):
            values = pd.to_numeric(col.astype(str), errors="coerce").to_numpy(dtype=np.float64)
            bad = np.isnan(values)
            if pd.api.types.is_bool_dtype(col) or bad.mean() >= 0.5:
                labels.append(col.astype(str).to_numpy(dtype=object))
                continue
            if bad.any():
                i = int(np.argmax(bad))
                raise InputError(f"{source}, {where(i)}, {label}: {str(col.iloc[i])!r} is not a number")
        else:
            values = col.to_numpy(dtype=np.float64)
        infinite = ~np.isfinite(values)
        if infinite.any():
            raise InputError(f"{source}, {where(int(np.argmax(infinite)))}, {label}: infinite value")
        numeric.append(values)
    if labels and (numeric or len(labels) > 1):
        raise InputError(
            f"{source}: text labels can only be compared as a single column; pick one with `columns` "
            f"(columns read: {', '.join(map(str, frame.columns))})"
        )
    if labels:
        return SampleSet(labels[0], source, tuple(map(str, frame.columns)) if has_names else None)
    return SampleSet(np.column_stack(numeric), source, tuple(map(str, frame.columns)) if has_names else None)


def _from_array(array: np.ndarray, source: str, columns: list[str] | None) -> SampleSet:
    if array.shape[0] == 0:
        raise InputError(f"{source}: no samples (empty array)")
    if array.dtype.kind in "US":
        if array.ndim == 2 and array.shape[1] != 1:
            raise InputError(f"{source}: text labels can only be compared as a single column")
        return SampleSet(array.reshape(-1).astype(str).astype(object), source)
    if array.dtype.kind not in "biuf":
        raise InputError(f"{source}: expected numbers or text, found dtype {array.dtype}")
    table = array.reshape(len(array), -1).astype(np.float64)
    table = table[:, _select([str(j) for j in range(table.shape[1])], columns, source, False)]
    bad = ~np.isfinite(table)
    if bad.any():
        i, j = np.argwhere(bad)[0]
        what = "NaN" if np.isnan(table[i, j]) else "infinite value"
        raise InputError(f"{source}, row {i + 1}, column {j}: {what}")
    return SampleSet(table, source)


# --------------------------------------------------------------------------- comparing


def split_column_pairs(columns: list[str] | None) -> tuple[list[str] | None, list[str] | None]:
    """Split ``--columns`` items into P's and Q's columns: ``a`` names both, ``a:x`` pairs P's a with Q's x.

    >>> split_column_pairs(["a", "b:y"])
    (['a', 'b'], ['a', 'y'])
    """
    if columns is None:
        return None, None
    p_cols, q_cols = [], []
    for item in columns:
        left, sep, right = item.partition(":")
        if sep and not (left.strip() and right.strip()):
            raise UsageError(f"`--columns`: {item!r} must be NAME or P_NAME:Q_NAME")
        p_cols.append(left.strip())
        q_cols.append(right.strip() if sep else left.strip())
    return p_cols, q_cols


def align_columns(p: SampleSet, q: SampleSet, *, paired: bool = False) -> tuple[SampleSet, SampleSet]:
    """Check that P's and Q's columns correspond; put Q's in P's order when only the order differs.

    Two files with headers must name the same columns unless ``paired``
    (``--columns`` chose them): comparing ``latency`` with ``bytes`` is almost
    always a mistake.

    >>> a = SampleSet(np.zeros((2, 2)), "a.csv", ("x", "y"))
    >>> b = SampleSet(np.array([[1.0, 2.0]] * 2), "b.csv", ("y", "x"))
    >>> align_columns(a, b)[1].values[0].tolist()
    [2.0, 1.0]
    """
    if paired or p.names is None or q.names is None or p.names == q.names or p.is_labels:
        return p, q
    if sorted(p.names) == sorted(q.names) and len(set(p.names)) == len(p.names):
        order = [q.names.index(name) for name in p.names]
        return p, SampleSet(q.values[:, order], q.source, p.names)
    pairs = ",".join(f"{a}:{b}" for a, b in zip(p.names, q.names))
    raise InputError(
        f"{p.source} has columns {', '.join(p.names)} but {q.source} has {', '.join(q.names)}; pair them explicitly, e.g. --columns {pairs}"
    )


def compare_samples(
    p: SampleSet,
    q: SampleSet,
    *,
    estimator: str = "auto",
    k: int | None = None,
    standardize: bool = True,
    bootstrap: int | None = None,
    seed: int | None = 0,
    progress: Callable[[int, int], None] | None = None,
) -> Comparison:
    """Estimate KL(P‖Q), KL(Q‖P) and JS(P, Q) in nats from two sample sets.

    Parameters
    ----------
    p, q : SampleSet
        Samples of P and of the reference Q, with the same number of columns.
    estimator : {"auto", "knn", "knn-ensemble", "classifier"}
        Estimator of continuous samples (see :mod:`klcli.sample_estimators`;
        ``auto``: the classifier, chosen by measurement).
    k : int, optional
        Neighbour order of the ``knn`` estimator (default
        :data:`klcli.knn.DEFAULT_K` = 3); each set needs at least k+1 points.
    standardize : bool
        Whiten both sets by their pooled covariance before estimating. KL and
        JS are invariant under an invertible affine map applied to both sets,
        so this changes only the finite-sample behaviour: neighbourhoods become
        comparable across dimensions with different units and correlations.
    bootstrap : int, optional
        Number B of half-sample resamples for standard errors (default
        :data:`DEFAULT_BOOTSTRAP`; 0: standard errors from the per-point terms,
        which miss the variance of fitting; else at least 2).
    seed : int or None
        Seed of :func:`numpy.random.default_rng` for folds, subsamples and
        resamples; None draws fresh entropy.
    progress : callable, optional
        Called as ``progress(advance, total)`` with the number of points just
        processed and the total to expect.

    Returns
    -------
    Comparison
        Values ``kl_pq``, ``kl_qp``, ``symmetric_kl``, ``js``, ``js_distance``;
        ``method`` the estimator's name or ``exact``; ``stderr``; ``interval``
        (bias-aware); ``info`` with ``estimator``, ``n_p``, ``n_q``, ``dim``,
        ``bootstrap``, ``seed``, ``check`` (the cross-check estimate), and
        ``clipped`` / ``unreliable`` when they apply.

    Notes
    -----
    Routing: text labels, and 1-D integer-valued samples with at most
    :data:`MAX_DISCRETE_VALUES` distinct values over both sets, are counted
    into label-aligned histograms and compared exactly: the result is the
    divergence between the two empirical distributions (infinite KL when a
    value of one set never occurs in the other). Everything else is estimated
    with :func:`klcli.sample_estimators.estimate_divergences`; an estimate
    outside the valid range (a negative KL for nearly equal distributions) is
    clipped, with the raw value under ``clipped`` and a note.

    Standard errors: every estimate is a mean of per-point terms, and the
    default standard error is their standard deviation over √n. With B ≥ 2, a
    resample draws half of each set *without* replacement and the spread of
    the B half-sample estimates is reported (the delete-half jackknife: for a
    mean of n terms its variance equals that of the full-sample estimate).
    Resampling with replacement would create exact duplicates, which a
    nearest-neighbour estimator sees as zero distances. It costs about B/2
    times the estimate itself.

    Examples
    --------
    >>> p = SampleSet(np.array(["a", "a", "b", "b"], dtype=object), "p")
    >>> q = SampleSet(np.array(["a", "b", "b", "b"], dtype=object), "q")
    >>> c = compare_samples(p, q)
    >>> c.method["kl_pq"], round(c.values["kl_pq"], 6)
    ('exact', 0.143841)
    """
    bootstrap = DEFAULT_BOOTSTRAP if bootstrap is None else bootstrap
    k = _check_options(k, bootstrap, seed)
    if p.is_labels != q.is_labels:
        labelled, numeric = (p, q) if p.is_labels else (q, p)
        raise InputError(f"{labelled.source} holds text labels but {numeric.source} holds numbers; both must be of one kind")
    if p.dim != q.dim:
        raise InputError(f"{p.source} has {p.dim} column(s) but {q.source} has {q.dim}; samples must have the same dimension")
    if _is_discrete(p, q):
        return _compare_counts(p, q, bootstrap, seed)
    for s in (p, q):
        largest = float(np.abs(s.values).max()) if s.n else 0.0
        if largest > MAX_ABS_VALUE:
            raise InputError(
                f"{s.source}: a value of magnitude {largest:.3g} is beyond the estimators' range (±{MAX_ABS_VALUE:.0e}: "
                "squared distances and covariances would overflow float64); rescale the data"
            )
    from klcli.sample_estimators import compare_continuous

    return compare_continuous(p, q, k, estimator, standardize, bootstrap, seed, progress)


def _check_options(k: int | None, bootstrap: int, seed: int | None) -> int:
    if k is None:
        k = DEFAULT_K
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 1:
        raise UsageError(f"`k` must be a positive integer, not {k!r}")
    if isinstance(bootstrap, bool) or not isinstance(bootstrap, (int, np.integer)) or bootstrap < 0 or bootstrap == 1:
        raise UsageError(f"`bootstrap` must be 0 (no standard errors) or an integer >= 2, not {bootstrap!r}")
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0):
        raise UsageError(f"`seed` must be a non-negative integer or None, not {seed!r}")
    return int(k)


def _is_discrete(p: SampleSet, q: SampleSet) -> bool:
    """The routing rule of compare_samples (see Notes there)."""
    if p.is_labels:
        return True
    if p.dim != 1:
        return False
    both = np.concatenate([p.values[:, 0], q.values[:, 0]])
    integers = bool(np.all(both == np.round(both))) and np.abs(both).max() < 2.0**63  # int64 shows them
    return integers and np.unique(both).size <= MAX_DISCRETE_VALUES


def _compare_counts(p: SampleSet, q: SampleSet, bootstrap: int, seed: int | None) -> Comparison:
    a, b = (s.values if s.is_labels else s.values[:, 0] for s in (p, q))
    categories, codes = np.unique(np.concatenate([a, b]), return_inverse=True)
    codes = codes.ravel()
    pv = np.bincount(codes[: len(a)], minlength=len(categories)) / len(a)
    qv = np.bincount(codes[len(a) :], minlength=len(categories)) / len(b)
    exact = divergences(pv, qv)
    values = {key: exact[key] for key in ("kl_pq", "kl_qp", "js", "entropy_p", "entropy_q")}
    kind = "text labels" if p.is_labels else f"integers with at most {MAX_DISCRETE_VALUES} distinct values"
    notes = [f"samples are {kind}: compared exactly as histograms of counts over {len(categories)} values"]
    shown_categories = categories if p.is_labels else categories.astype(np.int64)
    for key, src, present, absent in (("kl_pq", p.source, pv, qv), ("kl_qp", q.source, qv, pv)):
        if math.isinf(values[key]):
            missing = shown_categories[(present > 0) & (absent == 0)]
            shown = ", ".join(map(str, missing[:5])) + (", ..." if len(missing) > 5 else "")
            notes.append(f"{key} is infinite: {src} has values the other set never shows ({shown})")
    if bootstrap:
        notes.append("no resampling for counted samples: the values are exact for the empirical distributions")
    info = {"n_p": p.n, "n_q": q.n, "dim": 1, "categories": len(categories), "bootstrap": 0, "seed": seed}
    return Comparison.from_nats(values, method="exact", info=info, notes=notes)
