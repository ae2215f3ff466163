"""Estimators of KL and JS from continuous samples, the ``auto`` rule, and honest intervals.

Three estimators are available (``--estimator``), all computed on samples
whitened by the pooled covariance (KL and JS do not change under an invertible
affine map applied to both sets; whitening makes every estimator invariant to
it too):

``knn``
    Wang–Kulkarni–Verdú k-nearest-neighbour estimator with one order k
    (:func:`klcli.knn.knn_point_terms`).
``knn-ensemble``
    the same estimator over k = 1..10, weighted to cancel the leading bias term
    (:func:`klcli.knn.ensemble_point_terms`).
``classifier``
    a cross-fitted logistic regression on quadratic and spline features
    (:func:`klcli.classifier.classifier_point_terms`).

``auto`` is chosen by measurement (``benchmarks/bench_sample_corpus.py``,
``benchmarks/results_sample_corpus.md``): ``classifier`` in every dimension.
On the corpus at n = 10⁴ it met the bias goal in more cases than the weighted
kNN in each dimension, and by far from 5 dimensions on, where kNN estimates
of a wider reference or of correlated pairs are off by 30-60 %. Every estimate is a mean of per-point terms, so its standard
error is the standard deviation of the terms over √n.

Honest uncertainty: besides the chosen estimate, the estimator of the *other*
family (classifier for the kNN estimators, weighted kNN for the classifier;
on at most :data:`CHECK_MAX_POINTS` points per side) is computed as a cross-check.
``interval`` spans both estimates ± 2 standard errors, so it holds the
bias that shows as disagreement between estimators and not only the noise;
when the two disagree by more than their noise plus 10 %, the value is listed
as ``unreliable``.

Examples
--------
>>> rng = np.random.default_rng(0)
>>> x, y = rng.normal(0, 1, (2000, 2)), rng.normal(1, 1, (2000, 2))
>>> r = estimate_divergences(x, y, estimator="auto", rng=rng)
>>> r.estimator, r.check, abs(r.values["kl_pq"] - 1.0) < 0.1, r.interval["kl_pq"][0] < 1.0 < r.interval["kl_pq"][1]
('classifier', 'knn-ensemble', True, True)
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from klcli.errors import InputError
from klcli.result import Comparison

if TYPE_CHECKING:
    from klcli.samples import SampleSet

#: Values of ``--estimator``.
ESTIMATORS = ("auto", "knn", "knn-ensemble", "classifier")

#: ``auto`` takes the weighted kNN estimator up to this dimension, the classifier above
#: (0: the classifier everywhere; see the module docstring for the measurements).
AUTO_KNN_MAX_DIM = 0

#: The cross-check estimator runs on at most this many points per side.
CHECK_MAX_POINTS = 10_000

#: Relative disagreement (beyond the noise) between estimators that marks a value unreliable.
DISAGREEMENT = 0.10

KEYS = ("kl_pq", "kl_qp", "js")


@dataclass
class SampleEstimate:
    """Estimates in nats: ``values`` (raw: KL may be negative), CLT ``stderr``,
    ``interval`` (bias-aware, clipped to the valid range), ``unreliable``
    (key → reason), the ``estimator`` used and the ``check`` estimator's values."""

    estimator: str
    values: dict[str, float]
    stderr: dict[str, float]
    interval: dict[str, tuple[float, float]] = field(default_factory=dict)
    unreliable: dict[str, str] = field(default_factory=dict)
    check: str | None = None
    check_values: dict[str, float] = field(default_factory=dict)
    ties: int = 0


