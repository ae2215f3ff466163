"""The drift metrics, their significance (G-test) and their noise floor.

Metrics from the counts, with ``p`` the current shares and ``q`` the
reference shares over the same bins:

=====================  ===============================================  =====  =========
metric                 value                                            unit   threshold
=====================  ===============================================  =====  =========
``js_distance``        ``sqrt(JS(p, q))``, in [0, 1]                    bits   0.1
``js``                 ``JS(p, q)``, in [0, 1]                          bits   0.01
``kl``                 ``KL(p‖q)`` on floored shares                     nats   0.05
``kl_reverse``         ``KL(q‖p)`` on floored shares                     nats   0.05
``symmetric_kl``       ``KL(p‖q) + KL(q‖p)`` on floored shares           nats   0.1
``psi``                ``Σ (p − q)·ln(p/q)`` on floored shares           nats   0.1
``hellinger``          ``sqrt(½ Σ (√p − √q)²)``, in [0, 1]              —      0.1
``total_variation``    ``½ Σ |p − q|``, in [0, 1]                       —      0.1
``linf``               ``max |p − q|``, in [0, 1]                       —      0.1
``chi2``               Pearson's χ² statistic of the 2×K table          —      χ² critical value at ``--alpha``
=====================  ===============================================  =====  =========

Metrics from the values (numeric columns; the reference sample and a sample
of the current table, each all rows up to 500,000):

=====================  ===============================================  =====  =========
``wasserstein``        ``W1(current, reference) / std(reference)``      —      0.1
``ks``                 two-sample Kolmogorov–Smirnov statistic           —      0.1
=====================  ===============================================  =====  =========

JS needs no floor: a bin empty on one side adds a finite amount, a bin empty on
both adds nothing. The KL-type metrics floor every share at
:data:`SHARE_FLOOR` (1e-4, as common PSI tools do) and renormalise, so they stay
finite; ``psi`` is therefore exactly ``symmetric_kl``, under its customary name.
For small changes ``psi ≈ 8·ln 2·js_distance²``, so ``psi`` 0.1 and
``js_distance`` 0.1 (``psi`` 0.055) flag nearly the same changes.

**Significance.** :func:`g_test` gives the likelihood-ratio (G) test of
"both tables are samples of one distribution" on the 2×K table of counts:
``G = 2·(n·KL(q̂‖m̂) + m·KL(p̂‖m̂))`` with ``m̂`` the pooled shares, χ² with
``K − 1`` degrees of freedom (Williams-corrected) for large tables, a seeded
permutation test for small or sparse ones. Bins that are empty in the
reference by construction (outside its range, unseen categories) are pooled
with a neighbour for the test (:func:`klcli.drift.compare.significance_counts`).
**Noise floor**: :func:`noise_floor`, the metric's mean over
:data:`NULL_DRAWS` seeded permutations of the rows between the two tables
(what the metric reads when nothing changed).
"""

from __future__ import annotations

import math

import numpy as np

from klcli.discrete import divergences

COUNT_METRICS = ("js_distance", "js", "kl", "kl_reverse", "symmetric_kl", "psi", "hellinger", "total_variation", "linf", "chi2")
SAMPLE_METRICS = ("wasserstein", "ks")
METRICS = COUNT_METRICS + SAMPLE_METRICS
DEFAULT_METRIC = "js_distance"
#: Default thresholds; ``chi2``'s (None) is the χ² critical value at ``--alpha``.
DEFAULT_THRESHOLDS = {
    "js_distance": 0.1,
    "js": 0.01,
    "kl": 0.05,
    "kl_reverse": 0.05,
    "symmetric_kl": 0.1,
    "psi": 0.1,
    "hellinger": 0.1,
    "total_variation": 0.1,
    "linf": 0.1,
    "chi2": None,
    "wasserstein": 0.1,
    "ks": 0.1,
}
UNITS = {
    "js_distance": "bits",
    "js": "bits",
    "kl": "nats",
    "kl_reverse": "nats",
    "symmetric_kl": "nats",
    "psi": "nats",
    "hellinger": "",
    "total_variation": "",
    "linf": "",
    "chi2": "",
    "wasserstein": "reference sd",
    "ks": "",
}

#: Smallest share a bin gets in the KL-type metrics (then renormalised).
SHARE_FLOOR = 1e-4
#: Permutations behind :func:`noise_floor` and the p-values of small tables.
NULL_DRAWS = 1000
#: The G-test's χ² approximation is used when every expected count is at least this (Cochran's rule)
MIN_EXPECTED = 5
#: ... and both tables have at least this many rows; below, the p-value comes from permutations.
EXACT_ROWS = 5000
#: Values per side used for the noise floor of the sample metrics (rescaled to the real sizes).
NOISE_SAMPLE_ROWS = 2000


