"""Closed forms of the families added after the first set (registered into :mod:`klcli.closed_form`).

Continuous Bernoulli pairs (all of torch's, with torch's edge error fixed:
``continuousbernoulli‖uniform(0, 1)`` and ``uniform(0, 1)‖continuousbernoulli`` are
finite), inverse gamma, multinomial and one-hot categorical, Wishart (torch has
the family but no KL) and Kumaraswamy‖Beta (a series, summed with an
Euler–Maclaurin tail). Low-rank normals use the multivariate normal's form
through the class hierarchy.

>>> from klcli.families import ContinuousBernoulli
>>> round(float(_kl_cb_cb(ContinuousBernoulli(0.3), ContinuousBernoulli(0.6))), 12)
0.064519264453
"""

from __future__ import annotations

import math

import numpy as np
from scipy import special

from klcli.closed_form import INF, _kl_gamma_gamma, _kl_infinite, register_kl
from klcli.families import (
    Beta,
    ContinuousBernoulli,
    Exponential,
    Gamma,
    Gumbel,
    InverseGamma,
    Kumaraswamy,
    Laplace,
    Multinomial,
    Normal,
    OneHotCategorical,
    Pareto,
    Uniform,
    Wishart,
)
from klcli.families._ops import LOG_2PI
from klcli.families.matrix import multivariate_digamma, multivariate_gammaln

EULER_GAMMA = float(np.euler_gamma)


# -- continuous Bernoulli ------------------------------------------------------


@register_kl(ContinuousBernoulli, ContinuousBernoulli)
def _kl_cb_cb(p, q):
    # exponential family in λ = logit(probs): log Z(λ_q) - log Z(λ_p) - (λ_q - λ_p) E_P[x]
    return q.log_norm - p.log_norm - (q.lam - p.lam) * p.mean


@register_kl(ContinuousBernoulli, Exponential)
def _kl_cb_exponential(p, q):
    # -H(P) - log rate + rate E_P[x] (as torch.distributions.kl._kl_continuous_bernoulli_exponential)
    return -p._entropy() - np.log(q.rate) + q.rate * p.mean


@register_kl(ContinuousBernoulli, Normal)
def _kl_cb_normal(p, q):
    # -H(P) + log(s sqrt(2 pi)) + E_P[(x - loc)^2] / (2 s^2), E_P[(x - loc)^2] = Var + (mean - loc)^2
    return -p._entropy() + 0.5 * LOG_2PI + np.log(q.scale) + (p.variance + (p.mean - q.loc) ** 2) / (2 * q.scale**2)


@register_kl(ContinuousBernoulli, Uniform)
def _kl_cb_uniform(p, q):
    # -H(P) + log(high - low) when [0, 1] lies inside [low, high], else infinite
    # (torch's test is low >= 0 or high <= 1, which makes uniform(0, 1) infinite: it is -H(P))
    return np.where((q.low > 0) | (q.high < 1), INF, -p._entropy() + np.log(q.high - q.low))


def _cross_entropy_to_cb(mean_p, q):
    # -E_P[log q(x)] = log Z(λ_q) - λ_q E_P[x]
    return q.log_norm - q.lam * mean_p


@register_kl(Beta, ContinuousBernoulli)
def _kl_beta_cb(p, q):
    mean = p.concentration1 / (p.concentration1 + p.concentration0)
    return -p._entropy() + _cross_entropy_to_cb(mean, q)


@register_kl(Uniform, ContinuousBernoulli)
def _kl_uniform_cb(p, q):
    # infinite when [low, high] leaves [0, 1] (torch's test, high >= 1 or low <= 0, also makes uniform(0, 1) infinite)
    value = -np.log(p.high - p.low) + _cross_entropy_to_cb((p.low + p.high) / 2, q)
    return np.where((p.low < 0) | (p.high > 1), INF, value)


register_kl(ContinuousBernoulli, Pareto)(_kl_infinite)
for _family in (Exponential, Gamma, Gumbel, Laplace, Normal, Pareto):
    register_kl(_family, ContinuousBernoulli)(_kl_infinite)


# -- inverse gamma, multinomial, one-hot ------------------------------------------


@register_kl(InverseGamma, InverseGamma)
def _kl_inversegamma_inversegamma(p, q):
    # KL is invariant under the common bijection x -> 1/x: that of gamma(a, rate) distributions
    return _kl_gamma_gamma(p, q)


def _count(d) -> np.ndarray:
    return d.total_count if isinstance(d, Multinomial) else np.ones(d.batch_shape)


def _categorical_terms(p, q) -> np.ndarray:
    probs = p.probs
    return np.sum(np.where(probs > 0, probs * (p.log_probs - q.log_probs), 0.0), axis=-1)


@register_kl(Multinomial, Multinomial)
@register_kl(Multinomial, OneHotCategorical)
@register_kl(OneHotCategorical, Multinomial)
def _kl_multinomial_multinomial(p, q):
    # n draws of independent categoricals: n KL(p‖q); different counts have disjoint supports
    if p.probs.shape[-1] != q.probs.shape[-1]:
        raise ValueError("multinomials of different category counts")
    n_p, n_q = _count(p), _count(q)
    return np.where(n_p != n_q, INF, n_p * _categorical_terms(p, q))


