"""Many histogram files against one reference, and all-pairs matrices.

Files are read in parallel threads, in input order, through the same reader
and preparation as ``compare`` (:func:`klcli.sources.read_source`,
:func:`klcli.compare.prepare_side`). The prepared 1-D pairs are stacked into
2-D blocks of the same length and every divergence of a block comes from one
vectorised pass of :func:`klcli.discrete.divergences`, so each file gets the
values ``compare FILE REF`` gives, at a fraction of the cost. Blocks are
bounded (:data:`BLOCK_ELEMENTS`), so memory does not grow with the number of
files beyond one small result per file.

Examples
--------
>>> import os, tempfile
>>> folder = tempfile.mkdtemp()
>>> for name, counts in (("ref.csv", "5\\n5\\n"), ("a.csv", "2\\n8\\n"), ("b.csv", "5\\n5\\n")):
...     with open(os.path.join(folder, name), "w") as handle:
...         _ = handle.write(counts)
>>> files = [os.path.join(folder, n) for n in ("a.csv", "b.csv")]
>>> results = compare_batch(os.path.join(folder, "ref.csv"), files)
>>> [round(r.comparison.values["kl_pq"], 6) for r in results]
[0.192745, 0.0]
"""

from __future__ import annotations

import math
import os
import sys
from collections import deque
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Callable, Iterator, Sequence

import numpy as np

from klcli import discrete
from klcli.compare import CompareOptions, Side, exact_normalisation, pair_sides, prepare_side
from klcli.errors import InputError, KlcliError, UsageError
from klcli.result import VALUE_KEYS, Comparison, parse_base
from klcli.sources import EXTENSIONS, Histogram, read_source

#: File name endings a directory argument is searched for (case-insensitive).
HISTOGRAM_EXTENSIONS = tuple(sorted(EXTENSIONS))

#: Elements per side of one vectorised block (8 MiB of float64 each): larger blocks
#: cost memory (4 Mi values: 220 MiB peak on 10,000 files) and gain no speed.
BLOCK_ELEMENTS = 1 << 20

#: Values a pairwise matrix can hold.
PAIRWISE_METRICS = ("kl_pq", "kl_qp", "symmetric_kl", "js", "js_distance")

#: A matrix-product result smaller than this fraction of the terms it was
#: computed from may have lost more than ~1e-10 of its relative accuracy to
#: cancellation; such pairs are recomputed with the stable per-bin kernel.
CANCELLATION_GUARD = 1e-5

#: Pairs per call of the stable kernel when recomputing.
_PAIR_CHUNK = 1024

Progress = Callable[[int], None]


@dataclass
class FileResult:
    """The outcome for one file: a comparison, or the error that stopped it."""

    file: str
    comparison: Comparison | None = None
    error: str | None = None

    @property
    def failed(self) -> bool:
        return self.error is not None


# ---------------------------------------------------------------------------
# Which files


def collect_files(paths: Sequence[str] = (), *, files_from: str | None = None, stdin=None) -> list[str]:
    """The files to compare: arguments, directories and a list file, in that order.

    A directory stands for its histogram files (:data:`HISTOGRAM_EXTENSIONS`),
    sorted by name, not recursing. ``files_from`` names a text file with one
    path per line (``-``: standard input); blank lines and lines starting with
    ``#`` are skipped, relative paths are taken from the working directory.

    >>> collect_files(["b.csv", "a.csv"])
    ['b.csv', 'a.csv']
    """
    files: list[str] = []
    for path in paths:
        files.extend(directory_files(path) if os.path.isdir(path) else [path])
    if files_from is not None:
        files.extend(_read_file_list(files_from, stdin))
    if not files:
        raise UsageError("no files to compare: give FILE arguments, a directory or --files-from LIST")
    return files


