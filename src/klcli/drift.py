"""Column-by-column drift between a reference table and a current one (``klcli drift``).

Pure logic, no printing: resolve the columns and their kinds, fit bin edges
on the reference, count both tables on them, and compare the shares.

Passes
------
1. The reference is streamed once: per numeric column the exact minimum,
   maximum and count, and a uniform sample of rows for the quantiles (all rows
   up to :data:`SAMPLE_ROWS` x 2, then a Bernoulli sample whose rate halves
   whenever it is full, so it holds between :data:`SAMPLE_ROWS` and twice as
   many rows); per categorical column the exact counts of every category.
   A Parquet reference of numeric columns with footer statistics is instead
   profiled from its footer and a few row groups (:func:`_profile_from_footer`).
2. Edges are fitted; the reference (numeric columns only) and the current
   table are streamed once more and counted by :func:`count_bins`, several
   columns at once in threads.

Memory is bounded by one batch plus the samples, whatever the table size.

Bins
----
Numeric columns get the fitted bins plus an underflow bin (``< min`` of the
reference), an overflow bin (``> max``) and a ``(missing)`` bin, so that
current values outside the reference range count. ``--bins auto`` fits deciles
and falls back to quintiles when the harmonic mean ``H`` of the two row counts
is below :data:`AUTO_DECILE_ROWS`. Categorical columns get the reference's most
frequent categories (``H / 250`` of them, between 4 and :data:`MAX_CATEGORIES`,
unless ``--max-categories`` says), ``(other)`` for the rest of the reference's
categories, ``(unseen)`` for categories the reference never had (reported by
name) and ``(missing)``.

Why so few bins: between two samples of one distribution, JS over ``K`` bins
is about ``χ²(K−1)/(4·H)`` nats, a bias that grows with ``K``. With ``K − 1``
degrees of freedom at most ``H / 250``, the 99.9th percentile of that noise
stays below the default threshold (JS distance 0.1 bits, i.e. JS 0.0069 nats),
while a shift of a quarter of a standard deviation already reaches it.

Metrics
-------
With ``p`` the current shares and ``q`` the reference shares:

================  ========================================  =====  =========
metric            value                                     unit   threshold
================  ========================================  =====  =========
``js_distance``   ``sqrt(JS(p, q))``, in [0, 1]             bits   0.1
``js``            ``JS(p, q)``, in [0, 1]                   bits   0.01
``kl``            ``KL(p‖q)`` on floored shares              nats   0.05
``kl_reverse``    ``KL(q‖p)`` on floored shares              nats   0.05
``symmetric_kl``  ``KL(p‖q) + KL(q‖p)`` on floored shares    nats   0.1
``psi``           ``Σ (p − q)·ln(p/q)`` on floored shares    nats   0.2
================  ========================================  =====  =========

JS needs no floor: a bin empty on one side adds a finite amount, a bin empty on
both adds nothing. The KL-type metrics floor every share at
:data:`SHARE_FLOOR` (1e-4, as common PSI tools do) and renormalise, so they stay
finite; ``psi`` is therefore exactly ``symmetric_kl``, under its customary name
and threshold (0.1 moderate, 0.2 significant shift).

Examples
--------
>>> import numpy as np
>>> edges = fit_edges(parse_bins("quantile:4"), np.arange(100.0), minimum=0.0, maximum=99.0, count=100)
>>> edges[:4].tolist()
[0.0, 24.75, 49.5, 74.25]
>>> count_bins(edges, np.array([-5.0, 10.0, 99.0, 150.0, np.nan])).tolist()
[1, 1, 0, 0, 1, 1, 1]
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from klcli.discrete import divergences
from klcli.errors import InputError, UsageError

METRICS = ("js_distance", "js", "kl", "kl_reverse", "symmetric_kl", "psi")
DEFAULT_METRIC = "js_distance"
DEFAULT_THRESHOLDS = {"js_distance": 0.1, "js": 0.01, "kl": 0.05, "kl_reverse": 0.05, "symmetric_kl": 0.1, "psi": 0.2}
UNITS = {"js_distance": "bits", "js": "bits", "kl": "nats", "kl_reverse": "nats", "symmetric_kl": "nats", "psi": "nats"}

#: Smallest share a bin gets in the KL-type metrics (then renormalised).
SHARE_FLOOR = 1e-4
#: ``--bins auto``: deciles of the reference, or quintiles when the tables are small.
AUTO_QUANTILES = 10
AUTO_QUANTILES_SMALL = 5
#: ``--bins auto`` uses deciles when the harmonic mean of the two row counts is at least this.
AUTO_DECILE_ROWS = 2500
#: Categorical bins kept by name (at most); the rest of the reference's categories form ``(other)``.
MAX_CATEGORIES = 20
#: Categories always kept by name (unless ``--max-categories`` says fewer).
MIN_CATEGORIES = 4
#: Rows per categorical bin kept by name by default (see :func:`default_category_limit`).
ROWS_PER_CATEGORY = 250
#: An integer column with at most this many distinct values in the reference is categorical.
MAX_INTEGER_CATEGORIES = 20
#: Rows of the reference sample from which quantile edges are fitted (exact up to twice this).
SAMPLE_ROWS = 250_000
#: Row groups a Parquet reference is sampled from at least (see ``_profile_from_footer``).
FOOTER_MIN_ROW_GROUPS = 3
#: Cap on the number of bins the width rules (``fd``, ``sturges``, ``doane``) may choose.
MAX_BINS = 1000
#: Values counted at a time by :func:`count_bins` (a block stays in the L2 cache).
COUNT_BLOCK = 1 << 16
#: Up to this many edges, :func:`count_bins` compares with each edge instead of sorting.
COMPARE_EDGES = 32
#: How many unseen categories are listed by name.
MAX_UNSEEN_LISTED = 20

KINDS = ("numeric", "categorical")
MISSING, OTHER, UNSEEN = "(missing)", "(other)", "(unseen)"
CONFIG_KEYS = {"metric", "threshold", "bins", "max_categories", "columns"}
COLUMN_CONFIG_KEYS = {"metric", "threshold", "kind"}


# ---------------------------------------------------------------------------
# Bins


@dataclass(frozen=True)
class BinRule:
    """How numeric columns are binned: ``quantile`` (equal mass), ``width`` (equal width) or a width rule.

    ``adaptive`` (``--bins auto``): quantile bins that are coarsened after
    counting when the tables are small (see :func:`check_drift`).

    >>> parse_bins("12"), parse_bins("quantile:20")
    (BinRule(method='width', count=12, adaptive=False), BinRule(method='quantile', count=20, adaptive=False))
    """

    method: str
    count: int | None = None
    adaptive: bool = False


def parse_bins(text: str) -> BinRule:
    """Parse ``--bins``: ``auto``, ``N`` (equal width), ``quantile:N``, ``fd``, ``sturges`` or ``doane``.

    ``auto`` is deciles of the reference, or quintiles when the harmonic mean
    of the two tables' row counts is below :data:`AUTO_DECILE_ROWS` (it is
    not numpy's ``auto``).
    """
    spec = str(text).strip().lower()
    if spec == "auto":
        return BinRule("quantile", AUTO_QUANTILES, adaptive=True)
    if spec in ("fd", "sturges", "doane"):
        return BinRule(spec)
    method, _, number = spec.rpartition(":")
    if method not in ("", "quantile"):
        raise UsageError(f"`--bins` must be auto, N, quantile:N, fd, sturges or doane, not {text!r}")
    try:
        count = int(number)
    except ValueError:
        raise UsageError(f"`--bins` must be auto, N, quantile:N, fd, sturges or doane, not {text!r}") from None
    if count < 1:
        raise UsageError(f"`--bins` needs at least 1 bin, not {count}")
    return BinRule("quantile" if method else "width", count)


def fit_edges(rule: BinRule, sample: np.ndarray, *, minimum: float, maximum: float, count: int) -> np.ndarray:
    """Edges of the interior bins, fitted on the reference.

    ``sample`` holds non-missing reference values (all of them, or a uniform
    sample); ``minimum``, ``maximum`` and ``count`` are exact for the whole
    reference. Bins are ``[e[i], e[i+1])``; the last edge is just above the
    maximum, so the reference fills the interior bins and nothing else.
    """
    if rule.method == "quantile":
        return np.unique(quantile_points(sample, rule.count, minimum=minimum, maximum=maximum))
    bins = rule.count if rule.method == "width" else _rule_bin_count(rule.method, sample, minimum, maximum, count)
    edges = np.linspace(minimum, maximum, bins + 1)
    edges[-1] = np.nextafter(maximum, np.inf)
    return np.unique(edges)


def quantile_points(sample: np.ndarray, k: int, *, minimum: float, maximum: float) -> np.ndarray:
    """The ``k + 1`` edges of ``k`` equal-mass bins (not yet deduplicated); the last is just above the maximum."""
    inner = np.quantile(sample, np.linspace(0.0, 1.0, k + 1)[1:-1]) if k > 1 else np.empty(0)
    return np.concatenate([[minimum], inner, [np.nextafter(maximum, np.inf)]])


def coarsen_counts(fine: np.ndarray, counts: np.ndarray, coarse: np.ndarray) -> np.ndarray:
    """Counts on ``coarse`` edges from counts on ``fine`` ones (``coarse`` a subset of ``fine``).

    >>> coarsen_counts(np.array([0.0, 1, 2, 3, 4]), np.array([1, 10, 20, 30, 40, 2, 5]), np.array([0.0, 2, 4])).tolist()
    [1, 30, 70, 2, 5]
    """
    inner = np.searchsorted(coarse, fine[:-1], side="right")
    index = np.concatenate([[0], inner, [len(coarse), len(coarse) + 1]])
    return np.bincount(index, weights=counts, minlength=len(coarse) + 2).astype(np.int64)


def effective_rows(n: int, m: int) -> float:
    """Harmonic mean of two row counts: what sets the noise of a divergence between two samples.

    The JS divergence between two samples of one distribution over ``K`` bins
    is about ``χ²(K−1)/8 · (1/n + 1/m)`` nats, that is ``χ²(K−1)/(4·H)``.
    """
    return 2.0 * n * m / (n + m) if n and m else 0.0


def default_category_limit(rows: float) -> int:
    """Categories kept by name when ``--max-categories`` is not given.

    One per :data:`ROWS_PER_CATEGORY` effective rows, between
    :data:`MIN_CATEGORIES` and :data:`MAX_CATEGORIES`, so that a fresh sample
    stays below the default threshold.

    >>> default_category_limit(1000), default_category_limit(3000), default_category_limit(1e6)
    (4, 12, 20)
    """
    return int(min(MAX_CATEGORIES, max(MIN_CATEGORIES, rows // ROWS_PER_CATEGORY)))


def _rule_bin_count(method: str, sample: np.ndarray, minimum: float, maximum: float, count: int) -> int:
    """Bins of numpy's width rules, with ``n`` the full reference count (not the sample size)."""
    sturges = math.ceil(math.log2(max(count, 1))) + 1
    if method == "fd":
        q25, q75 = np.quantile(sample, [0.25, 0.75])
        width = 2.0 * (q75 - q25) * count ** (-1.0 / 3.0)
        bins = math.ceil((maximum - minimum) / width) if width > 0 else sturges
    elif method == "doane":
        sigma = float(np.std(sample))
        g1 = float(np.mean(((sample - sample.mean()) / sigma) ** 3)) if sigma > 0 else 0.0
        sigma_g1 = math.sqrt(6.0 * (count - 2) / ((count + 1.0) * (count + 3.0))) if count > 2 else 1.0
        bins = 1 + math.ceil(math.log2(max(count, 1)) + math.log2(1.0 + abs(g1) / sigma_g1))
    else:
        bins = sturges
    return int(min(max(bins, 1), MAX_BINS))


