"""1-D quadrature (continuous) and summation (discrete) of KL and JS divergences.

Continuous pairs are integrated with :func:`scipy.integrate.quad` over the
union of both supports, split at the families' landmarks (locations, modes,
a ladder of scales) and at finite support ends; infinite tails are left to
quad's own variable change. The integrand is built from log densities,
``p (d + expm1(-d))`` with ``d = log p - log q`` (see :mod:`._terms`), so it
never goes negative and stays accurate for nearly equal densities.

Discrete pairs are summed over ``0..K`` where both tails beyond ``K`` hold
less than 1e-17 of the mass (from each family's survival function); for KL,\nonly P's range is summed and the mass of Q beyond it is added back.

Independent vectors add their per-dimension KL; JS needs scalars.

>>> from klcli.families import Normal, StudentT
>>> estimate = kl(StudentT(5), Normal(0, 1))
>>> round(estimate.value, 8), estimate.error < 1e-9
(0.12476919, True)
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from klcli.engines._terms import weighted_terms
from klcli.families import Distribution, Univariate

TAIL_MASS = 1e-17
RELATIVE_TOLERANCE = 1e-6
MAX_TERMS = 200_000_000
CHUNK = 1 << 20
LOG_2 = math.log(2.0)


@dataclass(frozen=True)
class Estimate:
    """A quadrature value, its absolute error estimate (nats) and a remark for people."""

    value: float
    error: float
    note: str = ""


class NotIntegrable(Exception):
    """Quadrature cannot serve this pair (the message says why)."""


def _scalar_parts(distribution: Distribution) -> list[Distribution]:
    """The independent 1-D factors of a distribution."""
    return distribution.marginals() if isinstance(distribution, Univariate) else [distribution]


def check(p: Distribution, q: Distribution, *, js: bool = False) -> None:
    """Raise :class:`NotIntegrable` unless quadrature can compute KL (or JS) of ``p`` and ``q``."""
    for distribution in (p, q):
        if distribution.event_shape and not isinstance(distribution, Univariate):
            raise NotIntegrable(f"{distribution.name} is multivariate")
    if js and p.event_shape:
        raise NotIntegrable("JS of vectors does not split into 1-D integrals")
    if p.event_shape != q.event_shape:
        raise NotIntegrable("different dimensions")


def kl(p: Distribution, q: Distribution) -> Estimate:
    """KL(P‖Q) by 1-D quadrature or summation, summed over independent dimensions."""
    check(p, q)
    parts = [_one_dimensional(a, b, js=False) for a, b in zip(_scalar_parts(p), _scalar_parts(q))]
    notes = "; ".join(sorted({e.note for e in parts if e.note}))
    return Estimate(sum(e.value for e in parts), sum(e.error for e in parts), notes)


def js(p: Distribution, q: Distribution) -> Estimate:
    """Jensen–Shannon divergence of two scalar distributions by quadrature or summation."""
    check(p, q, js=True)
    return _one_dimensional(p, q, js=True)


def _one_dimensional(p: Distribution, q: Distribution, *, js: bool) -> Estimate:
    if p.is_discrete:
        return _summed(p, q, js)
    if not js and not q.support.contains(p.support):
        return Estimate(math.inf, 0.0)
    return _integrated(p, q, js)


def _pair_terms(log_p: np.ndarray, log_q: np.ndarray, js: bool) -> np.ndarray:
    if not js:
        return weighted_terms(log_p, log_q)
    log_m = np.logaddexp(log_p, log_q) - LOG_2
    return 0.5 * (weighted_terms(log_p, log_m) + weighted_terms(log_q, log_m))


def _summed(p: Distribution, q: Distribution, js: bool) -> Estimate:
    """Sum over 0..K, K the larger tail bound (JS), or P's own tail bound (KL).

    KL(P‖Q) sums ``p log(p/q) - p + q`` over P's range R; the terms dropped
    outside R add up to ``1 - Q(R)`` (P's mass there is below 1e-17), which
    is added back when Q reaches beyond R.
    """
    low = int(min(p.support.low, q.support.low))
    p_high, q_high = int(p.tail_bound(TAIL_MASS)), int(q.tail_bound(TAIL_MASS))
    high = max(p_high, q_high) if js else p_high
    if high - low > MAX_TERMS:
        raise NotIntegrable(f"the support to sum over has more than {MAX_TERMS:,} points")
    total = q_mass = 0.0
    with np.errstate(divide="ignore", invalid="ignore", over="ignore", under="ignore"):
        for start in range(low, high + 1, CHUNK):
            k = np.arange(start, min(start + CHUNK, high + 1), dtype=np.float64)
            log_p, log_q = p.log_prob(k), q.log_prob(k)
            terms = _pair_terms(log_p, log_q, js)
            if not js:  # an atom of P where Q has none: infinite, even when p underflows (0 * inf)
                terms = np.where(np.isneginf(log_q) & (log_p > -math.inf), math.inf, terms)
            total += float(np.sum(terms))
            q_mass += float(np.sum(np.exp(log_q)))
    if not js and q_high > p_high:
        total += max(1.0 - q_mass, 0.0)
    return Estimate(total, 4 * TAIL_MASS + 1e-15 * abs(total))


def _breakpoints(p: Distribution, q: Distribution, low: float, high: float) -> list[float]:
    points = np.concatenate([p.landmarks(), q.landmarks(), np.ravel([p.support.low, p.support.high, q.support.low, q.support.high])])
    points = np.unique(points[np.isfinite(points) & (points > low) & (points < high)])
    return [low, *points.tolist(), high]


def _integrated(p: Distribution, q: Distribution, js: bool) -> Estimate:
    """Integrate piece by piece; QUADPACK's complaints are weighed against its error estimates.

    A piece flagged as not converging (round-off, subdivision limit, bad
    behaviour at a singular end) is kept when its error estimate is small; the
    total must meet ``RELATIVE_TOLERANCE`` in the end. A piece flagged as
    divergent is kept only with a negligible error estimate; otherwise, in an
    infinite tail of the (non-negative) KL integrand, it makes KL infinite.
    """
    from scipy.integrate import quad

    low = float(min(p.support.low, q.support.low))
    high = float(max(p.support.high, q.support.high))
    infinite = False

    def integrand(x: float) -> float:
        nonlocal infinite
        point = np.array([x])
        log_p, log_q = p.log_prob(point), q.log_prob(point)
        if log_p[0] == math.inf or log_q[0] == math.inf:
            return 0.0  # a singular point of a density (a beta at 0 or 1): measure zero
        value = float(_pair_terms(log_p, log_q, js)[0])
        if math.isnan(value) and max(log_p[0], log_q[0]) < -745.2:
            return 0.0  # both densities underflow (far in a tail): 0 * inf in the terms, truly ~0
        if value == math.inf:  # p > 0 = q
            infinite = True
            return 0.0
        return value

    total = error = 0.0
    points = _breakpoints(p, q, low, high)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore", under="ignore"):
        for a, b in zip(points[:-1], points[1:]):
            value, abserr, _, *complaint = quad(integrand, a, b, epsabs=1e-14, epsrel=1e-11, limit=200, full_output=1)
            if complaint and "divergent" in complaint[0] and not (abserr <= 1e-13 and value >= -abserr):
                if not js and math.isinf(a - b):
                    return Estimate(math.inf, 0.0, f"the KL integral diverges in the tail [{a:g}, {b:g}]")
                raise NotIntegrable(f"quadrature diverged on [{a:g}, {b:g}]")
            total += value
            error += abserr
    if infinite:
        return Estimate(math.inf, 0.0)
    if js and not total <= LOG_2 + 1e-9:
        raise NotIntegrable(f"quadrature's JS {total:.6g} exceeds ln 2: the densities are beyond its resolution")
    if not error <= RELATIVE_TOLERANCE * abs(total) + 1e-12:
        raise NotIntegrable(f"quadrature's error estimate {error:.2g} is too large for the value {total:.6g}")
    return Estimate(max(total, 0.0), error)