def directory_files(folder: str) -> list[str]:
    """The histogram files directly inside ``folder``, sorted by name."""
    try:
        names = sorted(os.listdir(folder))
    except OSError as error:
        raise InputError(f"{folder}: cannot list the directory: {error.strerror or error}") from None
    files = [
        os.path.join(folder, name) for name in names if name.lower().endswith(HISTOGRAM_EXTENSIONS) and os.path.isfile(os.path.join(folder, name))
    ]
    if not files:
        raise InputError(f"{folder}: no histogram files in this directory (looked for {', '.join(HISTOGRAM_EXTENSIONS)})")
    return files


def _read_file_list(files_from: str, stdin) -> list[str]:
    try:
        if files_from == "-":
            text = (stdin or sys.stdin).read()
            text = text.decode("utf-8") if isinstance(text, bytes) else text
        else:
            with open(files_from, encoding="utf-8") as handle:
                text = handle.read()
    except OSError as error:
        raise InputError(f"{files_from}: cannot read the file list: {error.strerror or error}") from None
    except UnicodeDecodeError:
        raise InputError(f"{files_from}: the file list is not UTF-8 text") from None
    lines = (line.strip() for line in text.splitlines())
    return [line for line in lines if line and not line.startswith("#")]


# ---------------------------------------------------------------------------
# Reading


def read_histogram(path: str, options: CompareOptions) -> Histogram:
    """Read one batch file; every error message starts with its path."""
    if not os.path.exists(path):
        raise InputError(f"{path}: no such file")
    if os.path.isdir(path):
        raise InputError(f"{path}: is a directory, not a histogram file")
    source = read_source(path, role=path, column=options.column, key=options.key)
    if not isinstance(source, Histogram):
        raise InputError(f"{path}: holds a distribution spec; batch compares histogram files")
    return source


def _read_in_order(files: Sequence[str], options: CompareOptions, jobs: int | None) -> Iterator[Histogram | KlcliError]:
    """Read ``files`` in worker threads and yield each outcome in input order.

    At most a few reads per worker are in flight, so memory holds a bounded
    window of files, not all of them.
    """
    jobs = jobs or min(32, (os.cpu_count() or 1) + 4)

    def read(path: str) -> Histogram | KlcliError:
        try:
            return read_histogram(path, options)
        except KlcliError as error:
            return error

    with ThreadPoolExecutor(max_workers=jobs) as pool:
        window: deque = deque()
        paths = iter(files)
        for path in paths:
            window.append(pool.submit(read, path))
            if len(window) >= 4 * jobs:
                break
        while window:
            outcome = window.popleft().result()
            for path in paths:
                window.append(pool.submit(read, path))
                break
            yield outcome


def _by_blocks(options: CompareOptions, reference: Side) -> bool:
    """Whether the files can be read in blocks (:mod:`klcli.blockread`): plain weights against a 1-D positional reference."""
    return (
        options.from_ == "probs"
        and not options.smooth
        and options.column is None
        and options.key is None
        and options.input_format in (None, "csv", "tsv", "txt")
        and reference.values.ndim == 1
        and reference.labels is None
    )


def _read_blocks(files: Sequence[str], options: CompareOptions, jobs: int | None) -> Iterator[Side | Histogram | KlcliError]:
    """Like :func:`_read_in_order`, a block of files per worker; plain files come prepared.

    A plain file yields the :class:`~klcli.compare.Side` that
    :func:`klcli.compare.prepare_side` would give; any other file, the
    outcome of :func:`read_histogram`, read in the same worker.
    """
    from klcli.blockread import FILES_PER_BLOCK, read_block

    jobs = min(jobs or os.cpu_count() or 1, 8)

    def read(paths: Sequence[str]) -> list:
        rows = read_block(paths)
        outcomes: list = [None] * len(paths)
        for i, side in enumerate(rows):
            if side is not None:
                side.name = paths[i]
                outcomes[i] = side
            else:
                try:
                    outcomes[i] = read_histogram(paths[i], options)
                except KlcliError as error:
                    outcomes[i] = error
        return outcomes

    with ThreadPoolExecutor(max_workers=jobs) as pool:
        window: deque = deque()
        starts = iter(range(0, len(files), FILES_PER_BLOCK))
        for start in starts:
            window.append(pool.submit(read, files[start : start + FILES_PER_BLOCK]))
            if len(window) >= 2 * jobs:
                break
        while window:
            outcomes = window.popleft().result()
            for start in starts:
                window.append(pool.submit(read, files[start : start + FILES_PER_BLOCK]))
                break
            yield from outcomes