def whiten(x: np.ndarray, y: np.ndarray, sources: tuple[str, str] = ("P", "Q")) -> tuple[np.ndarray, np.ndarray]:
    """Map both sets by the inverse Cholesky factor of their pooled covariance.

    Raises InputError when the pooled covariance is singular (a constant
    column, or columns that are linear combinations of others).

    >>> x = np.array([[0.0, 0.0], [1.0, 2.0], [2.0, 1.0]])
    >>> a, b = whiten(x, x + 1)
    >>> np.allclose(np.cov(np.concatenate([a, b]).T), np.eye(2))
    True
    """
    pooled = np.concatenate([x, y])
    center = pooled.mean(axis=0)
    cov = np.atleast_2d(np.cov(pooled, rowvar=False))
    scale = np.sqrt(np.diag(cov))
    if np.any(scale == 0):
        j = int(np.argmax(scale == 0))
        raise InputError(
            f"column {j} has the same value in every row of {sources[0]} and {sources[1]}; it has no density: leave it out with `columns`"
        )
    corr = cov / np.outer(scale, scale)
    try:
        chol = np.linalg.cholesky(corr)
        if np.min(np.diag(chol)) < 1e-7:
            raise np.linalg.LinAlgError
    except np.linalg.LinAlgError:
        raise InputError(
            f"the columns of {sources[0]} and {sources[1]} are linearly dependent (one is a combination of others); "
            "the samples have no density in this many dimensions: leave the redundant columns out with `columns`"
        ) from None
    for a, source in zip((x, y), sources):
        own = np.atleast_2d(np.cov((a - center) / scale, rowvar=False))
        if len(a) <= a.shape[1] or np.linalg.eigvalsh(own)[0] <= 1e-10 * max(np.trace(own), 1e-300):
            raise InputError(
                f"{source}: its samples lie on a lower-dimensional subspace (a constant column, or columns that "
                "are combinations of others); they have no density in this many dimensions: choose columns with `columns`"
            )
    from scipy.linalg import solve_triangular

    def apply(a: np.ndarray) -> np.ndarray:
        return solve_triangular(chol, ((a - center) / scale).T, lower=True).T

    return apply(x), apply(y)


