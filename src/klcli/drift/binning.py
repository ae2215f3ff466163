"""Binning: the bin rules, the edges fitted on the reference, the bins a value falls in, and their labels.

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

:func:`count_bins` defines which bin a value falls in; every counting engine
must produce exactly its counts.

>>> import numpy as np
>>> edges = fit_edges(parse_bins("quantile:4"), np.arange(100.0), minimum=0.0, maximum=99.0, count=100)
>>> edges[:4].tolist()
[0.0, 24.75, 49.5, 74.25]
>>> count_bins(edges, np.array([-5.0, 10.0, 99.0, 150.0, np.nan])).tolist()
[1, 1, 0, 0, 1, 1, 1]
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal, cast

import numpy as np

from klcli.errors import UsageError

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
#: Cap on the number of bins the width rules (``fd``, ``sturges``, ``doane``) may choose.
MAX_BINS = 1000
#: Most bins ``--bins N`` / ``quantile:N`` may ask for (refused before anything is allocated);
#: ``--max-bins`` or the config's ``max_bins`` raise it.
BIN_LIMIT = 10_000
#: Values counted at a time by :func:`count_bins` (a block stays in the L2 cache).
COUNT_BLOCK = 1 << 16
#: Up to this many edges, :func:`count_bins` compares with each edge instead of sorting.
COMPARE_EDGES = 32

MISSING, OTHER, UNSEEN, VALUES = "(missing)", "(other)", "(unseen)", "(values)"


@dataclass(frozen=True)
class BinRule:
    """How numeric columns are binned: ``quantile`` (equal mass), ``width`` (equal width) or a width rule.

    ``adaptive`` (``--bins auto``): quantile bins that are coarsened after
    counting when the tables are small (see :func:`klcli.drift.compare.compare`).

    >>> parse_bins("12"), parse_bins("quantile:20")
    (BinRule(method='width', count=12, adaptive=False), BinRule(method='quantile', count=20, adaptive=False))
    """

    method: str
    count: int | None = None
    adaptive: bool = False


def parse_bins(text: str, *, limit: int = BIN_LIMIT) -> BinRule:
    """Parse ``--bins``: ``auto``, ``N`` (equal width), ``quantile:N``, ``fd``, ``sturges`` or ``doane``.

    ``auto`` is deciles of the reference, or quintiles when the harmonic mean
    of the two tables' row counts is below :data:`AUTO_DECILE_ROWS` (it is
    not numpy's ``auto``). More than ``limit`` bins is refused.

    >>> parse_bins("quantile:100000000")
    Traceback (most recent call last):
    ...
    klcli.errors.UsageError: `--bins quantile:100000000` asks for more than 10,000 bins (raise the limit with --max-bins)
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
    if count > limit:
        raise UsageError(f"`--bins {text}` asks for more than {limit:,} bins (raise the limit with --max-bins)")
    return BinRule("quantile" if method else "width", count)


def fit_edges(rule: BinRule, sample: np.ndarray, *, minimum: float, maximum: float, count: int) -> np.ndarray:
    """Edges of the interior bins, fitted on the reference.

    ``sample`` holds non-missing reference values (all of them, or a uniform
    sample); ``minimum``, ``maximum`` and ``count`` are exact for the whole
    reference. Bins are ``[e[i], e[i+1])``; the last edge is just above the
    maximum, so the reference fills the interior bins and nothing else.
    """
    if rule.method == "quantile":
        assert rule.count is not None  # parse_bins gives quantile and width rules a count
        return np.unique(quantile_points(sample, rule.count, minimum=minimum, maximum=maximum))
    if rule.method == "width":
        assert rule.count is not None
        bins = rule.count
    else:
        bins = _rule_bin_count(rule.method, sample, minimum, maximum, count)
    if math.isfinite(maximum - minimum):
        edges = np.linspace(minimum, maximum, bins + 1)
    else:  # a range beyond the largest double (±1e308): halving is exact, the steps then fit
        edges = np.linspace(minimum / 2, maximum / 2, bins + 1) * 2
    edges[-1] = np.nextafter(maximum, np.inf)
    return np.unique(edges)