def _message(path: str, error: KlcliError) -> str:
    """The error's message, prefixed with the file when it does not name it."""
    text = str(error)
    return text if path in text else f"{path}: {text}"


# ---------------------------------------------------------------------------
# Many files against one reference


def compare_batch(
    reference: str,
    files: Sequence[str],
    options: CompareOptions | None = None,
    *,
    keep_going: bool = False,
    jobs: int | None = None,
    progress: Progress | None = None,
    stdin=None,
) -> list[FileResult]:
    """Compare every file (P) with ``reference`` (Q), in input order.

    Parameters
    ----------
    reference : str
        Q: a file, ``-`` or inline numbers, read as ``compare`` reads it.
    files : sequence of str
        The P files (see :func:`collect_files`).
    options : CompareOptions
        As for ``compare``; ``--from samples`` and the spec engines do not apply.
    keep_going : bool
        Record a bad file's error in its result and go on, instead of raising.
    jobs : int, optional
        Reader threads (default: CPU count + 4, at most 32).
    progress : callable, optional
        Called with the number of files finished since the last call.

    Returns
    -------
    list of FileResult
        One per file, with the comparison ``compare FILE REFERENCE`` gives
        (in ``options.base``), or the error message.

    Examples
    --------
    >>> [r.error for r in compare_batch("0.5,0.5", ["missing.csv"], keep_going=True)]
    ['missing.csv: no such file']
    """
    options = options or CompareOptions()
    _check_histogram_options(options)
    q = read_source(reference, role="REF", input_format=options.input_format, column=options.column, key=options.key, stdin=stdin)
    if not isinstance(q, Histogram):
        raise InputError(f"REF: {reference} is a distribution spec; batch compares histogram files with a histogram")
    reference_side = prepare_side(q, options, "Q")  # validated once, before any file
    results: list[FileResult] = [FileResult(path) for path in files]
    blocks = _Blocks(options, results)
    if _by_blocks(options, reference_side):
        outcomes = _read_blocks(files, options, jobs)
    else:
        outcomes = _read_in_order(files, options, jobs)
    for index, outcome in enumerate(outcomes):
        path = files[index]
        try:
            if isinstance(outcome, KlcliError):
                raise outcome
            p_side = outcome if isinstance(outcome, Side) else prepare_side(outcome, options, "P")
            blocks.add(index, pair_sides(p_side, reference_side, options), (p_side, reference_side))
        except KlcliError as error:
            if not keep_going:
                raise InputError(_message(path, error)) from None
            results[index].error = _message(path, error)
        if progress:
            progress(1)
    blocks.flush_all()
    return results


def _check_histogram_options(options: CompareOptions) -> None:
    options.validate()
    if options.from_ == "samples":
        raise UsageError("--from samples is not supported by batch: it compares histogram files")
    if options.engine not in ("auto", "exact"):
        raise UsageError(f"--engine {options.engine} applies to distribution specs; batch computes histograms exactly")


