"""The Python API: ``klcli.compare``, ``klcli.batch``, ``klcli.pairwise`` and ``klcli.drift``.

Each function takes what a notebook or a pipeline holds (lists, numpy arrays,
pandas Series and DataFrames, pyarrow tables, torch tensors) as well as
everything the command line takes (paths, ``-``, specs, inline numbers), and
runs exactly the command's code: the same validation, normalisation and
messages (errors are :class:`~klcli.errors.KlcliError` subclasses), and a
result whose ``to_dict()`` is the command's ``--format json`` object.

pandas, pyarrow and torch are imported only when such an object is passed.

Examples
--------
>>> r = compare([3, 3, 4], [2, 2, 6])
>>> round(r.kl_pq, 4), r.notes[0]
(0.0811, 'P was normalised: its weights summed to 10')
>>> compare("0.1,0.9", "0.5,0.5", base=2).to_dict()["kl_pq"]  # doctest: +ELLIPSIS
0.531004...
"""

from __future__ import annotations

import io
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from klcli.errors import InputError, UsageError
from klcli.result import Comparison, Value

# klcli.compare and klcli.sources (and their readers) are imported by the functions that use them,
# so that `import klcli` and commands that do not compare (drift, families) stay light.

__all__ = ["BatchResult", "DriftResult", "PairwiseResult", "Result", "batch", "compare", "drift", "pairwise"]


# ---------------------------------------------------------------------------
# Results


@dataclass(frozen=True)
class Result:
    """The divergences between P and Q, as ``klcli compare`` reports them.

    ``values`` maps ``kl_pq``, ``kl_qp``, ``symmetric_kl``, ``js``,
    ``js_distance`` (and entropies when known) to floats, or to arrays with one
    entry per row for ``reduction="none"``. ``result["js"]`` and ``result.js``
    read the same value.

    Examples
    --------
    >>> r = compare([0.1, 0.9], [0.5, 0.5])
    >>> r["kl_pq"] == r.kl_pq == r.values["kl_pq"], r.method["kl_pq"], r.base
    (True, 'exact', 'e')
    """

    comparison: Comparison
    p: str = "P"
    q: str = "Q"

    def to_dict(self) -> dict[str, Any]:
        """The JSON object of ``klcli compare --format json`` (infinity as ``"inf"``, lists for batches)."""
        from klcli.render import comparison_record

        return comparison_record(self.comparison, p=self.p, q=self.q)

    def __getitem__(self, key: str) -> Value:
        return self.comparison.values[key]

    @property
    def values(self) -> dict[str, Value]:
        """Every value, in the unit of :attr:`base`."""
        return self.comparison.values

    @property
    def method(self) -> dict[str, str]:
        """How each value was obtained: ``exact``, ``closed_form``, ``quadrature``, ``monte_carlo``..."""
        return self.comparison.method

    @property
    def stderr(self) -> dict[str, Value]:
        """The standard error of every estimated value (empty when everything is exact)."""
        return self.comparison.stderr

    @property
    def base(self) -> str:
        """The unit: ``e`` (nats), ``2`` (bits), ``10`` or the number given."""
        return self.comparison.base

    @property
    def notes(self) -> list[str]:
        """Remarks the table prints below it (normalisation, zero bins, temperature...)."""
        return self.comparison.notes

    @property
    def kl_pq(self) -> Value:
        """KL(P‖Q), how P diverges from the reference Q."""
        return self.comparison.values["kl_pq"]

    @property
    def kl_qp(self) -> Value:
        """KL(Q‖P)."""
        return self.comparison.values["kl_qp"]

    @property
    def symmetric_kl(self) -> Value:
        """KL(P‖Q) + KL(Q‖P)."""
        return self.comparison.values["symmetric_kl"]

    @property
    def js(self) -> Value:
        """The Jensen-Shannon divergence."""
        return self.comparison.values["js"]

    @property
    def js_distance(self) -> Value:
        """The square root of :attr:`js` (what ``scipy.spatial.distance.jensenshannon`` returns)."""
        return self.comparison.values["js_distance"]