def count_bins(edges: np.ndarray, values: np.ndarray) -> np.ndarray:
    """Counts of ``values`` in ``[underflow, bins..., overflow, missing]``.

    NaN is missing; ``len(result) == len(edges) + 2``. The values are taken
    in blocks of :data:`COUNT_BLOCK` (which stay in cache) and, per block,
    the values below each edge are counted: with up to
    :data:`COMPARE_EDGES` edges by one vectorised comparison per edge (about
    0.3 ns per value and edge), beyond that by sorting the block and looking
    the edges up in it, as ``np.histogram`` does. Both are several times
    faster than looking every value up among the edges (``np.searchsorted``).
    """
    below = np.zeros(len(edges) + 1, dtype=np.int64)  # values < each edge; last: values that are not NaN
    limits = np.append(edges, np.inf)
    mask = np.empty(min(values.size, COUNT_BLOCK), dtype=bool)
    for start in range(0, values.size, COUNT_BLOCK):
        block = values[start : start + COUNT_BLOCK]
        if len(edges) <= COMPARE_EDGES:
            flags = mask[: block.size]
            for i, edge in enumerate(edges):
                below[i] += np.count_nonzero(np.less(block, edge, out=flags))
            below[-1] += np.count_nonzero(np.less_equal(block, np.inf, out=flags))
        else:
            ordered = np.sort(block)  # NaN sorts last
            below[:-1] += np.searchsorted(ordered, edges, side="left")
            below[-1] += np.searchsorted(ordered, np.inf, side="right")
    return np.concatenate([below[:1], np.diff(below), [values.size - below[-1]]])


