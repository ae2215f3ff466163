"""Pareto k̂: the tail diagnostic of an average of draws (PSIS, Vehtari, Gelman & Gabry).

A generalised Pareto distribution is fitted to the ``M = min(n/5, 3√n)``
largest of ``n`` draws (their excesses over the next largest), by the
Zhang & Stephens (2009) posterior-mean estimator with the weakly informative
prior of Vehtari et al. (2024, "Pareto smoothed importance sampling", JMLR 25),
as ArviZ and the R package ``loo`` do. The shape ``k`` says how heavy the tail is:
the draws have ``1/k`` finite moments, so

- ``k < 0.5``: finite variance; the standard error means what it says;
- ``0.5 ≤ k < 0.7``: infinite variance, but the average still converges at a usable pace;
- ``k ≥ 0.7``: the standard error cannot be trusted (:data:`UNRELIABLE`);
- ``k ≥ 1``: the mean itself is probably infinite (:data:`INFINITE_MEAN`).

>>> rng = np.random.default_rng(0)
>>> 0.9 < pareto_k(rng.pareto(1.0, 100_000)) < 1.2   # tail index 1: k = 1
True
>>> pareto_k(rng.normal(size=100_000)) < 0.2
True
"""

from __future__ import annotations

import math

import numpy as np

INFINITE_VARIANCE = 0.5
UNRELIABLE = 0.7
INFINITE_MEAN = 1.0


def tail_size(n: int) -> int:
    """How many of ``n`` draws form the fitted tail: ``min(n/5, 3√n)``."""
    return int(min(n / 5, math.ceil(3 * math.sqrt(n))))


def pareto_k(values: np.ndarray, n: int | None = None) -> float | None:
    """Pareto k̂ of the upper tail of ``values``.

    ``values`` may be just the largest ``tail_size(n) + 1`` of ``n`` draws
    (pass ``n``); ``None`` when the tail is too short (fewer than 5 draws) or
    degenerate (all tail draws equal: no tail to speak of).
    """
    values = np.asarray(values, dtype=np.float64)
    n = values.size if n is None else int(n)
    size = tail_size(n)
    if size < 5 or values.size < size + 1:
        return None
    top = np.sort(values)[-(size + 1) :]
    if not np.all(np.isfinite(top)):
        return math.inf
    excess = top[1:] - top[0]
    if not excess[-1] > 0:
        return None
    return _gpd_shape(excess)


def _gpd_shape(excess: np.ndarray) -> float:
    """Zhang & Stephens' estimate of the generalised Pareto shape of sorted positive excesses."""
    n = excess.size
    prior_bs, prior_k = 3.0, 10.0
    m = 30 + int(math.sqrt(n))
    b = 1 - np.sqrt(m / (np.arange(1, m + 1, dtype=np.float64) - 0.5))
    quartile = excess[max(int(n / 4 + 0.5) - 1, 0)]
    if not quartile > 0:
        quartile = excess[excess > 0][0]
    b = b / (prior_bs * quartile) + 1 / excess[-1]
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        k = np.log1p(-b[:, None] * excess).mean(axis=1)
        profile = n * (np.log(-(b / k)) - k - 1)
        weights = 1 / np.exp(profile - profile[:, None]).sum(axis=1)
    keep = np.isfinite(weights) & (weights >= 10 * np.finfo(float).eps)
    b, weights = b[keep], weights[keep] / weights[keep].sum()
    b_mean = float(np.sum(b * weights))
    k_mean = float(np.log1p(-b_mean * excess).mean())
    return (n * k_mean + prior_k * 0.5) / (n + prior_k)
