"""The Pareto k̂ diagnostic of importance weights (PSIS: Vehtari, Gelman, Gabry).

An average of importance weights ``w = exp(log_w)`` has a finite variance only
when the weights' upper tail is lighter than a Pareto tail of index 2. PSIS
fits a generalised Pareto distribution to the largest weights; its shape
``k̂`` says how heavy the tail is:

- ``k̂ < 0.5``: finite variance, the standard error can be trusted;
- ``0.5 ≤ k̂ < 0.7``: finite mean, the estimate converges slowly;
- ``k̂ ≥ 0.7``: the standard error is unreliable (the estimate may not
  converge in practice, or its target may be infinite).

References: Vehtari, Simpson, Gelman, Yao & Gabry (2024), "Pareto smoothed
importance sampling", JMLR 25(72); Zhang & Stephens (2009), "A new and
efficient estimation method for the generalized Pareto distribution",
Technometrics 51(3), for the fit.

>>> rng = np.random.default_rng(0)
>>> light = rng.normal(size=20_000)              # log-weights of a Gaussian: light tail
>>> round(pareto_khat(light), 1) < 0.5
True
>>> heavy = np.log(rng.pareto(1.0, size=20_000) + 1)  # weights with tail index 1: k = 1
>>> 0.8 < pareto_khat(heavy) < 1.2
True
"""

from __future__ import annotations

import math

import numpy as np

#: Above this k̂ a standard error of an importance average is not to be trusted.
KHAT_UNRELIABLE = 0.7


def pareto_khat(log_weights: np.ndarray) -> float:
    """Pareto k̂ of the weights ``exp(log_weights)``; ``nan`` when too few draws.

    Fits the largest ``M = min(S/5, 3√S)`` weights (S draws), as PSIS does.
    Infinite log-weights count as the largest possible weights (k̂ = inf).
    """
    log_w = np.asarray(log_weights, dtype=float).ravel()
    log_w = log_w[~np.isneginf(log_w)]
    if np.isnan(log_w).any():
        raise ValueError("pareto_khat: NaN log-weight")
    if np.isposinf(log_w).any():
        return float("inf")
    s = log_w.size
    tail = math.ceil(min(0.2 * s, 3 * math.sqrt(s)))
    if tail < 5:
        return float("nan")
    top = np.partition(log_w, s - tail - 1)[s - tail - 1 :]
    top.sort()
    cutoff = top[0]
    exceed = np.expm1(top[1:] - cutoff)  # w / w_cutoff - 1, scale-free
    exceed = exceed[exceed > 0]
    if exceed.size < 5:
        return 0.0  # the largest weights are all equal: no tail at all
    return _gpd_shape(exceed)


def _gpd_shape(x: np.ndarray) -> float:
    """Shape of a generalised Pareto fit to sorted positive exceedances ``x``.

    Zhang & Stephens' posterior-mean estimate of ``b = -k/σ`` over a grid,
    with the weakly informative prior on k that PSIS adds (k shrunk towards 0.5
    by 10 pseudo-observations).
    """
    n = x.size
    grid = 30 + int(np.sqrt(n))
    b = 1 - np.sqrt(grid / (np.arange(1, grid + 1) - 0.5))
    b = b / (3 * x[int(n / 4 + 0.5) - 1]) + 1 / x[-1]
    k = np.log1p(-b[:, None] * x).mean(axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        profile = n * (np.log(-b / k) - k - 1)
    profile = np.where(np.isfinite(profile), profile, -np.inf)
    weights = np.exp(profile - profile.max())
    weights /= weights.sum()
    b_post = float(np.sum(b * weights))
    k_post = float(np.log1p(-b_post * x).mean())
    return (n * k_post + 10 * 0.5) / (n + 10)