def bin_labels(edges: np.ndarray) -> list[str]:
    """Names of the bins :func:`count_bins` fills.

    >>> bin_labels(np.array([0.0, 1.0, np.nextafter(2.0, 3.0)]))
    ['< 0', '[0, 1)', '[1, 2]', '> 2', '(missing)']
    """
    shown = [f"{v:.4g}" for v in edges[:-1]] + [f"{np.nextafter(edges[-1], -np.inf):.4g}"]
    inner = [f"[{a}, {b})" for a, b in zip(shown[:-1], shown[1:])]
    inner[-1] = inner[-1][:-1] + "]"
    return [f"< {shown[0]}", *inner, f"> {shown[-1]}", MISSING]


# ---------------------------------------------------------------------------
# Metrics


def metric_terms(metric: str, current: np.ndarray, reference: np.ndarray) -> tuple[float, np.ndarray]:
    """The metric between two count vectors over the same bins, and each bin's share of it.

    Returns ``(value, contributions)``: ``contributions`` are non-negative
    and sum to 1 (all zero when the value is 0).

    >>> value, parts = metric_terms("js_distance", np.array([50, 50]), np.array([90, 10]))
    >>> round(value, 6), parts.round(3).tolist()
    (0.383136, [0.285, 0.715])
    """
    p = current / current.sum()
    q = reference / reference.sum()
    with np.errstate(divide="ignore", invalid="ignore"):
        if metric in ("js", "js_distance"):
            m = 0.5 * (p + q)
            terms = 0.5 * (np.where(p > 0, p * np.log(p / m), 0.0) + np.where(q > 0, q * np.log(q / m), 0.0))
            js_bits = divergences(p, q, entropies=False)["js"] / math.log(2.0)
            value = math.sqrt(max(js_bits, 0.0)) if metric == "js_distance" else js_bits
        else:
            p, q = _floored(p), _floored(q)
            log_ratio = np.log(p / q)
            kl_pq = p * log_ratio - p + q
            kl_qp = q * -log_ratio - q + p
            terms = {"kl": kl_pq, "kl_reverse": kl_qp}.get(metric, kl_pq + kl_qp)
            exact = divergences(p, q, entropies=False)
            value = {"kl": exact["kl_pq"], "kl_reverse": exact["kl_qp"]}.get(metric, exact["kl_pq"] + exact["kl_qp"])
    terms = np.clip(terms, 0.0, None)
    total = terms.sum()
    return float(value), (terms / total if total > 0 else np.zeros_like(terms))