def fit_coarse_edges(rule: BinRule, sample: np.ndarray, *, minimum: float, maximum: float) -> np.ndarray | None:
    """``--bins auto``: the quintile edges (a subset of the decile ones) used when the tables are small; else None."""
    if not rule.adaptive:
        return None
    assert rule.count is not None  # an adaptive rule always has its quantile count
    points = quantile_points(sample, rule.count, minimum=minimum, maximum=maximum)
    return np.unique(points[:: rule.count // AUTO_QUANTILES_SMALL])


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
        q25, q75 = np.quantile(sample / 2, [0.25, 0.75])  # halved: ranges up to ±1e308 stay finite
        width = 2.0 * (q75 - q25) * count ** (-1.0 / 3.0)
        bins = math.ceil(min((maximum / 2 - minimum / 2) / width, MAX_BINS)) if width > 0 else sturges
    elif method == "doane":
        scaled = sample / max(abs(minimum), abs(maximum), 1.0)  # no overflow in the moments
        sigma = float(np.std(scaled))
        g1 = float(np.mean(((scaled - scaled.mean()) / sigma) ** 3)) if sigma > 0 else 0.0
        sigma_g1 = math.sqrt(6.0 * (count - 2) / ((count + 1.0) * (count + 3.0))) if count > 2 else 1.0
        bins = 1 + math.ceil(math.log2(max(count, 1)) + math.log2(1.0 + abs(g1) / sigma_g1))
    else:
        bins = sturges
    return int(min(max(bins, 1), MAX_BINS))


def count_bins(edges: np.ndarray, values: np.ndarray) -> np.ndarray:
    """Counts of ``values`` in ``[underflow, bins..., overflow, missing]``.

    NaN is missing; ``len(result) == len(edges) + 2``. A value ``v`` falls in
    bin ``i`` (1-based interior) when ``edges[i-1] <= v < edges[i]``; below
    ``edges[0]`` is underflow, at or above ``edges[-1]`` (including +inf) is
    overflow. The values are taken in blocks of :data:`COUNT_BLOCK` (which
    stay in cache) and, per block, the values below each edge are counted:
    with up to :data:`COMPARE_EDGES` edges by one vectorised comparison per
    edge (about 0.3 ns per value and edge), beyond that by sorting the block
    and looking the edges up in it, as ``np.histogram`` does. Both are
    several times faster than looking every value up among the edges
    (``np.searchsorted``).
    """
    below = np.zeros(len(edges) + 1, dtype=np.int64)  # values < each edge; last: values that are not NaN
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


def bin_labels(edges: np.ndarray, temporal: str | None = None) -> list[str]:
    """Names of the bins :func:`count_bins` fills; dates and times shown as such (``temporal``: the arrow type).

    >>> bin_labels(np.array([0.0, 1.0, np.nextafter(2.0, 3.0)]))
    ['< 0', '[0, 1)', '[1, 2]', '> 2', '(missing)']
    >>> bin_labels(np.array([19723.0, 19730.5, np.nextafter(19754.0, 1e9)]), "date32[day]")
    ['< 2024-01-01', '[2024-01-01, 2024-01-09)', '[2024-01-09, 2024-02-01]', '> 2024-02-01', '(missing)']
    >>> bin_labels(np.empty(0))
    ['(values)', '(missing)']
    """
    if edges.size == 0:  # no value in the reference to fit bins on
        return [VALUES, MISSING]
    shown = [format_value(v, temporal) for v in edges[:-1]] + [format_value(np.nextafter(edges[-1], -np.inf), temporal)]
    inner = [f"[{a}, {b})" for a, b in zip(shown[:-1], shown[1:])]
    inner[-1] = inner[-1][:-1] + "]"
    return [f"< {shown[0]}", *inner, f"> {shown[-1]}", MISSING]


def format_value(value: float, temporal: str | None = None) -> str:
    """A bin edge or value as shown: 4 significant digits, or a date / time for date, timestamp and time columns.

    Date and timestamp values are whole units, so an edge between two of them
    is shown as the first one it admits (rounded up).

    >>> format_value(1234.5678), format_value(19723.0, "date32[day]"), format_value(1.7e18, "timestamp[ns]")
    ('1235', '2024-01-01', '2023-11-14 22:13:20')
    >>> format_value(45296.5e6, "time64[us]"), format_value(3600.0, "time32[s]")
    ('12:34:56.5', '01:00:00')
    """
    if temporal and temporal.startswith(("time32", "time64")) and math.isfinite(value):  # time of day: units since midnight
        per_second = {"s": 1, "ms": 10**3, "us": 10**6, "ns": 10**9}[temporal[temporal.index("[") + 1 : temporal.index("]")]]
        seconds, fraction = divmod(math.ceil(value), per_second)
        text = f"{seconds // 3600:02d}:{seconds // 60 % 60:02d}:{seconds % 60:02d}"
        return text + (f".{fraction:0{len(str(per_second)) - 1}d}".rstrip("0") if fraction else "")
    unit = _datetime_unit(temporal)
    if unit is None or not math.isfinite(value):
        return f"{value:.4g}"
    # arrow's units (D, s, ms, us, ns) are numpy's; the stubs only take them as literals
    stamp = np.datetime64(int(math.ceil(value)), cast("Literal['D', 's', 'ms', 'us', 'ns']", unit))
    if unit == "D":
        return str(stamp)
    text = str(stamp.astype("datetime64[s]")).replace("T", " ")
    return text[:10] if text.endswith("00:00:00") else text


def _datetime_unit(temporal: str | None) -> str | None:
    """numpy's unit for an arrow date or timestamp type name (``date32[day]``, ``timestamp[us, tz=UTC]``)."""
    if not temporal:
        return None
    if temporal.startswith("date32"):
        return "D"
    if temporal.startswith("date64"):
        return "ms"
    if temporal.startswith("timestamp["):
        return temporal[len("timestamp[") :].split(",")[0].rstrip("]")
    return None