@dataclass
class _Blocks:
    """Prepared 1-D pairs waiting for a vectorised pass, grouped by length."""

    options: CompareOptions
    results: list[FileResult]
    pending: dict[int, list] = field(default_factory=dict)

    def add(self, index: int, prepared: tuple, sides: tuple | None = None) -> None:
        """``sides`` (the two prepared sides) let nearly equal files be renormalised exactly, as ``compare`` does."""
        p = prepared[0]
        if p.ndim == 2:  # a file holding a batch of rows: compared on its own, with --reduction
            self.results[index].comparison = _finish(_compare_one(prepared, self.options, sides), prepared, self.options)
            return
        rows = self.pending.setdefault(p.shape[0], [])
        rows.append((index, prepared, sides))
        if len(rows) * p.shape[0] >= BLOCK_ELEMENTS:
            self.flush(p.shape[0])

    def flush_all(self) -> None:
        for length in list(self.pending):
            self.flush(length)

    def flush(self, length: int) -> None:
        rows = self.pending.pop(length)
        p = np.stack([prepared[0] for _, prepared, _ in rows])
        q = np.stack([prepared[1] for _, prepared, _ in rows])
        with_logs = rows[0][1][2] is not None
        log_p = np.stack([prepared[2] for _, prepared, _ in rows]) if with_logs else None
        log_q = np.stack([prepared[3] for _, prepared, _ in rows]) if with_logs else None
        if self.options.device is None:
            raw = discrete.divergences(p, q, log_p=log_p, log_q=log_q)
        else:
            from klcli.engines.discrete_torch import divergences as divergences_on_device

            raw = divergences_on_device(p, q, device=self.options.device, log_p=log_p, log_q=log_q)
        for i, (index, prepared, sides) in enumerate(rows):
            values = {key: float(raw[key][i]) for key in ("kl_pq", "kl_qp", "js", "entropy_p", "entropy_q")}
            exact = _exact_normalisation(prepared, sides, self.options)
            if exact is not None and self.options.device is None and discrete.rounding_may_show(values):
                exact_values = discrete.divergences(prepared[0], prepared[1], exact=exact)
                values.update({key: float(exact_values[key]) for key in ("kl_pq", "kl_qp", "js")})
            comparison = Comparison.from_nats(values, method="exact")
            if math.isinf(values["kl_pq"]) or math.isinf(values["kl_qp"]):  # name the zero bins, as compare does
                p_i, q_i, lp_i, lq_i, labels, _ = prepared
                discrete.note_zero_bins(comparison, discrete.zero_bins(p_i, q_i, lp_i, lq_i), p.shape[1], labels, False)
            self.results[index].comparison = _finish(comparison, prepared, self.options)


def _compare_one(prepared: tuple, options: CompareOptions, sides: tuple | None = None) -> Comparison:
    p, q, log_p, log_q, labels, _ = prepared
    return discrete.compare_probabilities(
        p,
        q,
        reduction=options.reduction,
        log_p=log_p,
        log_q=log_q,
        labels=labels,
        device=options.device,
        exact=_exact_normalisation(prepared, sides, options),
    )


def _exact_normalisation(prepared: tuple, sides: tuple | None, options: CompareOptions):
    """The raw weights behind a prepared pair (None when they were not kept)."""
    if sides is None or prepared[2] is not None:
        return None
    return exact_normalisation(sides[0], sides[1], prepared[0], prepared[1], options)


def _finish(comparison: Comparison, prepared: tuple, options: CompareOptions) -> Comparison:
    """Add the preparation notes and convert to the unit asked for, as ``compare`` does."""
    comparison.notes[:0] = prepared[5]
    return comparison.in_base(options.base)


def exceeding(results: Sequence[FileResult], metric: str, threshold: float) -> list[FileResult]:
    """The results whose ``metric`` (any row of it, unreduced) is above ``threshold``.

    >>> c = Comparison.from_nats({"kl_pq": 0.5, "kl_qp": 0.1, "js": 0.1}, method="exact")
    >>> [r.file for r in exceeding([FileResult("a", c)], "kl_pq", 0.2)]
    ['a']
    """
    return [r for r in results if not r.failed and r.comparison is not None and bool(np.any(np.asarray(r.comparison.values[metric]) > threshold))]


def sort_results(results: Sequence[FileResult], metric: str | None, top: int | None) -> list[FileResult]:
    """Largest ``metric`` first (failed files last), then the first ``top``.

    A file holding several rows is ranked by the largest of them.
    """
    ordered = list(results)
    if metric is not None:
        if metric not in VALUE_KEYS:
            raise UsageError(f"`--sort` must be one of {', '.join(VALUE_KEYS)}, not {metric!r}")

        def rank(result: FileResult) -> tuple[bool, float]:
            if result.failed:
                return (True, 0.0)
            assert result.comparison is not None  # a file that did not fail has its comparison
            return (False, -float(np.max(result.comparison.values[metric])))

        ordered.sort(key=rank)
    return ordered[:top] if top is not None else ordered