def _floored(shares: np.ndarray) -> np.ndarray:
    floored = np.maximum(shares, SHARE_FLOOR)
    return floored / floored.sum()


# ---------------------------------------------------------------------------
# Options and configuration


@dataclass
class DriftOptions:
    """What ``klcli drift`` was asked to do; ``None`` means "from the config, else the default"."""

    columns: list[str] | None = None
    exclude: list[str] = field(default_factory=list)
    categorical: list[str] = field(default_factory=list)
    numeric: list[str] = field(default_factory=list)
    bins: str | None = None
    metric: str | None = None
    threshold: float | None = None
    max_categories: int | None = None
    config: dict = field(default_factory=dict)
    config_name: str = "config"
    top: int = 3


def load_config(path: str) -> dict:
    """Read and validate a ``drift.toml``.

    Top-level keys ``metric``, ``threshold``, ``bins``, ``max_categories``,
    and one table per column ``[columns.NAME]`` with ``metric``,
    ``threshold`` and ``kind``. Unknown keys are errors (typos would
    otherwise pass silently).
    """
    import tomllib

    try:
        with open(path, "rb") as handle:
            config = tomllib.load(handle)
    except FileNotFoundError:
        raise InputError(f"{path}: no such file") from None
    except OSError as error:
        raise InputError(f"{path}: cannot read: {error.strerror or error}") from None
    except tomllib.TOMLDecodeError as error:
        raise InputError(f"{path}: not valid TOML: {error}") from None
    _check_keys(config, CONFIG_KEYS, f"{path}")
    _check_setting(config, path)
    columns = config.get("columns", {})
    if not isinstance(columns, dict):
        raise InputError(f"{path}: `columns` must be a table of [columns.NAME] tables")
    for name, settings in columns.items():
        where = f"{path}: [columns.{name}]"
        if not isinstance(settings, dict):
            raise InputError(f"{where} must be a table")
        _check_keys(settings, COLUMN_CONFIG_KEYS, where)
        _check_setting(settings, where)
        if "kind" in settings and settings["kind"] not in KINDS:
            raise InputError(f"{where}: `kind` must be numeric or categorical, not {settings['kind']!r}")
    return config


def _check_keys(table: dict, allowed: set, where: str) -> None:
    unknown = sorted(set(table) - allowed)
    if unknown:
        raise InputError(f"{where}: unknown key {unknown[0]!r} (known: {', '.join(sorted(allowed))})")


def _check_setting(table: dict, where: str) -> None:
    if "metric" in table:
        check_metric(table["metric"], where=f"{where}: `metric`")
    if "threshold" in table:
        check_threshold(table["threshold"], where=f"{where}: `threshold`")
    if "bins" in table:
        parse_bins(table["bins"])
    if "max_categories" in table and (not isinstance(table["max_categories"], int) or table["max_categories"] < 1):
        raise InputError(f"{where}: `max_categories` must be a positive integer")


def check_metric(metric: Any, *, where: str = "`--metric`") -> str:
    """Validate a metric name."""
    if metric not in METRICS:
        raise UsageError(f"{where} must be one of {', '.join(METRICS)}, not {metric!r}")
    return metric


def check_threshold(threshold: Any, *, where: str = "`--threshold`") -> float:
    """Validate a threshold: a finite number >= 0."""
    if isinstance(threshold, bool) or not isinstance(threshold, (int, float)) or not math.isfinite(threshold) or threshold < 0:
        raise UsageError(f"{where} must be a finite number >= 0, not {threshold!r}")
    return float(threshold)


@dataclass(frozen=True)
class ColumnPlan:
    """How one column is checked. ``kind`` is ``integer`` until pass 1 decides."""

    column: str
    kind: str
    metric: str
    threshold: float