@dataclass(frozen=True)
class BatchResult:
    """One :class:`Result` per file (``None`` where the file failed with ``keep_going``), in input order."""

    files: list[str]
    results: list[Result | None]
    errors: dict[str, str] = field(default_factory=dict)
    reference: str = "REF"

    def __len__(self) -> int:
        return len(self.results)

    def __getitem__(self, index: int) -> Result | None:
        return self.results[index]

    def to_list(self) -> list[dict[str, Any]]:
        """The JSON list of ``klcli batch --format json``: each ``compare`` object with ``"file"``."""
        return _batch_records(self)

    def to_frame(self):
        """A pandas DataFrame, one row per file, with the scalar values (needs pandas)."""
        import pandas as pd

        return pd.DataFrame([{k: v for k, v in r.items() if not isinstance(v, (dict, list))} for r in self.to_list()]).set_index("file")


def _batch_records(result: BatchResult) -> list[dict[str, Any]]:
    from klcli.render import comparison_record

    return [
        {"file": name, "error": result.errors[name]} if r is None else comparison_record(r.comparison, file=name, p=name, q=result.reference)
        for name, r in zip(result.files, result.results)
    ]


@dataclass(frozen=True)
class PairwiseResult:
    """``matrix[i, j]`` is ``metric`` with P = ``files[i]`` and Q = ``files[j]``."""

    files: list[str]
    metric: str
    base: str
    matrix: np.ndarray
    errors: dict[str, str] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """The JSON object of ``klcli batch --pairwise --format json``."""
        record: dict[str, Any] = {"files": list(self.files), "metric": self.metric, "base": self.base, "matrix": self.matrix}
        if self.errors:
            record["errors"] = [{"file": f, "error": e} for f, e in self.errors.items()]
        from klcli.render import plain

        return plain(record)

    def to_frame(self):
        """The matrix as a pandas DataFrame (rows P, columns Q; needs pandas)."""
        import pandas as pd

        return pd.DataFrame(self.matrix, index=self.files, columns=self.files)


@dataclass(frozen=True)
class DriftResult:
    """The drift report of two tables: ``drifted``, and one record per column."""

    report: Any  # klcli.drift.DriftReport

    @property
    def drifted(self) -> bool:
        """True when the dataset rule holds (``klcli drift`` would exit 1)."""
        return bool(self.report.drifted)

    @property
    def columns(self) -> list[dict[str, Any]]:
        """One record per column: ``column``, ``kind``, ``metric``, ``value``, ``threshold``, ``drifted``, ``severity``..."""
        return self.to_dict()["columns"]

    def to_dict(self) -> dict[str, Any]:
        """The JSON object of ``klcli drift --format json``."""
        from klcli.render import plain

        return plain(self.report.record())

    def to_frame(self):
        """One row per column (needs pandas)."""
        import pandas as pd

        return pd.DataFrame([{k: v for k, v in c.items() if not isinstance(v, (dict, list))} for c in self.columns]).set_index("column")


# ---------------------------------------------------------------------------
# compare