# ---------------------------------------------------------------------------
# All pairs


@dataclass
class PairwiseMatrix:
    """``matrix[i, j]`` is ``metric`` with P = ``files[i]`` and Q = ``files[j]``.

    JS, JS distance and symmetric KL give a symmetric matrix; ``kl_pq`` and
    ``kl_qp`` do not (``kl_qp`` is the transpose of ``kl_pq``). The diagonal
    is zero. ``failed`` lists the files left out (``keep_going``).
    """

    files: list[str]
    metric: str
    base: str
    matrix: np.ndarray
    failed: list[FileResult] = field(default_factory=list)
    recomputed: int = 0


def pairwise_matrix(
    files: Sequence[str],
    options: CompareOptions | None = None,
    *,
    metric: str = "js",
    cluster: bool = False,
    keep_going: bool = False,
    jobs: int | None = None,
    progress: Progress | None = None,
) -> PairwiseMatrix:
    """The matrix of ``metric`` between every pair of files (in ``options.base``).

    Each file is normalised as ``compare`` does; labelled histograms are put
    on the union of all their labels. See :func:`pairwise_divergences` for
    how the matrix is computed. ``cluster`` orders the files by
    :func:`cluster_order` instead of input order.

    Examples
    --------
    >>> m = pairwise_matrix(["missing.csv"], keep_going=True)
    Traceback (most recent call last):
    ...
    klcli.errors.InputError: pairwise needs at least two readable files
    """
    options = options or CompareOptions()
    _check_histogram_options(options)
    if metric not in PAIRWISE_METRICS:
        raise UsageError(f"`--metric` for --pairwise must be one of {', '.join(PAIRWISE_METRICS)}, not {metric!r}")
    histograms: list[Histogram] = []
    failed: list[FileResult] = []
    for path, outcome in zip(files, _read_in_order(files, options, jobs)):
        try:
            if isinstance(outcome, KlcliError):
                raise outcome
            if outcome.values.ndim != 1:
                raise InputError(f"{path}: holds a 2-D batch of {outcome.values.shape[0]} rows; --pairwise compares 1-D histograms")
            prepare_side(outcome, options, path)  # validates its weights (or logits)
            histograms.append(outcome)
        except KlcliError as error:
            if not keep_going:
                raise InputError(_message(path, error)) from None
            failed.append(FileResult(path, error=_message(path, error)))
        if progress:
            progress(1)
    if len(histograms) < 2:
        raise InputError("pairwise needs at least two readable files")
    p, log_p = _prepare_rows(histograms, options)
    values, recomputed = pairwise_divergences(p, metric="js" if metric == "js_distance" else metric, log_p=log_p)
    log_base = parse_base(options.base)[1]
    values = values / log_base
    if metric == "js_distance":
        values = np.sqrt(np.maximum(values, 0.0))
    label = parse_base(options.base)[0]
    names = [h.name for h in histograms]
    if cluster and len(names) > 2:
        js = values if metric in ("js", "js_distance") else pairwise_divergences(p, metric="js", log_p=log_p)[0]
        order = cluster_order(np.sqrt(js) if metric != "js_distance" else js)
        names, values = [names[i] for i in order], values[np.ix_(order, order)]
    return PairwiseMatrix(names, metric, label, values, failed, recomputed)


def cluster_order(distance: np.ndarray) -> np.ndarray:
    """A hierarchical-clustering order of the rows of a distance matrix.

    Average linkage, leaves in the optimal order of
    :func:`scipy.cluster.hierarchy.leaves_list` (scipy is imported here only).

    >>> cluster_order(np.array([[0, 9, 1], [9, 0, 8], [1, 8, 0.0]])).tolist()
    [1, 2, 0]
    """
    from scipy.cluster.hierarchy import leaves_list, linkage
    from scipy.spatial.distance import squareform

    condensed = squareform(np.maximum(distance, distance.T), checks=False)
    return leaves_list(linkage(condensed, method="average", optimal_ordering=True))