def metric_terms(metric: str, current: np.ndarray, reference: np.ndarray) -> tuple[float, np.ndarray]:
    """A count metric between two count vectors over the same bins, and each bin's share of it.

    Returns ``(value, contributions)``: ``contributions`` are non-negative
    and sum to 1 (all zero when the value is 0).

    >>> value, parts = metric_terms("js_distance", np.array([50, 50]), np.array([90, 10]))
    >>> round(value, 6), parts.round(3).tolist()
    (0.383136, [0.285, 0.715])
    >>> [round(metric_terms(m, np.array([50, 50]), np.array([90, 10]))[0], 4) for m in ("hellinger", "total_variation", "linf", "chi2")]
    [0.3249, 0.4, 0.4, 38.0952]
    """
    p = current / current.sum()
    q = reference / reference.sum()
    with np.errstate(divide="ignore", invalid="ignore"):
        if metric in ("js", "js_distance"):
            m = 0.5 * (p + q)
            terms = 0.5 * (np.where(p > 0, p * np.log(p / m), 0.0) + np.where(q > 0, q * np.log(q / m), 0.0))
            js_bits = divergences(p, q, entropies=False)["js"] / math.log(2.0)
            value = math.sqrt(max(js_bits, 0.0)) if metric == "js_distance" else js_bits
        elif metric in ("kl", "kl_reverse", "symmetric_kl", "psi"):
            p, q = _floored(p), _floored(q)
            log_ratio = np.log(p / q)
            kl_pq = p * log_ratio - p + q
            kl_qp = q * -log_ratio - q + p
            terms = {"kl": kl_pq, "kl_reverse": kl_qp}.get(metric, kl_pq + kl_qp)
            exact = divergences(p, q, entropies=False)
            value = {"kl": exact["kl_pq"], "kl_reverse": exact["kl_qp"]}.get(metric, exact["kl_pq"] + exact["kl_qp"])
        else:
            terms = _share_terms(metric, current, reference, p, q)
            value = _share_value(metric, terms)
    terms = np.clip(terms, 0.0, None)
    total = terms.sum()
    return float(value), (terms / total if total > 0 else np.zeros_like(terms))


def metric_values(metric: str, current: np.ndarray, reference: np.ndarray) -> np.ndarray:
    """A count metric for each row of two 2-D count arrays (the noise floor's draws)."""
    p = current / current.sum(axis=-1, keepdims=True)
    q = reference / reference.sum(axis=-1, keepdims=True)
    if metric in ("js", "js_distance"):
        js_bits = np.maximum(divergences(p, q, entropies=False)["js"] / math.log(2.0), 0.0)
        return np.sqrt(js_bits) if metric == "js_distance" else js_bits
    if metric in ("kl", "kl_reverse", "symmetric_kl", "psi"):
        exact = divergences(_floored(p), _floored(q), entropies=False)
        return {"kl": exact["kl_pq"], "kl_reverse": exact["kl_qp"]}.get(metric, exact["kl_pq"] + exact["kl_qp"])
    with np.errstate(divide="ignore", invalid="ignore"):
        return _share_value(metric, _share_terms(metric, current, reference, p, q))


def _share_terms(metric: str, current, reference, p, q) -> np.ndarray:
    if metric == "hellinger":
        return (np.sqrt(p) - np.sqrt(q)) ** 2
    if metric in ("total_variation", "linf"):
        return np.abs(p - q)
    # chi2: Pearson's statistic of the 2 x K table, summed over both rows per bin.
    n, m = reference.sum(axis=-1, keepdims=True), current.sum(axis=-1, keepdims=True)
    pooled = (current + reference) / (n + m)
    expected_cur, expected_ref = m * pooled, n * pooled
    return np.where(pooled > 0, (current - expected_cur) ** 2 / expected_cur + (reference - expected_ref) ** 2 / expected_ref, 0.0)


def _share_value(metric: str, terms: np.ndarray):
    if metric == "hellinger":
        return np.sqrt(np.minimum(0.5 * terms.sum(axis=-1), 1.0))
    if metric == "total_variation":
        return 0.5 * terms.sum(axis=-1)
    if metric == "linf":
        return terms.max(axis=-1)
    return terms.sum(axis=-1)


def _floored(shares: np.ndarray) -> np.ndarray:
    floored = np.maximum(shares, SHARE_FLOOR)
    return floored / floored.sum(axis=-1, keepdims=True)