def plan_columns(reference, current, options: DriftOptions) -> list[ColumnPlan]:
    """Choose the columns, their kinds, metrics and thresholds; validate every name.

    Kinds: ``--categorical``/``--numeric``/config ``kind`` first; otherwise
    floating, temporal and decimal columns are numeric, integer columns are
    decided after pass 1 (categorical when the reference has at most
    :data:`MAX_INTEGER_CATEGORIES` distinct values), and text, booleans and
    everything else are categorical.
    """
    from klcli.tables import is_integer_type, is_numeric_type

    config = options.config
    ref_cols, cur_cols = reference.columns, current.columns
    known = set(ref_cols) | set(cur_cols)
    for flag, names in (("--exclude", options.exclude), ("--categorical", options.categorical), ("--numeric", options.numeric)):
        for name in names:
            if name not in known:
                raise UsageError(f"`{flag}`: no column {name!r} in {reference.name} or {current.name}")
    for name in config.get("columns", {}):
        if name not in known:
            raise UsageError(f"{options.config_name}: [columns.{name}]: no column {name!r} in {reference.name} or {current.name}")
    both = set(options.categorical) & set(options.numeric)
    if both:
        raise UsageError(f"column {sorted(both)[0]!r} is given both --categorical and --numeric")
    if options.columns is not None:
        selected = [c for c in dict.fromkeys(options.columns) if c not in options.exclude]
    else:
        selected = [c for c in ref_cols if c not in options.exclude] + [c for c in cur_cols if c not in ref_cols and c not in options.exclude]
    if not selected:
        raise UsageError("no columns left to check")
    for name in selected:
        for table, cols, other in ((reference, ref_cols, current), (current, cur_cols, reference)):
            if name not in cols:
                found = f"it is in {other.name} only" if name in other.columns else "nor in the other table"
                raise InputError(f"{table.name}: no column {name!r} ({found}; choose columns with --columns or --exclude)")
    global_metric = check_metric(options.metric) if options.metric is not None else config.get("metric", DEFAULT_METRIC)
    global_threshold = options.threshold
    if global_threshold is None and global_metric == config.get("metric", DEFAULT_METRIC):
        global_threshold = config.get("threshold")  # the config's threshold goes with the config's metric
    if global_threshold is not None:
        check_threshold(global_threshold)
    plans = []
    for name in selected:
        settings = config.get("columns", {}).get(name, {})
        metric = settings.get("metric", global_metric)
        if "threshold" in settings:
            threshold = settings["threshold"]
        elif metric == global_metric and global_threshold is not None:
            threshold = global_threshold
        else:
            threshold = DEFAULT_THRESHOLDS[metric]
        kind = "categorical" if name in options.categorical else "numeric" if name in options.numeric else settings.get("kind")
        if kind is None:
            kind_type = reference.type_of(name)
            kind = "integer" if is_integer_type(kind_type) else "numeric" if is_numeric_type(kind_type) else "categorical"
        plans.append(ColumnPlan(name, kind, metric, float(threshold)))
    return plans


# ---------------------------------------------------------------------------
# Accumulators


class RowSample:
    """A uniform sample of rows kept in a bounded buffer (Bernoulli, rate halving when full).

    Each row is in the sample with the same probability ``rate``. It starts
    at 1, or at ``1.5 * capacity / expected_rows`` when the row count is known
    (Parquet); whenever the sample holds more than ``2 * capacity`` rows, the
    rate and the sample are halved. So the sample is uniform and holds at most
    ``2 * capacity`` rows, and all rows of a table of up to that many.
    """

    def __init__(self, capacity: int = SAMPLE_ROWS, *, expected_rows: int | None = None, seed: int = 0) -> None:
        self.capacity = capacity
        self.rate = 1.0 if not expected_rows or expected_rows <= 2 * capacity else 1.5 * capacity / expected_rows
        self.rng = np.random.default_rng(seed)
        self.parts: dict[str, list[np.ndarray]] = {}
        self.kept = 0

    def pick(self, n: int) -> np.ndarray | None:
        """Indices of a batch of ``n`` rows to keep, in order (None: all of them)."""
        if self.rate == 1.0:
            self.kept += n
            return None
        chosen = np.sort(self.rng.choice(n, self.rng.binomial(n, self.rate), replace=False))
        self.kept += chosen.size
        return chosen

    def add(self, column: str, values: np.ndarray) -> None:
        """Store the picked values of one column (the same rows for every column)."""
        self.parts.setdefault(column, []).append(values)

    def thin(self) -> None:
        """Halve the rate (and the sample) while it holds more than ``2 * capacity`` rows."""
        while self.kept > 2 * self.capacity:
            keep = self.rng.random(self.kept) < 0.5
            for column, parts in self.parts.items():
                self.parts[column] = [np.concatenate(parts)[keep]]
            self.kept = int(keep.sum())
            self.rate /= 2.0

    def values(self, column: str) -> np.ndarray:
        """The sampled values of a column, without the missing ones."""
        values = np.concatenate(self.parts.get(column, [np.empty(0)]))
        return values[~np.isnan(values)]


@dataclass
class NumericStats:
    """Exact count, missing count, minimum and maximum of a numeric column."""

    count: int = 0
    missing: int = 0
    minimum: float = math.inf
    maximum: float = -math.inf

    def add(self, values: np.ndarray) -> None:
        missing = int(np.count_nonzero(np.isnan(values)))
        self.missing += missing
        if missing < values.size:
            self.count += values.size - missing
            low, high = (np.nanmin(values), np.nanmax(values)) if missing else (values.min(), values.max())
            self.minimum = min(self.minimum, float(low))
            self.maximum = max(self.maximum, float(high))