def compare(
    p: Any,
    q: Any,
    *,
    base: str | float = "e",
    from_: str = "probs",
    temperature: float = 1.0,
    smooth: float | None = None,
    reduction: str = "batchmean",
    engine: str = "auto",
    samples: int = 100_000,
    seed: int | None = 0,
    device: str | None = None,
    column: str | None = None,
    key: str | None = None,
    scale_t2: bool = False,
    drawn_from: str = "p",
    groups: Any = None,
    mask: Any = None,
    per_dimension: bool = False,
    active_threshold: float = 0.01,
    names: tuple[str, str] | None = None,
) -> Result:
    """Divergences of P from the reference Q, as ``klcli compare P Q`` computes them.

    Parameters
    ----------
    p, q : array_like, pandas.Series, mapping, torch.Tensor, str or path
        A histogram (counts or probabilities: they are normalised), logits or
        log-probabilities (``from_``), a 2-D batch (one distribution per row),
        a ``{label: weight}`` mapping or a Series (labels from the index), or
        anything the command takes: a path, ``"-"`` (stdin), a spec such as
        ``"normal(0, 1)"`` or inline numbers ``"0.2,0.8"``. Q is the reference.
    base : {"e", 2, 10} or float
        Unit of every value (nats by default).
    from_ : {"probs", "logprobs", "logits", "samples", "sampled-logprobs"}
        How the numbers are read (``samples`` reads files of observations).
    temperature : float
        For logits and log-probabilities: divide by T before the softmax.
    smooth : float, optional
        Additive smoothing after normalisation, on both sides.
    reduction : {"batchmean", "sum", "none"}
        How the rows of a 2-D batch combine (``none``: one value per row).
    engine : {"auto", "exact", "closed", "quad", "mc"}
        How a pair of specs is computed.
    samples, seed, device
        Monte Carlo size, seed and device (``device`` needs torch).
    drawn_from, groups, mask
        ``from_="sampled-logprobs"`` (P and Q: log p(xᵢ) and log q(xᵢ) of the same draws): the side
        the draws came from, a sequence id per row, and 1/0 per row to keep or drop it.
    per_dimension, active_threshold
        Batches of products of scalar families (diagonal Gaussians): the mean KL per dimension and
        the count of dimensions above ``active_threshold`` nats.
    column, key
        Which column of a table file, which array of an ``.npz`` file.
    scale_t2 : bool
        Multiply the KL values by T², the knowledge-distillation convention (see
        :func:`klcli.compare.scale_by_t2` for the reason).
    names : (str, str), optional
        The names ``to_dict()`` gives P and Q (default: the text of a string
        source, else ``"P"`` and ``"Q"``).

    Returns
    -------
    Result
        ``to_dict()`` is the ``--format json`` object of the command.

    Raises
    ------
    klcli.UsageError
        An option has a bad value, or options that do not go together.
    klcli.InputError
        The data cannot be used (negative or NaN weight, unequal lengths...).

    Examples
    --------
    >>> round(compare([0.2, 0.8], [0.5, 0.5], base=2).kl_pq, 6)
    0.278072
    >>> import numpy as np
    >>> r = compare(np.array([[2.0, 0.0], [0.0, 2.0]]), np.zeros((2, 2)), from_="logits", reduction="none")
    >>> r.kl_pq.round(4).tolist()
    [0.3278, 0.3278]
    >>> compare("normal(0, 1)", "normal(1, 1)").to_dict()["kl_pq"]
    0.5
    >>> compare([0.5, -0.5], [0.5, 0.5])
    Traceback (most recent call last):
    ...
    klcli.errors.InputError: P: index 1: negative weight -0.5
    """
    from klcli.compare import CompareOptions, compare_read, compare_sources

    options = CompareOptions(
        base=_base_text(base),
        smooth=smooth,
        from_=from_,
        temperature=temperature,
        reduction=reduction,
        engine=engine,
        samples=samples,
        seed=seed,
        device=device,
        column=column,
        key=key,
        scale_t2=scale_t2,
        drawn_from=drawn_from,
        per_dimension=per_dimension,
        active_threshold=active_threshold,
    )
    p_name, q_name = names or (_name(p, "P"), _name(q, "Q"))
    if from_ == "sampled-logprobs":
        return Result(_compare_sampled(p, q, options, groups, mask, (p_name, q_name)), p_name, q_name)
    if groups is not None or mask is not None:
        raise UsageError("groups and mask apply to from_='sampled-logprobs'")
    if isinstance(p, (str, os.PathLike)) and isinstance(q, (str, os.PathLike)):
        return Result(compare_sources(os.fspath(p), os.fspath(q), options), p_name, q_name)
    options.validate()
    if from_ == "samples":
        raise UsageError("from_='samples' reads files of observations: pass P and Q as paths")
    read = dict(input_format=None, column=column, key=key)
    p_read = source_of(p, "P", read)
    q_read = source_of(q, "Q", read)
    return Result(compare_read(p_read, q_read, options), p_name, q_name)