def sample_metric(metric: str, current: np.ndarray, reference: np.ndarray) -> float:
    """``wasserstein`` (normed by the reference's standard deviation) or ``ks`` between two samples.

    >>> round(sample_metric("ks", np.arange(10.0), np.arange(10.0) + 5), 2)
    0.5
    >>> round(sample_metric("wasserstein", np.array([0.0, 2.0]), np.array([1.0, 3.0])), 3)
    1.0
    """
    a, b = np.sort(current), np.sort(reference)
    points = np.concatenate([a, b])
    points.sort()
    cdf_a = np.searchsorted(a, points, side="right") / a.size
    cdf_b = np.searchsorted(b, points, side="right") / b.size
    if metric == "ks":
        return float(np.max(np.abs(cdf_a - cdf_b)))
    spread = float(np.std(b))
    distance = float(np.sum(np.abs(cdf_a - cdf_b)[:-1] * np.diff(points)))
    return distance / spread if spread > 0 else (0.0 if distance == 0 else math.inf)


def g_test(current: np.ndarray, reference: np.ndarray, *, seed: int = 0) -> tuple[float, int, float, str]:
    """The G-test of homogeneity of two count vectors: ``(G, degrees of freedom, p-value, method)``.

    ``G = 2·Σ O·ln(O/E)`` over the 2×K table; the degrees of freedom are the
    bins that are not empty on both sides, less one. The p-value is the χ²
    tail of ``G/q`` with Williams' correction ``q`` (``method`` ``"chi2"``)
    when both tables have :data:`EXACT_ROWS` rows and every expected count is
    at least :data:`MIN_EXPECTED`. In smaller or sparser tables, where that
    approximation calls noise significant, it is a permutation test: the share
    of :data:`NULL_DRAWS` seeded permutations (:func:`null_draws`) whose G is
    at least as large (``"permutation"``); when no permutation reaches G, the
    χ² tail, capped at ``1/(NULL_DRAWS + 1)``, so that Holm's correction over
    many columns can still find a large change.

    >>> G, df, p, method = g_test(np.array([5200, 4800]), np.array([5000, 5000]))
    >>> round(G, 3), df, f"{p:.2e}", method
    (8.004, 1, '4.67e-03', 'chi2')
    >>> G, df, p, method = g_test(np.array([50, 50]), np.array([90, 10]))  # small: no permutation reaches G
    >>> f"{p:.2e}", method
    ('2.16e-10', 'permutation')
    """
    n, m = int(reference.sum()), int(current.sum())
    used = (current + reference) > 0
    df = int(used.sum()) - 1
    if df < 1 or n == 0 or m == 0:
        return 0.0, max(df, 0), 1.0, "chi2"
    cur, ref = current[used], reference[used]
    statistic = float(g_statistics(cur, ref))
    pooled = (cur + ref) / (n + m)
    total = n + m  # Williams' correction: G / q follows χ² more closely in moderate samples
    q = 1.0 + (total * (1.0 / n + 1.0 / m) - 1.0) * (total * float(np.sum(1.0 / (cur + ref))) - 1.0) / (6.0 * total * df)
    tail = chi2_survival(statistic / q, df)
    if min(n, m) >= EXACT_ROWS and min(n, m) * pooled.min() >= MIN_EXPECTED:
        return statistic, df, tail, "chi2"
    draws_cur, draws_ref = null_draws(cur, ref, seed=seed)
    exceed = int(np.count_nonzero(g_statistics(draws_cur, draws_ref) >= statistic * (1 - 1e-12)))
    if exceed == 0:  # beyond every permutation: the χ² tail says how far, capped at the permutations' bound
        return statistic, df, min(tail, 1.0 / (1 + NULL_DRAWS)), "permutation"
    return statistic, df, (1 + exceed) / (1 + NULL_DRAWS), "permutation"


def g_statistics(current: np.ndarray, reference: np.ndarray) -> np.ndarray:
    """G of the 2×K table for each row of two count arrays (1-D: one table)."""
    n, m = reference.sum(axis=-1, keepdims=True), current.sum(axis=-1, keepdims=True)
    pooled = (current + reference) / (n + m)
    with np.errstate(divide="ignore", invalid="ignore"):
        terms = np.where(current > 0, current * np.log(current / (m * pooled)), 0.0) + np.where(
            reference > 0, reference * np.log(reference / (n * pooled)), 0.0
        )
    return np.maximum(2.0 * terms.sum(axis=-1), 0.0)