def estimate_divergences(
    x: np.ndarray,
    y: np.ndarray,
    *,
    estimator: str = "auto",
    k: int = 3,
    rng: np.random.Generator,
    bootstrap: int = 0,
    cross_check: bool = True,
    progress: Callable[[int], None] | None = None,
) -> SampleEstimate:
    """Estimate KL(P‖Q), KL(Q‖P) and JS from (whitened) samples, with a bias-aware interval.

    ``k`` is the order of the ``knn`` estimator. With ``bootstrap`` B ≥ 2 the
    standard errors come from B half-samples drawn without replacement (they
    include the variance of a fitted classifier, which the per-point spread
    misses); the cross-check's errors are scaled by the same factor. Without
    ``cross_check`` only the chosen estimator runs and the interval is the
    estimate ± 2 standard errors. ``progress`` receives the number of points
    processed, up to :func:`work_units` in all.
    """
    dim = x.shape[1]
    name = resolve(estimator, dim)
    terms, ties, used = _terms(name, x, y, k, rng, progress)
    main = _summarise(terms)
    inflation = dict.fromkeys(KEYS, 1.0)
    if bootstrap:
        reps = []
        for _ in range(bootstrap):
            half_x, half_y = _subsample(x, len(x) // 2, rng), _subsample(y, len(y) // 2, rng)
            reps.append(_summarise(_terms(used, half_x, half_y, k, rng, progress)[0])[0])
        spread = {key: float(np.std([r[key] for r in reps], ddof=1)) for key in KEYS}
        inflation = {key: max(1.0, spread[key] / main[1][key]) if main[1][key] > 0 else 1.0 for key in KEYS}
        main = (main[0], spread)
    result = SampleEstimate(used, *main, ties=ties)
    alternatives = [main]
    if cross_check:
        other = "classifier" if used.startswith("knn") else "knn-ensemble"
        xs, ys = _subsample(x, CHECK_MAX_POINTS, rng), _subsample(y, CHECK_MAX_POINTS, rng)
        check_terms, _, check_used = _terms(other, xs, ys, k, rng, progress)
        values, stderr = _summarise(check_terms)
        result.check, result.check_values = check_used, values
        alternatives.append((values, {key: stderr[key] * inflation[key] for key in KEYS}))
    for key in KEYS:
        low = min(v[key] - 2 * s[key] for v, s in alternatives)
        high = max(v[key] + 2 * s[key] for v, s in alternatives)
        top = math.log(2) if key == "js" else math.inf
        result.interval[key] = (min(max(low, 0.0), top), min(max(high, 0.0), top))
        if len(alternatives) > 1:
            (a, sa), (b, sb) = ((v[key], s[key]) for v, s in alternatives)
            allowed = 2 * math.hypot(sa, sb) + DISAGREEMENT * max(abs(a), abs(b))
            if abs(a - b) > allowed:
                result.unreliable[key] = (
                    f"{used} gives {a:.4g} but {result.check} gives {b:.4g} (more apart than their noise plus {DISAGREEMENT:.0%})"
                )
    return result


def resolve(estimator: str, dim: int) -> str:
    """The estimator ``auto`` stands for in ``dim`` dimensions (others unchanged).

    >>> resolve("auto", 1), resolve("auto", 10), resolve("knn", 10)
    ('classifier', 'classifier', 'knn')
    """
    if estimator not in ESTIMATORS:
        from klcli.errors import UsageError

        raise UsageError(f"`--estimator` must be one of {', '.join(ESTIMATORS)}, not {estimator!r}")
    if estimator != "auto":
        return estimator
    return "knn-ensemble" if dim <= AUTO_KNN_MAX_DIM else "classifier"


def work_units(n: int, m: int, estimator: str, dim: int, bootstrap: int = 0, cross_check: bool = True) -> int:
    """Total of the counts ``progress`` receives in :func:`estimate_divergences`."""
    name = resolve(estimator, dim)
    total = (3 if name.startswith("knn") else 1) * (n + m + bootstrap * (n // 2 + m // 2))
    if cross_check:
        cn, cm = min(n, CHECK_MAX_POINTS), min(m, CHECK_MAX_POINTS)
        total += cn + cm if name.startswith("knn") else 3 * (cn + cm)
    return total


def _terms(name, x, y, k, rng, progress):
    """Per-point terms of one estimator; the weighted kNN falls back to ``knn`` on ties."""
    from klcli import classifier, knn

    if name == "classifier":
        return classifier.classifier_point_terms(x, y, rng=rng, progress=progress), 0, name
    if name == "knn-ensemble":
        terms = knn.ensemble_point_terms(x, y, rng=rng, progress=progress)
        if terms is not None:
            return terms, 0, name
        name = "knn"
    terms, ties = knn.knn_point_terms(x, y, k, rng=rng, progress=progress)
    return terms, ties, name


def _summarise(terms: dict[str, np.ndarray]) -> tuple[dict[str, float], dict[str, float]]:
    """Means of the per-point terms and their standard errors (JS = ½ KL(P‖M) + ½ KL(Q‖M))."""
    values, stderr = {}, {}
    for key in ("kl_pq", "kl_qp"):
        t = terms[key]
        values[key] = float(np.mean(t))
        stderr[key] = float(np.std(t, ddof=1) / math.sqrt(len(t)))
    p, q = terms["js_p"], terms["js_q"]
    values["js"] = 0.5 * float(np.mean(p)) + 0.5 * float(np.mean(q))
    stderr["js"] = 0.5 * math.sqrt(np.var(p, ddof=1) / len(p) + np.var(q, ddof=1) / len(q))
    return values, stderr


def _subsample(a: np.ndarray, size: int, rng: np.random.Generator) -> np.ndarray:
    return a if len(a) <= size else a[np.sort(rng.choice(len(a), size, replace=False))]


def compare_continuous(
    p: SampleSet,
    q: SampleSet,
    k: int,
    estimator: str,
    standardize: bool,
    bootstrap: int,
    seed: int | None,
    progress: Callable[[int, int], None] | None,
) -> Comparison:
    """:func:`klcli.samples.compare_samples` for continuous samples: checks, whitening, estimate, notes."""
    from klcli.samples import MIN_SAMPLES

    name = resolve(estimator, p.dim)
    for s in (p, q):
        if name == "knn" and s.n < k + 1:
            raise InputError(f"{s.source}: {s.n} samples; the kNN estimator with `k`={k} needs at least {k + 1}")
        if s.n < MIN_SAMPLES:
            raise InputError(f"{s.source}: {s.n} samples; estimating a divergence needs at least {MIN_SAMPLES}")
        if np.all(s.values == s.values[0]):
            raise InputError(f"{s.source}: all {s.n} samples are identical; they have no density to estimate from")
    if bootstrap and min(p.n, q.n) // 2 < max(k + 1, MIN_SAMPLES):
        raise InputError(
            f"{p.source if p.n <= q.n else q.source}: too few samples for `bootstrap` half-samples "
            f"(each half needs at least {max(k + 1, MIN_SAMPLES)})"
        )
    x, y = whiten(p.values, q.values, (p.source, q.source)) if standardize else (p.values, q.values)
    rng = np.random.default_rng(seed)
    advance = None
    if progress is not None:
        total = work_units(p.n, q.n, name, p.dim, bootstrap)
        advance = lambda done: progress(done, total)
    result = estimate_divergences(x, y, estimator=name, k=k, rng=rng, bootstrap=bootstrap, progress=advance)
    raw, stderr, used = dict(result.values), dict(result.stderr), result.estimator
    values = dict(raw)
    what = {
        "knn": f"kNN estimate with k={k}",
        "knn-ensemble": "weighted kNN estimate over k = 1..10",
        "classifier": "cross-fitted classifier (logistic regression) estimate",
    }[used]
    notes = [what + (", samples whitened by the pooled covariance" if standardize else "")]
    if used != name:
        notes.append("duplicate points: the weighted kNN estimator needs distinct points; used knn instead")
    clipped = {}
    for key in ("kl_pq", "kl_qp", "js"):
        top = math.log(2) if key == "js" else math.inf
        if not 0 <= values[key] <= top:
            clipped[key] = values[key]
            values[key] = min(max(values[key], 0.0), top)
            notes.append(
                f"{key}: the raw estimate {raw[key]:.3g} lies outside [0, {'ln 2' if key == 'js' else '∞'}] "
                f"and is reported clipped to {values[key]:.3g} (key `clipped` holds the raw value)"
            )
    for key, reason in result.unreliable.items():
        notes.append(f"unreliable: {key}: {reason}; `interval` spans both")
    if result.ties:
        notes.append(
            f"{result.ties} point(s) had duplicates at distance 0: their first positive distance was used and all "
            "neighbours inside each radius counted (Wang et al. 2009); the estimator assumes continuous data"
        )
    notes.append(
        (
            f"standard errors from {bootstrap} half-sample resamples"
            if bootstrap
            else "standard errors from the spread of the per-point terms (they miss the variance of fitting; --bootstrap B resamples)"
        )
        + f"; `interval` spans ±2 standard errors of this and of the {result.check} estimate"
    )
    info: dict[str, Any] = {
        "estimator": used,
        "k": k if used == "knn" else None,
        "n_p": p.n,
        "n_q": q.n,
        "dim": p.dim,
        "bootstrap": bootstrap,
        "seed": seed,
        "standardize": standardize,
        "ties": result.ties,
        "check": {"estimator": result.check, **result.check_values},
    }
    if clipped:
        info["clipped"] = clipped
    if result.unreliable:
        info["unreliable"] = sorted(result.unreliable)
    info = {key: value for key, value in info.items() if value is not None}
    return Comparison.from_nats(values, method=used, stderr=stderr, info=info, notes=notes, interval=result.interval)