def _compare_sampled(p: Any, q: Any, options: Any, groups: Any, mask: Any, names: tuple[str, str]) -> Comparison:
    """``from_="sampled-logprobs"``: arrays (or paths) of log p(xᵢ) and log q(xᵢ), optional groups and mask."""
    from klcli.sampled import estimate_sampled

    options.validate()
    read = dict(input_format=None, column=options.column, key=options.key)

    def numbers(obj: Any, role: str) -> Any:
        return None if obj is None else _numbers(source_of(obj, role, read), role)

    comparison = estimate_sampled(
        numbers(p, "P"),
        numbers(q, "Q"),
        drawn_from=options.drawn_from,
        groups=numbers(groups, "groups"),
        mask=numbers(mask, "mask"),
        reduction=options.reduction,
        names=names,
    )
    return comparison.in_base(options.base)


def _numbers(source: Any, role: str) -> Any:
    from klcli.sources import Histogram

    if not isinstance(source, Histogram) or source.labels is not None:
        raise InputError(f"{role}: from_='sampled-logprobs' takes numbers, one per draw")
    return source.values


def _base_text(base: str | float) -> str:
    """``2`` and ``2.0`` are ``"2"``, as ``--base 2`` gives."""
    if isinstance(base, (int, float, np.number)) and not isinstance(base, bool) and float(base).is_integer():
        return str(int(base))
    return str(base)


def _name(source: Any, default: str) -> str:
    if isinstance(source, (str, os.PathLike)):
        text = os.fspath(source)
        return "stdin" if text == "-" else str(text)
    return default


def source_of(obj: Any, role: str, read: dict[str, Any]) -> Any:
    """A histogram or distribution from an object, as the readers would give it (``role`` names it in errors)."""
    from klcli.sources import Histogram, read_source

    if isinstance(obj, (str, os.PathLike)):
        return read_source(os.fspath(obj), role=role, **read)
    if isinstance(obj, Histogram):
        return obj
    module = type(obj).__module__
    if module.startswith("klcli.families"):
        return obj
    labels: list[str] | None = None
    if module.startswith("pandas") and hasattr(obj, "index") and getattr(obj, "ndim", 0) == 1:
        labels = _index_labels(obj.index)
        obj = obj.to_numpy()
    elif isinstance(obj, Mapping):
        labels = [str(k) for k in obj]
        obj = list(obj.values())
    elif module.startswith("torch") and hasattr(obj, "detach"):
        obj = obj.detach().cpu().double().numpy()
    try:
        values = np.array(obj, dtype=np.float64)
    except (TypeError, ValueError):
        raise InputError(f"{role}: holds values that are not numbers") from None
    if values.ndim not in (1, 2) or values.size == 0:
        what = "holds no numbers" if values.size == 0 else f"has {values.ndim} dimensions; expected a 1-D histogram or a 2-D batch (one row each)"
        raise InputError(f"{role}: {what}")
    if labels is not None:
        duplicates = sorted({label for label in labels if labels.count(label) > 1})
        if duplicates:
            raise InputError(f"{role}: label {duplicates[0]!r} appears more than once")
    return Histogram(values, name=role, kind="array", labels=labels)


def _index_labels(index: Any) -> list[str] | None:
    """The labels of a Series: None for a default 0..n-1 index (a positional histogram)."""
    import pandas as pd

    if isinstance(index, pd.RangeIndex) and index.start == 0 and index.step == 1:
        return None
    return [str(label) for label in index]


# ---------------------------------------------------------------------------
# batch and pairwise