@dataclass
class CategoryCounts:
    """Running counts of the categories of a column, and of its missing cells."""

    counts: dict = field(default_factory=dict)
    missing: int = 0

    def add(self, counts: dict, missing: int) -> None:
        for label, n in counts.items():
            self.counts[label] = self.counts.get(label, 0) + n
        self.missing += missing

    @property
    def count(self) -> int:
        return sum(self.counts.values())


# ---------------------------------------------------------------------------
# Reports


@dataclass
class ColumnReport:
    """The verdict on one column, and what explains it."""

    column: str
    kind: str
    metric: str
    value: float
    threshold: float
    bins: int
    reference_rows: int
    current_rows: int
    reference_missing_rate: float
    current_missing_rate: float
    top_contributors: list[dict]
    unseen_categories: list[str] | None = None
    unseen_count: int = 0
    current_unseen_rate: float = 0.0

    @property
    def drifted(self) -> bool:
        """True when the value exceeds the threshold."""
        return self.value > self.threshold

    def record(self) -> dict:
        """The JSON object of one column: SPEC.md's keys first, then the details."""
        record = {
            "column": self.column, "kind": self.kind, "metric": self.metric, "value": self.value,
            "threshold": self.threshold, "drifted": self.drifted, "unit": UNITS[self.metric], "bins": self.bins,
            "reference_rows": self.reference_rows, "current_rows": self.current_rows,
            "reference_missing_rate": self.reference_missing_rate, "current_missing_rate": self.current_missing_rate,
            "top_contributors": self.top_contributors,
        }
        if self.kind == "categorical":
            record.update(unseen_categories=self.unseen_categories or [], unseen_count=self.unseen_count, current_unseen_rate=self.current_unseen_rate)
        return record


@dataclass
class DriftReport:
    """Every column's report, in the order the columns were checked."""

    columns: list[ColumnReport]

    @property
    def drifted(self) -> bool:
        """True when any column drifted."""
        return any(c.drifted for c in self.columns)

    def record(self) -> dict:
        """``{"drifted": bool, "columns": [...]}`` as SPEC.md prescribes."""
        return {"drifted": self.drifted, "columns": [c.record() for c in self.columns]}


def column_report(plan: ColumnPlan, labels: list[str], reference: np.ndarray, current: np.ndarray, *, top: int = 3, unseen: dict | None = None) -> ColumnReport:
    """Compare two count vectors over the same labelled bins (missing last).

    >>> plan = ColumnPlan("colour", "categorical", "js_distance", 0.1)
    >>> report = column_report(plan, ["red", "blue", "(missing)"], np.array([80, 20, 0]), np.array([50, 50, 0]))
    >>> round(report.value, 4), report.drifted, report.top_contributors[0]["bin"]
    (0.2704, True, 'blue')
    """
    value, contributions = metric_terms(plan.metric, current, reference)
    ref_total, cur_total = int(reference.sum()), int(current.sum())
    order = [i for i in np.argsort(-contributions, kind="stable")[:top] if contributions[i] > 0]
    contributors = [
        {"bin": labels[i], "reference_share": reference[i] / ref_total, "current_share": current[i] / cur_total, "contribution": float(contributions[i])}
        for i in order
    ]
    unseen = unseen or {}
    listed = sorted(unseen, key=lambda label: (-unseen[label], label))[:MAX_UNSEEN_LISTED]
    return ColumnReport(
        column=plan.column, kind=plan.kind, metric=plan.metric, value=value, threshold=plan.threshold,
        bins=len(labels), reference_rows=ref_total, current_rows=cur_total,
        reference_missing_rate=reference[-1] / ref_total, current_missing_rate=current[-1] / cur_total,
        top_contributors=contributors, unseen_categories=listed if plan.kind == "categorical" else None,
        unseen_count=len(unseen), current_unseen_rate=sum(unseen.values()) / cur_total,
    )


def category_bins(reference: CategoryCounts, current: CategoryCounts, max_categories: int) -> tuple[list[str], np.ndarray, np.ndarray, dict]:
    """Labels and counts of categorical bins, and the unseen categories with their counts.

    >>> ref, cur = CategoryCounts({"a": 5, "b": 3, "c": 1}), CategoryCounts({"a": 4, "d": 2}, missing=1)
    >>> labels, r, c, unseen = category_bins(ref, cur, max_categories=2)
    >>> labels, r.tolist(), c.tolist(), unseen
    (['a', 'b', '(other)', '(unseen)', '(missing)'], [5, 3, 1, 0, 0], [4, 0, 0, 2, 1], {'d': 2})
    """
    ranked = sorted(reference.counts, key=lambda label: (-reference.counts[label], label))
    kept, folded = ranked[:max_categories], set(ranked[max_categories:])
    unseen = {label: n for label, n in current.counts.items() if label not in reference.counts}
    labels = kept + ([OTHER] if folded else []) + [UNSEEN, MISSING]

    def counts(side: CategoryCounts) -> np.ndarray:
        other = sum(n for label, n in side.counts.items() if label in folded)
        new = sum(n for label, n in side.counts.items() if label not in reference.counts)
        named = [side.counts.get(label, 0) for label in kept]
        return np.array(named + ([other] if folded else []) + [new, side.missing], dtype=np.int64)

    return labels, counts(reference), counts(current), unseen


