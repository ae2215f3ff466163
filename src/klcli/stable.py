"""Special-function combinations evaluated without cancellation (numpy, float64, elementwise).

>>> float(lgamma_remainder(np.array(1e300), np.array(0.5)))  # lgamma(x + ½) - lgamma(x) - ψ(x)/2 ≈ 1/(8x)
1.25e-301
"""

from __future__ import annotations

import numpy as np
from scipy import special


def log1p_minus(x: np.ndarray) -> np.ndarray:
    """``log1p(x) - x`` (≤ 0) without cancellation near 0 (series for |x| < 0.1)."""
    x = np.asarray(x, dtype=np.float64)
    k = np.arange(2, 20, dtype=np.float64)
    coefficients = np.concatenate([[0.0, 0.0], (-1.0) ** (k + 1) / k])
    with np.errstate(over="ignore", invalid="ignore"):
        series = np.polynomial.polynomial.polyval(x, coefficients)
        direct = np.log1p(x) - x
    return np.where(np.abs(x) < 0.1, series, direct)


def _phi_over_t(t: np.ndarray) -> np.ndarray:
    """``((1 + t) log1p(t) - t) / t``: series ``Σ (-1)^k t^(k-1) / (k (k-1))`` for |t| < 0.1."""
    k = np.arange(2, 20, dtype=np.float64)
    coefficients = np.concatenate([[0.0], (-1.0) ** k / (k * (k - 1))])
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        series = np.polynomial.polynomial.polyval(t, coefficients)
        direct = (special.xlog1py(1 + t, t) - t) / t
    return np.where(np.abs(t) < 0.1, series, direct)


POLYGAMMA_TERMS = 26


def lgamma_remainder(a: np.ndarray, delta: np.ndarray, end: np.ndarray | None = None) -> np.ndarray:
    """``lgamma(a + δ) - lgamma(a) - δ ψ(a)`` (≥ 0, the Taylor remainder of the convex lgamma).

    ``end`` is ``a + δ`` when it is known exactly (``δ`` computed as a difference loses a
    tiny end: ``3e-300 - 1.5`` rounds to ``-1.5``); the formulas that need ``a + δ`` use it.

    Computed without the cancellation of the direct form when ``|δ| ≪ a``:

    - ``a < 1``: shifted to ``a + 1`` by ``lgamma(x) = lgamma(x + 1) - log x``, which adds
      ``-(log1p(δ/a) - δ/a)`` (non-negative);
    - ``a, a + δ ≥ 1000``: Stirling's series, ``a((1+t)log1p(t) - t) - (log1p(t) - t)/2 + t u / (12 a)``
      with ``t = δ/a``, ``u = δ/(a+δ)`` (next term below 1e-13 relative);
    - otherwise, for ``|δ| < a/5``, the Taylor series ``Σ_k ψ^(k-1)(a) δ^k / k!`` (26 terms);
    - else the direct form, whose terms then hold no large cancellation.

    >>> round(float(lgamma_remainder(np.array(2.0), np.array(1e-9))) * 1e19, 6)  # ψ'(2) δ²/2
    3.22467
    """
    with np.errstate(over="ignore", invalid="ignore"):
        end = np.asarray(a, dtype=np.float64) + np.asarray(delta, dtype=np.float64) if end is None else end
    a, delta, end = (x.astype(np.float64) for x in np.broadcast_arrays(a, delta, end))
    out = np.empty_like(a)
    with np.errstate(over="ignore", invalid="ignore", divide="ignore", under="ignore"):
        small = a < 1
        if np.any(small):
            aa, dd, ee = a[small], delta[small], end[small]
            ratio = dd / aa
            # log1p(δ/a) - δ/a, with log1p(δ/a) = log(end) - log(a) when end ≪ a
            shift = np.where(ratio < -0.5, np.log(ee) - np.log(aa) - ratio, log1p_minus(ratio))
            out[small] = lgamma_remainder(aa + 1, dd, ee + 1) - shift
        large = (a >= 1000) & (a + delta >= 1000)
        if np.any(large):
            aa, dd = a[large], delta[large]
            t, u = dd / aa, dd / (aa + dd)
            out[large] = dd * _phi_over_t(t) - 0.5 * log1p_minus(t) + t * u / (12 * aa)  # a φ(t) = δ φ(t)/t: no underflow
        middle = ~small & ~large
        near = middle & (np.abs(delta) < 0.2 * a)
        if np.any(near):
            aa, dd = a[near], delta[near]
            total = np.zeros_like(aa)
            power = dd.copy()
            for k in range(2, POLYGAMMA_TERMS + 2):
                power = power * dd / k
                total += special.polygamma(k - 1, aa) * power
            out[near] = total
        far = middle & ~near
        if np.any(far):
            aa, dd = a[far], delta[far]
            out[far] = special.gammaln(end[far]) - special.gammaln(aa) - dd * special.digamma(aa)
    return out