def exceeding_pairs(m: PairwiseMatrix, threshold: float) -> list[tuple[str, str]]:
    """The pairs ``(P, Q)`` whose value is above ``threshold`` (each once when symmetric).

    >>> m = PairwiseMatrix(["a", "b"], "js", "e", np.array([[0, 0.3], [0.3, 0.0]]))
    >>> exceeding_pairs(m, 0.1)
    [('a', 'b')]
    """
    over = m.matrix > threshold
    if m.metric not in ("kl_pq", "kl_qp"):
        over = np.triu(over, 1)
    return [(m.files[i], m.files[j]) for i, j in zip(*np.nonzero(over))]


def _prepare_rows(histograms: list[Histogram], options: CompareOptions) -> tuple[np.ndarray, np.ndarray | None]:
    """One row of probabilities (and log-probabilities) per histogram, on common bins."""
    first = histograms[0]
    if any((h.labels is None) != (first.labels is None) for h in histograms):
        mixed = next(h for h in histograms if (h.labels is None) != (first.labels is None))
        raise InputError(f"{mixed.name} and {first.name}: labelled and positional histograms cannot be compared; give labels to all, or to none")
    if first.labels is not None:
        label_lists: list[list[str]] = []
        for h in histograms:
            assert h.labels is not None  # all labelled or none (checked above)
            label_lists.append(h.labels)
        labels = list(dict.fromkeys(label for own in label_lists for label in own))
        column = {label: i for i, label in enumerate(labels)}
        aligned = []
        for h, own in zip(histograms, label_lists):
            values = np.full(len(labels), -np.inf if options.from_ != "probs" else 0.0)
            values[[column[label] for label in own]] = h.values
            aligned.append(Histogram(values, h.name, h.kind))
        histograms = aligned
    length = first.values.shape[-1]
    for h in histograms:
        if h.values.shape[-1] != length:
            raise InputError(f"{h.name} has {h.values.shape[-1]} bins but {first.name} has {length}: positional histograms must have the same length")
    stacked = Histogram(np.stack([h.values for h in histograms]), "files", first.kind)
    side = prepare_side(stacked, options)
    p, _, log_p, _, _, _ = pair_sides(side, side, options)  # smoothing, as compare applies it
    return p, log_p


def pairwise_divergences(p, *, metric: str = "js", log_p=None) -> tuple[np.ndarray, int]:
    """All-pairs divergences of the rows of ``p`` (normalised), in nats.

    KL uses ``KL(P_i‖P_j) = Σ p_i log p_i − (P · log Pᵀ)_ij``, one matrix
    product; a bin where ``p_j = 0 < p_i`` makes the pair infinite. JS uses
    ``JS = ln 2 + ½(Σ p_i log p_i + Σ p_j log p_j − Σ s log s)`` with
    ``s = p_i + p_j``, one logarithm per bin and pair (the mixture has no
    matrix-product form). Both subtract terms of order one to get a result
    that may be tiny, so every pair whose result is below
    :data:`CANCELLATION_GUARD` times the size of its terms (the diagonal
    among them) is recomputed with the stable kernel of
    :func:`klcli.discrete.divergences`.

    Returns
    -------
    matrix : ndarray
        ``matrix[i, j]`` with P = row i, Q = row j.
    recomputed : int
        How many pairs the stable kernel recomputed.

    Examples
    --------
    >>> m, _ = pairwise_divergences([[0.5, 0.5], [0.2, 0.8], [0.5, 0.5]])
    >>> np.round(m, 6).tolist()
    [[0.0, 0.050672, 0.0], [0.050672, 0.0, 0.050672], [0.0, 0.050672, 0.0]]
    """
    p = np.ascontiguousarray(p, dtype=np.float64)
    if metric in ("kl_pq", "kl_qp", "symmetric_kl"):
        kl, scale = _kl_by_products(p, log_p)
        recomputed = _recompute_small(kl, scale, p, log_p, "kl_pq")
        matrix = {"kl_pq": kl, "kl_qp": kl.T, "symmetric_kl": kl + kl.T}[metric]
    elif metric == "js":
        matrix, scale = _js_by_rows(p)
        recomputed = _recompute_small(matrix, scale, p, log_p, "js")
    else:
        raise UsageError(f"`--metric` for --pairwise must be one of {', '.join(PAIRWISE_METRICS)}, not {metric!r}")
    return np.ascontiguousarray(matrix), recomputed