# -- Wishart -----------------------------------------------------------------------


@register_kl(Wishart, Wishart)
def _kl_wishart_wishart(p, q):
    # Penny, "KL-divergences of Normal, Gamma, Dirichlet and Wishart densities" (2001), eq. 32, with V the scale
    # matrix: n_q/2 (log|V_q| - log|V_p|) + n_p/2 (tr(V_q^-1 V_p) - d) + log Γ_d(n_q/2) - log Γ_d(n_p/2)
    #         + (n_p - n_q)/2 ψ_d(n_p/2); tr(V_q^-1 V_p) = |L_q^-1 L_p|_F^2
    if p.batch_shape:
        return np.array([_kl_wishart_wishart(p.element(i), q.element(i)) for i in np.ndindex(*p.batch_shape)]).reshape(p.batch_shape)
    from scipy.linalg import solve_triangular

    d, n_p, n_q = p.p, float(p.df), float(q.df)
    log_det_ratio = 2 * float(np.sum(q.log_diagonal - p.log_diagonal))  # log|V_q| - log|V_p|
    trace = float(np.sum(solve_triangular(q.scale_tril, p.scale_tril, lower=True, check_finite=False) ** 2))
    return (
        0.5 * n_q * log_det_ratio
        + 0.5 * n_p * (trace - d)
        + multivariate_gammaln(0.5 * n_q, d)
        - multivariate_gammaln(0.5 * n_p, d)
        + 0.5 * (n_p - n_q) * multivariate_digamma(0.5 * n_p, d)
    )


# -- Kumaraswamy‖Beta ----------------------------------------------------------------

#: terms of the series summed one by one; the rest by the Euler–Maclaurin formula
KUMARASWAMY_TERMS = 64


def kumaraswamy_mean_log1m(a: float, b: float) -> float:
    """``E[log(1 - X)]`` for ``X ~ kumaraswamy(a, b)``: ``-b Σ_{m≥1} B(m/a, b) / (m + a b)``.

    (Nalisnick & Smyth, "Stick-breaking variational autoencoders", ICLR 2017,
    appendix.) The first :data:`KUMARASWAMY_TERMS` - 1 terms are added directly;
    the tail ``Σ_{m≥M} g(m)`` is ``∫_M^∞ g + g(M)/2 - g'(M)/12 + g'''(M)/720``
    with the integral by quadrature and the derivatives by 4th-order differences
    (the next Euler–Maclaurin term is below 1e-13 of the sum).

    >>> round(float(kumaraswamy_mean_log1m(1.0, 1.0)), 12)  # uniform: E[log(1 - U)] = -1
    -1.0
    """
    from scipy.integrate import quad

    def g(x):
        return np.exp(special.betaln(np.asarray(x, dtype=np.float64) / a, b)) / (x + a * b)

    m = KUMARASWAMY_TERMS
    head = float(np.sum(g(np.arange(1, m, dtype=np.float64))))

    c = min(b, 1.0)

    def tail_integrand(s: float) -> float:
        # ∫_M^∞ g(x) dx with x = M s^(-1/c), c = min(b, 1): g(x) ~ Γ(b) a^b x^(-1-b), so the
        # integrand ~ s^(b/c - 1) is bounded and smooth on (0, 1]
        log_x = math.log(m) - math.log(s) / c
        z = math.exp(log_x) / a if log_x < 700 else math.inf
        log_beta = special.betaln(z, b) if z < 1e15 else special.gammaln(b) - b * (log_x - math.log(a))
        log_jacobian = math.log(m / c) - (1 / c + 1) * math.log(s)
        return math.exp(log_beta + log_jacobian - log_x - math.log1p(a * b * math.exp(-log_x)))

    integral = quad(tail_integrand, 0.0, 1.0, epsabs=0.0, epsrel=1e-13, limit=200, full_output=1)[0]  # a flat integrand: roundoff notes only
    at = g(np.arange(m - 3, m + 4, dtype=np.float64))  # g(M-3) .. g(M+3)
    first = (at[1] - 8 * at[2] + 8 * at[4] - at[5]) / 12
    third = (at[0] - 8 * at[1] + 13 * at[2] - 13 * at[4] + 8 * at[5] - at[6]) / 8
    tail = integral + at[3] / 2 - first / 12 + third / 720
    return -b * (head + tail)


@register_kl(Kumaraswamy, Beta)
def _kl_kumaraswamy_beta(p, q):
    # -H(P) + log B(α, β) - (α - 1) E_P[log x] - (β - 1) E_P[log(1 - x)], E_P[log x] = -(γ + ψ(b + 1)) / a
    a, b = np.broadcast_arrays(p.concentration1, p.concentration0)
    mean_log = -(EULER_GAMMA + special.digamma(b + 1)) / a
    mean_log1m = np.vectorize(kumaraswamy_mean_log1m, otypes=[np.float64])(a, b)
    return (
        -p._entropy() + special.betaln(q.concentration1, q.concentration0) - (q.concentration1 - 1) * mean_log - (q.concentration0 - 1) * mean_log1m
    )