def null_draws(current: np.ndarray, reference: np.ndarray, *, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """:data:`NULL_DRAWS` seeded permutations of the pooled rows between the two tables (nothing changed).

    Each draw deals the pooled counts of every bin anew into a current table of
    the same size and a reference of the same size (a multivariate
    hypergeometric draw: exactly what shuffling the rows between the tables
    gives, without touching the rows).
    """
    pooled = (current + reference).astype(np.int64)
    rng = np.random.default_rng(seed)
    draws_cur = rng.multivariate_hypergeometric(pooled, int(current.sum()), size=NULL_DRAWS, method="marginals")
    return draws_cur, pooled - draws_cur


def chi2_survival(x: float, df: int) -> float:
    """P(χ²_df > x), summed in closed form (no scipy import on the drift path).

    For even ``df`` it is ``e^{-x/2} Σ_{i<df/2} (x/2)^i / i!``; for odd ``df``,
    ``erfc(√(x/2))`` plus the half-integer terms. Terms are formed in log
    space, so large ``x`` and ``df`` neither overflow nor lose the sum.

    >>> round(chi2_survival(3.841458820694124, 1), 12), round(chi2_survival(18.307038053275146, 10), 12)
    (0.05, 0.05)
    """
    if x <= 0:
        return 1.0
    half = x / 2.0
    if df % 2 == 0:
        first, head = 0.0, 0.0
    else:
        first, head = math.erfc(math.sqrt(half)), 0.5
    terms = [math.exp((i + head) * math.log(half) - math.lgamma(i + head + 1.0) - half) for i in range(df // 2)]
    return min(1.0, first + math.fsum(terms))


def chi2_critical(df: int, alpha: float) -> float:
    """The χ² value with ``df`` degrees of freedom exceeded with probability ``alpha``.

    >>> round(chi2_critical(1, 0.05), 4)
    3.8415
    """
    from scipy.special import chdtri

    return float(chdtri(max(df, 1), alpha))


def noise_floor(metric: str, current: np.ndarray, reference: np.ndarray, *, seed: int = 0) -> float:
    """The metric's mean when nothing changed: over :data:`NULL_DRAWS` seeded permutations of the rows.

    The rows of both tables are dealt anew into tables of the same sizes
    (:func:`null_draws`). For JS over ``K`` bins it is
    close to the χ² relation ``E[JS] ≈ (K − 1)/(4·H)`` nats with ``H`` the
    harmonic mean of the sizes.

    >>> round(noise_floor("js", np.array([500] * 10), np.array([500] * 10)) * math.log(2), 5)  # (K - 1)/(4 H) = 0.00045
    0.00044
    """
    draws_cur, draws_ref = null_draws(current, reference, seed=seed)
    with np.errstate(divide="ignore", invalid="ignore"):
        return float(np.mean(metric_values(metric, draws_cur, draws_ref)))


def sample_noise_floor(metric: str, current: np.ndarray, reference: np.ndarray, rows: tuple[int, int], *, seed: int = 0) -> float:
    """Noise floor of a sample metric: permutations of the pooled samples, rescaled to the real sizes.

    Both samples are cut to at most :data:`NOISE_SAMPLE_ROWS` values; the mean
    over 50 permutations is scaled by ``sqrt(H_used / H)``, the ``1/sqrt(H)``
    law both statistics follow when nothing changed (``rows``: the real
    ``(reference, current)`` value counts).
    """
    rng = np.random.default_rng(seed)
    ref = rng.permutation(reference)[:NOISE_SAMPLE_ROWS]
    cur = rng.permutation(current)[:NOISE_SAMPLE_ROWS]
    pooled = np.concatenate([ref, cur])
    values = []
    for _ in range(50):
        rng.shuffle(pooled)
        values.append(sample_metric(metric, pooled[: cur.size], pooled[cur.size :]))
    used = 2.0 * ref.size * cur.size / (ref.size + cur.size)
    full = 2.0 * rows[0] * rows[1] / (rows[0] + rows[1])
    return float(np.mean(values)) * math.sqrt(used / full)


def holm(p_values: list[float]) -> list[float]:
    """Holm's step-down adjusted p-values (family-wise error across columns).

    >>> holm([0.01, 0.04, 0.03])
    [0.03, 0.06, 0.06]
    """
    order = sorted(range(len(p_values)), key=lambda i: p_values[i])
    adjusted, running = [0.0] * len(p_values), 0.0
    for rank, i in enumerate(order):
        running = max(running, min(1.0, (len(p_values) - rank) * p_values[i]))
        adjusted[i] = running
    return adjusted