def _plogp(p: np.ndarray, log_p: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
    """``log p`` with 0 where ``p = 0`` (0·log 0 = 0), and the mask of those bins."""
    if log_p is None:
        zero = p == 0
        with np.errstate(divide="ignore"):
            logs = np.log(p)
    else:
        zero = np.isneginf(log_p)
        logs = np.array(log_p, dtype=np.float64)
    logs[zero] = 0.0
    return logs, zero


def _kl_by_products(p: np.ndarray, log_p) -> tuple[np.ndarray, np.ndarray]:
    logs, zero = _plogp(p, log_p)
    neg_entropy = np.einsum("ik,ik->i", p, logs)[:, None]
    cross = p @ logs.T  # Σ_k p_ik log p_jk
    kl = neg_entropy - cross
    if zero.any():  # bins where p_j = 0 < p_i make KL(P_i‖P_j) infinite
        support_gap = (~zero).astype(np.float32) @ zero.T.astype(np.float32)
        kl[support_gap > 0] = np.inf
    # both terms are ≤ 0, so the size of the terms is −(neg_entropy + cross), formed in place
    np.add(cross, neg_entropy, out=cross)
    return kl, np.negative(cross, out=cross)


def _js_by_rows(p: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """JS of every pair from ``Σ s log s``, upper triangle only, in threads."""
    n, k = p.shape
    logs, _ = _plogp(p, None)
    neg_entropy = np.einsum("ik,ik->i", p, logs)
    mixture = np.zeros((n, n))
    has_zero = bool((p == 0).any())
    cols_per_step = max(1, (1 << 14) // k)  # s and log s of one step stay in cache

    def row(i: int) -> None:
        for j0 in range(i, n, cols_per_step):
            s = p[j0 : j0 + cols_per_step] + p[i]
            log_s = np.log(np.where(s > 0, s, 1.0) if has_zero else s)
            mixture[i, j0 : j0 + s.shape[0]] = np.einsum("jk,jk->j", s, log_s)

    with ThreadPoolExecutor(max_workers=os.cpu_count() or 1) as pool:
        list(pool.map(row, range(n)))
    upper = np.triu(mixture)
    mixture = upper + np.triu(upper, 1).T
    js = np.maximum(math.log(2.0) + 0.5 * (neg_entropy[:, None] + neg_entropy[None, :] - mixture), 0.0)
    scale = np.abs(neg_entropy)[:, None] + np.abs(neg_entropy)[None, :] + np.abs(mixture)
    return js, scale


def _recompute_small(matrix: np.ndarray, scale: np.ndarray, p: np.ndarray, log_p, key: str) -> int:
    """Overwrite, in place, the pairs cancellation may have spoilt; return how many.

    The diagonal is exactly 0 (a distribution against itself) and is set so.
    """
    suspect = np.isfinite(matrix) & (matrix <= CANCELLATION_GUARD * scale)
    np.fill_diagonal(suspect, False)
    np.fill_diagonal(matrix, 0.0)
    rows, cols = np.nonzero(suspect)
    for start in range(0, rows.size, _PAIR_CHUNK):
        i, j = rows[start : start + _PAIR_CHUNK], cols[start : start + _PAIR_CHUNK]
        logs = {} if log_p is None else {"log_p": log_p[i], "log_q": log_p[j]}
        matrix[i, j] = discrete.divergences(p[i], p[j], entropies=False, **logs)[key]
    return int(rows.size)