# ---------------------------------------------------------------------------
# The check


def check_drift(reference, current, options: DriftOptions | None = None) -> DriftReport:
    """Check every selected column of ``current`` against ``reference``.

    Parameters
    ----------
    reference, current : klcli.tables.Table
        The tables; the reference defines the bins.
    options : DriftOptions
        Columns, kinds, bins, metrics, thresholds (defaults: every column,
        ``--bins auto``, ``js_distance`` at 0.1).

    Examples
    --------
    >>> import io
    >>> from klcli.tables import open_table
    >>> ref = open_table("-", stdin=io.BytesIO(b"colour\\n" + b"red\\n" * 80 + b"blue\\n" * 20))
    >>> cur = open_table("-", stdin=io.BytesIO(b"colour\\n" + b"red\\n" * 50 + b"blue\\n" * 50))
    >>> report = check_drift(ref, cur)
    >>> report.drifted, round(report.columns[0].value, 4)
    (True, 0.2704)
    """
    options = options or DriftOptions()
    rule = parse_bins(options.bins if options.bins is not None else options.config.get("bins", "auto"))
    max_categories = options.max_categories or options.config.get("max_categories")
    plans = plan_columns(reference, current, options)
    reference, current = _pin_types(reference, plans), _pin_types(current, plans)
    stats, ref_categories, sample = _profile_reference(reference, plans)
    plans = [_settle_integer_kind(plan, ref_categories) for plan in plans]
    for plan in plans:
        seen = stats[plan.column].count if plan.kind == "numeric" else ref_categories[plan.column].count
        if seen == 0:
            raise InputError(f"{reference.name}: column {plan.column!r} has no values (all missing)")
    edges, small_edges = {}, {}
    for plan in (p for p in plans if p.kind == "numeric"):
        column_stats, values = stats[plan.column], sample.values(plan.column)
        edges[plan.column] = fit_edges(rule, values, minimum=column_stats.minimum, maximum=column_stats.maximum, count=column_stats.count)
        if rule.adaptive:
            points = quantile_points(values, rule.count, minimum=column_stats.minimum, maximum=column_stats.maximum)
            small_edges[plan.column] = np.unique(points[:: rule.count // AUTO_QUANTILES_SMALL])
    ref_bins = _count_numeric(reference, edges) if edges else {}
    cur_bins, cur_categories = _count_current(current, plans, edges)
    reports = []
    for plan in plans:
        if plan.kind == "numeric":
            column_edges, ref_counts, cur_counts, unseen = edges[plan.column], ref_bins[plan.column], cur_bins[plan.column], None
            _check_current_values(current, plan, cur_counts[:-1].sum())
            if plan.column in small_edges and effective_rows(ref_counts.sum(), cur_counts.sum()) < AUTO_DECILE_ROWS:
                small = small_edges[plan.column]
                ref_counts, cur_counts = coarsen_counts(column_edges, ref_counts, small), coarsen_counts(column_edges, cur_counts, small)
                column_edges = small
            labels = bin_labels(column_edges)
        else:
            ref_side, cur_side = ref_categories[plan.column], cur_categories[plan.column]
            _check_current_values(current, plan, cur_side.count)
            rows = effective_rows(ref_side.count + ref_side.missing, cur_side.count + cur_side.missing)
            labels, ref_counts, cur_counts, unseen = category_bins(ref_side, cur_side, max_categories or default_category_limit(rows))
        reports.append(column_report(plan, labels, ref_counts, cur_counts, top=options.top, unseen=unseen))
    return DriftReport(reports)


def _check_current_values(current, plan: ColumnPlan, values: int) -> None:
    if values == 0:
        raise InputError(f"{current.name}: column {plan.column!r} has no values (all missing)")


def _pin_types(table, plans: list[ColumnPlan]):
    """Read forced-categorical columns of text tables as text, forced-numeric ones as numbers."""
    import pyarrow as pa

    from klcli.tables import is_numeric_type

    types = {}
    for plan in plans:
        kind = table.type_of(plan.column)
        if plan.kind == "categorical" and is_numeric_type(kind):
            types[plan.column] = pa.string()
        elif plan.kind == "numeric" and not is_numeric_type(kind):
            types[plan.column] = pa.float64()
    return table.with_column_types(types)


def _profile_reference(reference, plans: list[ColumnPlan]):
    """Pass 1: numeric statistics and row sample, category counts, integer distinct values."""
    from klcli.tables import category_counts, numeric_values

    footer = _profile_from_footer(reference, plans)
    if footer is not None:
        return footer
    stats = {p.column: NumericStats() for p in plans if p.kind in ("numeric", "integer")}
    categories = {p.column: CategoryCounts() for p in plans if p.kind in ("categorical", "integer")}
    sample = RowSample(expected_rows=reference.row_count)
    for first_row, batch in reference.batches([p.column for p in plans]):
        if batch.num_rows == 0:
            continue
        picked = sample.pick(batch.num_rows) if stats else None
        for plan in plans:
            array = batch.column(plan.column)
            if plan.column in stats:
                values = numeric_values(array, table=reference, column=plan.column, first_row=first_row)
                stats[plan.column].add(values)
                sample.add(plan.column, values if picked is None else values[picked])
            counter = categories.get(plan.column)
            if counter is not None and not (plan.kind == "integer" and len(counter.counts) > MAX_INTEGER_CATEGORIES):
                counter.add(*category_counts(array))
        sample.thin()
    if not any(s.count or s.missing for s in stats.values()) and not any(c.count or c.missing for c in categories.values()):
        raise InputError(f"{reference.name}: no rows")
    return stats, categories, sample


def _profile_from_footer(reference, plans: list[ColumnPlan]):
    """Pass 1 without reading the whole reference, when it is Parquet with statistics.

    When every column is numeric (floating, or integer forced numeric), the
    exact minimum, maximum and null count come from the Parquet footer, and
    the quantile sample from evenly spaced row groups (enough for
    ``2 * SAMPLE_ROWS`` rows, at least :data:`FOOTER_MIN_ROW_GROUPS`); the
    reference is then read in full only once, to count. The edges come from a
    sample of whole row groups, but both tables are still counted exactly on
    them. Returns None when that does not apply or would read more than half
    of the table.
    """
    import pyarrow as pa

    from klcli.tables import numeric_values

    columns = [p.column for p in plans]
    if any(p.kind != "numeric" or not (pa.types.is_floating(reference.type_of(p.column)) or pa.types.is_integer(reference.type_of(p.column))) for p in plans):
        return None
    footer = reference.parquet_statistics(columns)
    if footer is None:
        return None
    rows, ranges = footer
    wanted = max(math.ceil(2 * SAMPLE_ROWS * len(rows) / max(sum(rows), 1)), FOOTER_MIN_ROW_GROUPS)
    if 2 * wanted > len(rows):
        return None
    groups = np.unique(np.linspace(0, len(rows) - 1, wanted).round().astype(int)).tolist()
    sample = RowSample(expected_rows=sum(rows[g] for g in groups))
    for first_row, batch in reference.batches(columns, row_groups=groups):
        picked = sample.pick(batch.num_rows)
        for column in columns:
            values = numeric_values(batch.column(column), table=reference, column=column, first_row=first_row)
            sample.add(column, values if picked is None else values[picked])
        sample.thin()
    stats = {c: NumericStats(count=sum(rows) - nulls, missing=nulls, minimum=low, maximum=high) for c, (low, high, nulls) in ranges.items()}
    return stats, {}, sample


def _settle_integer_kind(plan: ColumnPlan, categories: dict) -> ColumnPlan:
    if plan.kind != "integer":
        return plan
    few = len(categories[plan.column].counts) <= MAX_INTEGER_CATEGORIES
    return ColumnPlan(plan.column, "categorical" if few else "numeric", plan.metric, plan.threshold)


def _count_numeric(table, edges: dict) -> dict:
    """Pass 2 over the reference: bin counts of the numeric columns."""
    counts = {column: np.zeros(len(e) + 2, dtype=np.int64) for column, e in edges.items()}
    with _column_pool(len(edges)) as pool:
        for first_row, batch in table.batches(list(edges)):
            _add_bin_counts(pool, counts, table, batch, first_row, edges)
    return counts


def _count_current(table, plans: list[ColumnPlan], edges: dict) -> tuple[dict, dict]:
    """The only pass over the current table: bin counts and category counts."""
    from klcli.tables import category_counts

    counts = {column: np.zeros(len(e) + 2, dtype=np.int64) for column, e in edges.items()}
    categories = {p.column: CategoryCounts() for p in plans if p.kind == "categorical"}
    rows = 0
    with _column_pool(len(edges)) as pool:
        for first_row, batch in table.batches([p.column for p in plans]):
            rows += batch.num_rows
            _add_bin_counts(pool, counts, table, batch, first_row, edges)
            for column, counter in categories.items():
                counter.add(*category_counts(batch.column(column)))
    if rows == 0:
        raise InputError(f"{table.name}: no rows")
    return counts, categories


def _column_pool(columns: int):
    """Threads that count several columns at once (numpy and pyarrow release the GIL)."""
    import os
    from concurrent.futures import ThreadPoolExecutor

    return ThreadPoolExecutor(max_workers=max(1, min(columns, os.cpu_count() or 1)), thread_name_prefix="klcli-count")


def _add_bin_counts(pool, counts: dict, table, batch, first_row: int, edges: dict) -> None:
    from klcli.tables import numeric_values

    def count(column: str) -> np.ndarray:
        return count_bins(edges[column], numeric_values(batch.column(column), table=table, column=column, first_row=first_row))

    for column, column_counts in zip(edges, pool.map(count, edges)):
        counts[column] += column_counts