def batch(
    files: str | os.PathLike[str] | Sequence[str | os.PathLike[str]],
    reference: str | os.PathLike[str],
    *,
    base: str | float = "e",
    from_: str = "probs",
    temperature: float = 1.0,
    smooth: float | None = None,
    reduction: str = "batchmean",
    device: str | None = None,
    column: str | None = None,
    key: str | None = None,
    keep_going: bool = False,
    jobs: int | None = None,
) -> BatchResult:
    """Compare every histogram file (P) with one reference (Q), as ``klcli batch`` does.

    Parameters
    ----------
    files : path or sequence of paths
        Histogram files, or folders of them (their histogram files, sorted by name).
    reference : path or str
        Q: a file or inline numbers.
    keep_going : bool
        Record a bad file's error (``errors``) and go on, instead of raising.
    jobs : int, optional
        Reader threads.

    The other options are those of :func:`compare`.

    Returns
    -------
    BatchResult
        ``to_list()`` is the ``--format json`` list of the command.

    Examples
    --------
    >>> r = batch(["examples/data/batch/daily/2024-05-01.csv"], "examples/data/batch/reference.csv")
    >>> r.to_list()[0]["file"], r[0].method["kl_pq"]
    ('examples/data/batch/daily/2024-05-01.csv', 'exact')
    """
    from klcli.batch import collect_files, compare_batch
    from klcli.compare import CompareOptions

    options = CompareOptions(
        base=_base_text(base), smooth=smooth, from_=from_, temperature=temperature, reduction=reduction, device=device, column=column, key=key
    )
    options.validate()
    paths = collect_files(_paths(files))
    reference_text = os.fspath(reference)
    results = compare_batch(reference_text, paths, options, keep_going=keep_going, jobs=jobs)
    shown = "stdin" if reference_text == "-" else reference_text
    return BatchResult(
        files=[r.file for r in results],
        results=[None if r.failed or r.comparison is None else Result(r.comparison, r.file, shown) for r in results],
        errors={r.file: r.error for r in results if r.error is not None},
        reference=shown,
    )


def pairwise(
    files: str | os.PathLike[str] | Sequence[str | os.PathLike[str]],
    *,
    metric: str = "js",
    base: str | float = "e",
    from_: str = "probs",
    temperature: float = 1.0,
    smooth: float | None = None,
    cluster: bool = False,
    column: str | None = None,
    key: str | None = None,
    keep_going: bool = False,
    jobs: int | None = None,
) -> PairwiseResult:
    """The matrix of ``metric`` between every pair of histogram files (``klcli batch --pairwise``).

    Examples
    --------
    >>> m = pairwise("examples/data/batch/daily")
    >>> m.matrix.shape, m.metric, float(m.matrix[0, 0])
    ((5, 5), 'js', 0.0)
    """
    from klcli.batch import collect_files, pairwise_matrix
    from klcli.compare import CompareOptions
    from klcli.cli.compare import check_metric

    check_metric(metric, None)
    options = CompareOptions(base=_base_text(base), smooth=smooth, from_=from_, temperature=temperature, column=column, key=key)
    options.validate()
    m = pairwise_matrix(collect_files(_paths(files)), options, metric=metric, cluster=cluster, keep_going=keep_going, jobs=jobs)
    return PairwiseResult(list(m.files), m.metric, m.base, m.matrix, {r.file: r.error or "" for r in m.failed})


def _paths(files: str | os.PathLike[str] | Sequence[str | os.PathLike[str]]) -> list[str]:
    if isinstance(files, (str, os.PathLike)):
        return [os.fspath(files)]
    return [os.fspath(f) for f in files]


# ---------------------------------------------------------------------------
# drift


def drift(
    reference: Any,
    current: Any,
    *,
    columns: Sequence[str] | None = None,
    exclude: Sequence[str] = (),
    include: Sequence[str] = (),
    categorical: Sequence[str] = (),
    numeric: Sequence[str] = (),
    bins: str | int | None = None,
    metric: str | None = None,
    threshold: float | None = None,
    warn_above: float | None = None,
    alpha: float | None = None,
    significance: bool = True,
    fail_if_count: int | None = None,
    fail_if_share: float | None = None,
    fail_on_schema: bool = False,
    config: str | os.PathLike[str] | Mapping[str, Any] | None = None,
    max_categories: int | None = None,
    max_bins: int | None = None,
    top: int = 3,
) -> DriftResult:
    """Column-by-column drift of ``current`` from ``reference``, as ``klcli drift`` decides it.

    Parameters
    ----------
    reference, current : pandas.DataFrame, pyarrow.Table, path
        The tables (a path: CSV, TSV, Parquet or JSON lines), or profiles written by
        ``klcli profile`` (a path to one); the reference defines the bins.
    columns, exclude, include, categorical, numeric : sequence of str
        Column selection and kinds, as ``--columns``, ``--exclude``, ``--include``,
        ``--categorical`` and ``--numeric``.
    bins, metric, threshold, warn_above, alpha, significance
        The decision, as the command's options (``significance=False`` is ``--no-significance``).
    fail_if_count, fail_if_share, fail_on_schema
        The dataset rule.
    config : path or mapping, optional
        A ``drift.toml`` file, or its content as a dict.

    Returns
    -------
    DriftResult
        ``drifted``, and ``to_dict()``: the ``--format json`` object of the command.

    Examples
    --------
    >>> import pandas as pd
    >>> ref = pd.DataFrame({"colour": ["red"] * 80 + ["blue"] * 20})
    >>> cur = pd.DataFrame({"colour": ["red"] * 50 + ["blue"] * 50})
    >>> r = drift(ref, cur)
    >>> r.drifted, r.columns[0]["severity"], round(r.columns[0]["value"], 4)
    (True, 'drift', 0.2704)
    """
    from klcli.drift import DriftOptions, check_sides, load_config, parse_bins
    from klcli.drift.options import check_decision

    threshold, warn_above, alpha = (_number(v, o) for v, o in ((threshold, "threshold"), (warn_above, "warn-above"), (alpha, "alpha")))
    check_decision(threshold, warn_above, alpha, fail_if_share)
    if isinstance(config, (str, os.PathLike)):
        config_name, config_dict = os.fspath(config), load_config(os.fspath(config))
    else:
        config_name, config_dict = "config", dict(config or {})
    options = DriftOptions(
        columns=list(columns) if columns is not None else None,
        exclude=list(exclude),
        categorical=list(categorical),
        numeric=list(numeric),
        bins=None if bins is None else str(bins),
        metric=metric,
        threshold=threshold,
        max_categories=max_categories,
        config=config_dict,
        config_name=config_name,
        top=top,
        alpha=alpha,
        significance=significance,
        warn_above=warn_above,
        fail_if_count=fail_if_count,
        fail_if_share=fail_if_share,
        fail_on_schema=fail_on_schema,
        include=list(include),
        max_bins=max_bins,
    )
    parse_bins(options.bins_text, limit=options.bin_limit)
    return DriftResult(check_sides(_drift_side(reference, "reference"), _drift_side(current, "current"), options))


def _drift_side(obj: Any, name: str) -> Any:
    """A profile (a path to one, or a loaded :class:`klcli.drift.profile.Profile`) as it is, else a table."""
    from klcli.drift.profile import Profile, is_profile, read_profile

    if isinstance(obj, Profile):
        return obj
    if isinstance(obj, (str, os.PathLike)) and is_profile(os.fspath(obj)):
        return read_profile(os.fspath(obj))
    return _table(obj, name)


def _number(value: Any, option: str) -> float | None:
    """An option's number as the command parses it (``2`` is ``2.0``)."""
    if value is None:
        return None
    try:
        return float(value)
    except (TypeError, ValueError):
        raise UsageError(f"`--{option}` must be a number, not {value!r}") from None


def _table(obj: Any, name: str) -> Any:
    """A :class:`klcli.tables.Table` from a path, a pandas DataFrame or a pyarrow table.

    A data frame is written to Parquet in memory and read back by the same
    reader as a Parquet file, so its columns get the types and checks a file's would.
    """
    from klcli.tables import open_table

    if isinstance(obj, (str, os.PathLike)):
        return open_table(os.fspath(obj))
    module = type(obj).__module__
    if not (module.startswith("pandas") or module.startswith("pyarrow")):
        raise InputError(f"{name}: expected a pandas DataFrame, a pyarrow Table or a path, not {type(obj).__name__}")
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        arrow = pa.Table.from_pandas(obj, preserve_index=False) if module.startswith("pandas") else obj
        if isinstance(arrow, pa.RecordBatch):
            arrow = pa.Table.from_batches([arrow])
        buffer = io.BytesIO()
        pq.write_table(arrow, buffer)
    except (pa.ArrowException, TypeError, ValueError) as error:
        raise InputError(f"{name}: cannot be read as a table: {str(error).splitlines()[0]}") from None
    table = open_table("-", input_format="parquet", stdin=io.BytesIO(buffer.getvalue()))
    table.name = name
    return table
