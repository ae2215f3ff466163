"""Closed-form KL divergences, registered per pair of families.

In the style of ``torch.distributions.kl``: :func:`register_kl` decorates one
private function per pair, the most specific registered match wins (by the
positions of the registered classes in the two method resolution orders),
and lookups are memoised. Pairs whose divergence is always infinite (P puts
mass where Q has none) stack several decorators on one function.

Every function receives two distributions of one batch shape and returns
elementwise values (shape ``batch_shape`` or ``batch_shape + event_shape``);
:func:`kl_values` sums the event axis, so independent vectors
(``normal(loc=[0, 1], scale=1)``) add up per dimension and a batch gives one
value per member. Nearly equal
distributions are handled without cancellation: every "r - 1 - log r" is
computed as :func:`_exp_minus_one_minus` of ``log r`` (from :func:`_log_ratio`,
which also spans ratios from 1e-300 to 1e300), differences of log-gamma
functions as Taylor remainders (:func:`_lgamma_remainder`), and two-point
families as sums of non-negative terms ``p g(-log(p/q))``.

Examples
--------
>>> from klcli.families import Normal
>>> round(kl_divergence(Normal(0, 1), Normal(1, 2)), 10)
0.4431471806
>>> ("normal", "normal") in pairs()
True
"""

from __future__ import annotations

import math
from collections.abc import Callable
from functools import cache

import numpy as np
from scipy import special

from klcli.families import (
    Bernoulli,
    Beta,
    Binomial,
    Categorical,
    Cauchy,
    Dirichlet,
    Distribution,
    Exponential,
    Gamma,
    Geometric,
    Gumbel,
    HalfCauchy,
    HalfNormal,
    Laplace,
    LogNormal,
    MultivariateNormal,
    NegativeBinomial,
    Normal,
    Pareto,
    Poisson,
    Uniform,
    VonMises,
    Weibull,
)
from klcli.families._ops import LOG_2PI
from klcli.stable import lgamma_remainder as _lgamma_remainder
from klcli.stable import log1p_minus

EULER_GAMMA = float(np.euler_gamma)
INF = math.inf

KLFunction = Callable[[Distribution, Distribution], np.ndarray]
_REGISTRY: dict[tuple[type, type], KLFunction] = {}


class NoClosedForm(LookupError):
    """No closed form for this pair, or not for these parameters."""


def register_kl(type_p: type, type_q: type) -> Callable[[KLFunction], KLFunction]:
    """Register the decorated function as KL(P‖Q) for ``P: type_p``, ``Q: type_q``.

    Raises ``TypeError`` unless both arguments are :class:`Distribution` subclasses.
    """
    for argument in (type_p, type_q):
        if not (isinstance(argument, type) and issubclass(argument, Distribution)):
            raise TypeError(f"register_kl expects Distribution subclasses, got {argument!r}")

    def decorator(function: KLFunction) -> KLFunction:
        _REGISTRY[type_p, type_q] = function
        _lookup.cache_clear()
        return function

    return decorator


@cache
def _lookup(type_p: type, type_q: type) -> KLFunction | None:
    """The most specific registered function for the pair, or ``None``."""
    matches = [
        (type_p.__mro__.index(super_p), type_q.__mro__.index(super_q), function)
        for (super_p, super_q), function in _REGISTRY.items()
        if issubclass(type_p, super_p) and issubclass(type_q, super_q)
    ]
    return min(matches, key=lambda m: (m[0] + m[1], m[0]))[2] if matches else None


def _lookup_classes(type_p: type, type_q: type) -> KLFunction | None:
    """:func:`_lookup` for two family classes.

    Classes are hashable (by their metaclass), but mypy checks a family class's
    own instance ``__hash__`` against ``Hashable``; passing them as ``type`` here
    keeps the cached call typed.
    """
    return _lookup(type_p, type_q)


def has_closed_form(p: Distribution, q: Distribution) -> bool:
    """Whether a closed form is registered for the families of ``p`` and ``q``."""
    return _lookup_classes(type(p), type(q)) is not None


def kl_divergence(p: Distribution, q: Distribution) -> float:
    """KL(P‖Q) in nats from the registered closed form (summed over independent dimensions).

    Raises
    ------
    NoClosedForm
        If no formula is registered for the pair, or it does not cover these parameters.
    """
    return float(kl_values(p, q))


def kl_values(p: Distribution, q: Distribution) -> np.ndarray:
    """KL(P‖Q) of every member of a batch (shape ``batch_shape``), in nats.

    ``p`` and ``q`` must have the same batch shape (see
    :func:`klcli.parametric.broadcast_pair`).

    >>> from klcli.families import Categorical
    >>> kl_values(Categorical([[0.1, 0.9], [0.5, 0.5]]), Categorical([0.5, 0.5]).expand((2,))).round(6).tolist()
    [0.368064, 0.0]
    """
    function = _lookup_classes(type(p), type(q))
    if function is None:
        raise NoClosedForm(f"no closed form for {p.name}‖{q.name}")
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        values = np.asarray(function(p, q), dtype=np.float64)
        batch = tuple(p.batch_shape)
        if values.ndim > len(batch):  # the event axis of independent dimensions
            values = values.reshape(values.shape[: len(batch)] + (-1,)).sum(axis=-1)
        totals = np.broadcast_to(values, batch)
    if np.any(np.isnan(totals)):
        raise NoClosedForm(f"the closed form for {p.name}‖{q.name} is undefined for these parameters")
    return np.maximum(totals, 0.0)


def pairs() -> list[tuple[str, str]]:
    """``(family_p, family_q)`` pairs with a closed form, sorted by name.

    Families served through a parent's registration count too (``chi2`` is a ``gamma``).

    >>> ("chi2", "gamma") in pairs() and ("exponential", "chi2") in pairs()
    True
    """
    from klcli.families import FAMILIES

    families = [cls for cls in FAMILIES.values() if hasattr(cls, "name")]
    return sorted((p.name, q.name) for p in families for q in families if _lookup_classes(p, q) is not None)


# -- accurate building blocks ------------------------------------------------

_SERIES = 1.0 / np.array([math.factorial(k) for k in range(2, 19)])
_SERIES_COEFFICIENTS = np.concatenate([[0.0, 0.0], _SERIES])


def _exp_minus_one_minus(u: np.ndarray) -> np.ndarray:
    """``exp(u) - 1 - u`` without cancellation near ``u = 0`` (Taylor series for |u| < 0.5)."""
    u = np.asarray(u, dtype=np.float64)
    flat = u.reshape(-1)
    near = np.abs(flat) < 0.5
    with np.errstate(over="ignore", invalid="ignore"):
        out = np.expm1(flat) - flat
    if near.any():  # each branch only where it applies: the series is most of the cost on large batches
        out[near] = np.polynomial.polynomial.polyval(flat[near], _SERIES_COEFFICIENTS)
    return out.reshape(u.shape)


def _log_ratio(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``log(a / b)`` for positive ``a``, ``b``: ``log1p`` near 1, ``log(a) - log(b)`` far from it.

    The difference of logarithms never over- or underflows (``a / b`` may, at
    1e-300 against 1e300), and ``log1p((a - b) / b)`` keeps every digit when
    ``a ≈ b`` (``a - b`` is exact there).
    """
    a, b = np.broadcast_arrays(np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64))
    shape, a, b = a.shape, a.reshape(-1), b.reshape(-1)
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        out = np.log(a) - np.log(b)
        near = np.abs(a - b) < 0.5 * b
        if near.any():
            out[near] = np.log1p((a[near] - b[near]) / b[near])
    return out.reshape(shape)


def _log_ratio_two_point(p, q) -> tuple[np.ndarray, np.ndarray]:
    """``(log(p1/q1), log(p0/q0))`` of two success probabilities, accurate when they are close.

    From logits ``x, y``: ``log σ(x) - log σ(y) = -log1p(σ(-y) expm1(y - x))`` (and the mirror
    image for failures), exact up to rounding whatever the logits. From probabilities:
    ``log1p((p1 - q1)/q1)``, with ``p1 - q1`` exact when they are close.
    """
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        if "logits" in p.given and "logits" in q.given:
            x, y = p.logits, q.logits
            success = -np.log1p(special.expit(-y) * np.expm1(y - x))
            failure = -np.log1p(special.expit(y) * np.expm1(x - y))
            far = np.abs(x - y) > 1.0
            success = np.where(far, p.log_success - q.log_success, success)
            failure = np.where(far, p.log_failure - q.log_failure, failure)
            return success, failure
        p1, q1 = p.probs, q.probs
        q0 = np.exp(q.log_failure)
        d = p1 - q1  # exact when p1 and q1 are close (Sterbenz); p0 - q0 = -d
        success = np.where(np.abs(d) < 0.5 * q1, np.log1p(d / q1), p.log_success - q.log_success)
        failure = np.where(np.abs(d) < 0.5 * q0, np.log1p(-d / q0), p.log_failure - q.log_failure)
        return success, failure


def _bernoulli_terms(p, q) -> np.ndarray:
    """KL between Bernoulli(p) and Bernoulli(q) elementwise: ``Σ p_i g(-a_i)``, ``g(u) = e^u - 1 - u``.

    Each of the two terms ``p log(p/q) - p + q = p g(-log(p/q))`` is non-negative, so
    nothing cancels; where p = 0 the term is q, and p > 0 = q gives inf.
    """
    a_one, a_zero = _log_ratio_two_point(p, q)
    p_one, p_zero = np.exp(p.log_success), np.exp(p.log_failure)
    q_one, q_zero = np.exp(q.log_success), np.exp(q.log_failure)
    with np.errstate(over="ignore", invalid="ignore"):
        t_one = np.where(p_one > 0, p_one * _exp_minus_one_minus(-a_one), q_one)
        t_zero = np.where(p_zero > 0, p_zero * _exp_minus_one_minus(-a_zero), q_zero)
    return t_one + t_zero


# -- same family ---------------------------------------------------------------


@register_kl(Normal, Normal)
def _kl_normal_normal(p, q):
    # 0.5 (r - 1 - log r + (mu_p - mu_q)^2 / s_q^2), r = s_p^2 / s_q^2 (e.g. Bishop, PRML, ex. 1.30)
    return 0.5 * (_exp_minus_one_minus(2 * _log_ratio(p.scale, q.scale)) + ((p.loc - q.loc) / q.scale) ** 2)


@register_kl(LogNormal, LogNormal)
def _kl_lognormal_lognormal(p, q):
    # KL is invariant under the common bijection exp(): that of the underlying normals
    return _kl_normal_normal(p, q)


@register_kl(HalfNormal, HalfNormal)
def _kl_halfnormal_halfnormal(p, q):
    # folding both N(0, s) at 0 keeps the likelihood ratio: KL of N(0, s_p) and N(0, s_q)
    return 0.5 * _exp_minus_one_minus(2 * _log_ratio(p.scale, q.scale))


@register_kl(Laplace, Laplace)
def _kl_laplace_laplace(p, q):
    # Gil, Alajaji & Linder, MSc thesis (Queen's University 2011), table of KL divergences:
    # log(b_q / b_p) + |d| / b_q + (b_p / b_q) exp(-|d| / b_p) - 1, written as g(u) + |d| (1/b_q - 1/b_p)
    distance = np.abs(p.loc - q.loc)
    u = _log_ratio(p.scale, q.scale) - distance / p.scale
    # |d| (1/b_q - 1/b_p) = (|d| / b_q)(b_p - b_q) / b_p: no difference of nearly equal reciprocals
    return _exp_minus_one_minus(u) + (distance / q.scale) * ((p.scale - q.scale) / p.scale)


@register_kl(Cauchy, Cauchy)
def _kl_cauchy_cauchy(p, q):
    # Chyzak & Nielsen, "A closed-form formula for the KL divergence between Cauchy
    # distributions" (arXiv:1905.10965): log(((s_p + s_q)^2 + d^2) / (4 s_p s_q))
    return _log_cauchy_ratio(p.scale, q.scale, p.loc - q.loc)


def _log_cauchy_ratio(s_p, s_q, d):
    """``log(((s_p + s_q)^2 + d^2) / (4 s_p s_q))``: log1p of the excess when it is small,
    else from logarithms (no product or square over- or underflows)."""
    with np.errstate(over="ignore", invalid="ignore", divide="ignore", under="ignore"):
        excess = 0.25 * (((s_p - s_q) / s_p) * ((s_p - s_q) / s_q) + (d / s_p) * (d / s_q))
        far = 2 * np.log(np.hypot(s_p + s_q, d)) - math.log(4) - np.log(s_p) - np.log(s_q)
    return np.where(excess < 1, np.log1p(excess), far)


@register_kl(HalfCauchy, HalfCauchy)
def _kl_halfcauchy_halfcauchy(p, q):
    # folding both Cauchy(0, s) at 0 keeps the likelihood ratio (as for half-normals)
    return _log_cauchy_ratio(p.scale, q.scale, 0.0)


@register_kl(Exponential, Exponential)
def _kl_exponential_exponential(p, q):
    # r - 1 - log r with r = rate_q / rate_p (exponential family Bregman divergence)
    return _exp_minus_one_minus(_log_ratio(q.rate, p.rate))


@register_kl(Gamma, Gamma)
def _kl_gamma_gamma(p, q):
    # Penny, "KL-divergences of Normal, Gamma, Dirichlet and Wishart densities" (2001), eq. 2.6,
    # regrouped as R(a_p, δ) + a_p g(log r) - δ log r with δ = a_q - a_p, r = rate_q / rate_p,
    # R the lgamma Taylor remainder and g(u) = e^u - 1 - u: no cancellation for nearly equal parameters
    delta = q.concentration - p.concentration
    log_r = _log_ratio(q.rate, p.rate)
    remainder = _lgamma_remainder(p.concentration, delta, q.concentration)
    return remainder + p.concentration * _exp_minus_one_minus(log_r) - delta * log_r


@register_kl(Beta, Beta)
def _kl_beta_beta(p, q):
    # http://bariskurt.com/kullback-leibler-divergence-between-two-dirichlet-and-beta-distributions/
    # regrouped as R(a_p, δa) + R(b_p, δb) - R(a_p + b_p, δa + δb), R the lgamma Taylor remainder:
    # the digamma terms cancel exactly
    delta1 = q.concentration1 - p.concentration1
    delta0 = q.concentration0 - p.concentration0
    return (
        _lgamma_remainder(p.concentration1, delta1, q.concentration1)
        + _lgamma_remainder(p.concentration0, delta0, q.concentration0)
        - _lgamma_remainder(p.concentration1 + p.concentration0, delta1 + delta0, q.concentration1 + q.concentration0)
    )


@register_kl(Dirichlet, Dirichlet)
def _kl_dirichlet_dirichlet(p, q):
    # http://bariskurt.com/kullback-leibler-divergence-between-two-dirichlet-and-beta-distributions/
    # regrouped as Σ R(α_i, δ_i) - R(Σ α_i, Σ δ_i), as for beta (each member of a batch on its own)
    delta = q.concentration - p.concentration
    remainders = _lgamma_remainder(p.concentration, delta, q.concentration)
    return np.sum(remainders, axis=-1) - _lgamma_remainder(p.concentration.sum(axis=-1), delta.sum(axis=-1), q.concentration.sum(axis=-1))


@register_kl(Uniform, Uniform)
def _kl_uniform_uniform(p, q):
    # log(width_q / width_p) when [low_p, high_p] lies inside [low_q, high_q], else infinite
    inside = (q.low <= p.low) & (p.high <= q.high)
    return np.where(inside, np.log((q.high - q.low) / (p.high - p.low)), INF)


@register_kl(Pareto, Pareto)
def _kl_pareto_pareto(p, q):
    # Gil, Alajaji & Linder (2011): alpha_q log(s_p / s_q) + r - 1 - log r, r = alpha_q / alpha_p;
    # infinite when scale_p < scale_q (P has mass below Q's support)
    with np.errstate(invalid="ignore"):
        value = q.alpha * _log_ratio(p.scale, q.scale) + _exp_minus_one_minus(_log_ratio(q.alpha, p.alpha))
    return np.where(p.scale < q.scale, INF, value)


@register_kl(Gumbel, Gumbel)
def _kl_gumbel_gumbel(p, q):
    # torch.distributions.kl._kl_gumbel_gumbel (E_P[exp(-(x - loc_q)/s_q)] via the Gumbel MGF):
    # -log ρ + m + γ(ρ - 1) + exp(lgamma(1 + ρ) - m) - 1 with ρ = s_p/s_q, m = (loc_p - loc_q)/s_q,
    # regrouped as g(L) + R(1, ρ - 1), L = lgamma(1 + ρ) - m (both terms non-negative)
    rho_minus_one = (p.scale - q.scale) / q.scale
    shift = (p.loc - q.loc) / q.scale
    return _gamma_shape_terms(rho_minus_one, -shift)


def _gamma_shape_terms(delta, offset):
    """``g(lgamma(2 + δ) + offset) + R(1, δ)`` with ``g(u) = e^u - 1 - u``, ``R(1, δ) = lgamma(1 + δ) + γ δ``.

    ``lgamma(2 + δ) = R(2, δ) + (1 - γ) δ`` keeps its digits when ``δ = ρ - 1`` is small.
    """
    one = np.ones_like(delta)
    lgamma_two = np.where(np.abs(delta) < 0.5, _lgamma_remainder(2 * one, delta) + (1 - EULER_GAMMA) * delta, special.gammaln(2 + delta))
    return _exp_minus_one_minus(lgamma_two + offset) + _lgamma_remainder(one, delta)


@register_kl(Weibull, Weibull)
def _kl_weibull_weibull(p, q):
    # Bauckhage, "Computing the Kullback-Leibler divergence between two Weibull
    # distributions" (arXiv:1310.3713), eq. 12
    # = -log ρ - k2 s + γ(ρ - 1) + exp(k2 s + lgamma(1 + ρ)) - 1 with ρ = k2/k1, s = log(l1/l2),
    # regrouped as g(L) + R(1, ρ - 1), L = k2 s + lgamma(1 + ρ) (the Gumbel form: log X is Gumbel)
    rho_minus_one = (q.concentration - p.concentration) / p.concentration
    return _gamma_shape_terms(rho_minus_one, q.concentration * _log_ratio(p.scale, q.scale))


@register_kl(VonMises, VonMises)
def _kl_vonmises_vonmises(p, q):
    # E_P[cos(X - mu)] = A(k_p) cos(mu_p - mu), A = I1/I0 (Mardia & Jupp, Directional
    # Statistics, 2000, sec. 3.5.4), so KL = A(k_p)(k_p - k_q cos(mu_p - mu_q)) + log I0(k_q) - log I0(k_p)
    # Regrouped as [log I0(k_q) - log I0(k_p) - A(k_p)(k_q - k_p)] + 2 A(k_p) k_q sin²(Δ/2): the
    # first is the Taylor remainder of the convex log I0 (whose derivative is A), by Gauss-Legendre
    # quadrature of ∫ (k_q - t) A'(t) dt when k_q is near k_p; 1 - cos Δ as 2 sin²(Δ/2)
    kp, kq = p.concentration, q.concentration
    mean_resultant = _bessel_ratio(kp)
    direct = np.log(special.i0e(kq)) - np.log(special.i0e(kp)) + (kq - kp) * (1 - mean_resultant)
    nodes, weights = np.polynomial.legendre.leggauss(24)
    t = 0.5 * (kp + kq) + 0.5 * (kq - kp) * nodes[:, None]
    ratio = _bessel_ratio(t)
    slope = 1 - ratio / t - ratio**2  # A'(t)
    half = 0.5 * (kq - kp)
    remainder = half * half * np.sum((weights * (1 - nodes))[:, None] * slope, axis=0)  # k_q - t = half (1 - node)
    remainder = np.where(np.abs(kq - kp) < 0.5 * kp, remainder.reshape(np.shape(direct)), direct)
    return remainder + 2 * mean_resultant * kq * np.sin(0.5 * (p.loc - q.loc)) ** 2


def _bessel_ratio(k):
    """``A(k) = I1(k) / I0(k)``, the mean resultant length of a von Mises distribution."""
    return special.i1e(k) / special.i0e(k)


@register_kl(MultivariateNormal, MultivariateNormal)
def _kl_mvn_mvn(p, q):
    # Wikipedia, "Multivariate normal distribution", KL divergence section:
    # 0.5 (tr(S_q^-1 S_p) + d^T S_q^-1 d - n + log det S_q - log det S_p).
    # With M = L_q^-1 L_p (lower triangular, diagonal m_i = L_p,ii / L_q,ii) this is
    # 0.5 (sum_{i>j} M_ij^2 + sum_i (m_i^2 - 1 - 2 log m_i) + |L_q^-1 d|^2); M - I is solved
    # from L_p - L_q so that nearly equal covariances lose no digits.
    if p.batch_shape:
        return np.array([_kl_mvn_mvn(p.element(i), q.element(i)) for i in np.ndindex(*p.batch_shape)]).reshape(p.batch_shape)
    from scipy.linalg import solve_triangular

    whitened = solve_triangular(q.scale_tril, p.loc - q.loc, lower=True, check_finite=False)
    if "covariance_matrix" in p.given and "covariance_matrix" in q.given:
        # nearly equal covariances: with B = L_q^-1 (S_p - S_q) L_q^-T and its eigenvalues μ,
        # tr(S_q^-1 S_p) - n - log det(S_q^-1 S_p) = Σ μ - log1p(μ); S_p - S_q is exact in the inputs
        change = np.asarray(p.given["covariance_matrix"], float) - np.asarray(q.given["covariance_matrix"], float)
        half = solve_triangular(q.scale_tril, change, lower=True, check_finite=False)
        b = solve_triangular(q.scale_tril, half.T, lower=True, check_finite=False)
        mu = np.linalg.eigvalsh(0.5 * (b + b.T))
        if np.all(np.abs(mu) < 0.5):
            return 0.5 * (-np.sum(log1p_minus(mu)) + np.sum(whitened**2))
    difference = solve_triangular(q.scale_tril, p.scale_tril - q.scale_tril, lower=True, check_finite=False)
    log_m = _log_ratio(np.diag(p.scale_tril), np.diag(q.scale_tril))
    off_diagonal = np.sum(np.tril(difference, -1) ** 2)
    return 0.5 * (off_diagonal + np.sum(_exp_minus_one_minus(2 * log_m)) + np.sum(whitened**2))


@register_kl(Bernoulli, Bernoulli)
def _kl_bernoulli_bernoulli(p, q):
    # sum over {0, 1} of p log(p / q), with 0 log 0 = 0 and p > 0 = q giving inf
    return _bernoulli_terms(p, q)


@register_kl(Binomial, Binomial)
def _kl_binomial_binomial(p, q):
    # equal counts: n KL(Bernoulli(p) ‖ Bernoulli(q)); n_p > n_q: infinite; n_p < n_q has
    # no closed form (https://math.stackexchange.com/questions/2214993)
    if np.any(p.total_count < q.total_count):
        raise NoClosedForm("binomial‖binomial with total_count of P below that of Q")
    return np.where(p.total_count > q.total_count, INF, p.total_count * _bernoulli_terms(p, q))


@register_kl(Categorical, Categorical)
def _kl_categorical_categorical(p, q):
    # sum_k p_k log(p_k / q_k); a shorter probability vector is padded with zeros
    # computed by the histogram engine (klcli.discrete): non-negative terms, series for close bins;
    # each member of a batch on its own (the batch flattened to rows)
    from klcli.discrete import divergences

    size = max(p.probs.shape[-1], q.probs.shape[-1])

    def padded(values: np.ndarray, fill: float = 0.0) -> np.ndarray:
        return np.pad(values, [(0, 0)] * (values.ndim - 1) + [(0, size - values.shape[-1])], constant_values=fill)

    probs = np.broadcast_arrays(padded(p.probs), padded(q.probs))
    batch = probs[0].shape[:-1]
    rows = [a.reshape(-1, size) if batch else a for a in probs]
    logs = {}
    if "logits" in p.given or "logits" in q.given:
        log_p, log_q = (a.reshape(-1, size) if batch else a for a in np.broadcast_arrays(padded(p.log_probs, -INF), padded(q.log_probs, -INF)))
        logs = {"log_p": log_p, "log_q": log_q}
    return np.reshape(divergences(*rows, entropies=False, **logs)["kl_pq"], batch)


@register_kl(Geometric, Geometric)
def _kl_geometric_geometric(p, q):
    # log(p_p / p_q) + E_P[k] log((1 - p_p) / (1 - p_q)), E_P[k] = (1 - p_p) / p_p:
    # by Wald's identity, E[trials] = 1/p_p times the Bernoulli KL of one trial (non-negative terms)
    return _bernoulli_terms(p, q) / p.probs


@register_kl(NegativeBinomial, NegativeBinomial)
def _kl_negativebinomial_negativebinomial(p, q):
    # equal total_count r: r log((1 - p_p) / (1 - p_q)) + E_P[k] log(p_p / p_q), E_P[k] = r p_p / (1 - p_p);
    # the log-gamma terms cancel only for equal r
    if np.any(p.total_count != q.total_count):
        raise NoClosedForm("negativebinomial‖negativebinomial with different total_count")
    # = E[trials] KL(Bernoulli) with E[trials] = r / (1 - p_p) (Wald's identity): non-negative terms
    return p.total_count * np.exp(-p.log_failure) * _bernoulli_terms(p, q)


@register_kl(Poisson, Poisson)
def _kl_poisson_poisson(p, q):
    # rate_p log(rate_p / rate_q) - rate_p + rate_q = rate_p g(-log(rate_p / rate_q)), g(u) = e^u - 1 - u
    with np.errstate(divide="ignore", invalid="ignore"):
        log_ratio = _log_ratio(p.rate, q.rate)
        value = p.rate * _exp_minus_one_minus(-log_ratio)
    return np.where(p.rate == 0, q.rate, np.where(q.rate == 0, INF, value))


# -- different families --------------------------------------------------------


@register_kl(Bernoulli, Poisson)
def _kl_bernoulli_poisson(p, q):
    # torch.distributions.kl._kl_bernoulli_poisson: -H(P) - E_P[k log rate - rate - log k!]
    return -p._entropy() - special.xlogy(p.probs, q.rate) + q.rate


@register_kl(Poisson, Bernoulli)
@register_kl(Poisson, Binomial)
def _kl_poisson_bounded(p, q):
    # a Poisson with positive rate has mass beyond any finite count: infinite.
    # rate 0 is a point mass at 0: KL = -log Q(0), Q(0) = (1 - probs)^total_count
    count = q.total_count if isinstance(q, Binomial) else 1.0
    log_q_at_zero = np.where(count == 0, 0.0, count * q.log_failure)
    return np.where(p.rate > 0, INF, -log_q_at_zero)


@register_kl(Beta, Exponential)
def _kl_beta_exponential(p, q):
    # torch.distributions.kl._kl_beta_exponential: -H(P) - log rate + rate E_P[x]
    return -p._entropy() - np.log(q.rate) + q.rate * p.concentration1 / (p.concentration1 + p.concentration0)


@register_kl(Beta, Gamma)
def _kl_beta_gamma(p, q):
    # torch.distributions.kl._kl_beta_gamma (E_P[log x] = psi(a) - psi(a + b))
    t2 = special.gammaln(q.concentration) - q.concentration * np.log(q.rate)
    t3 = (q.concentration - 1) * (special.digamma(p.concentration1) - special.digamma(p.concentration1 + p.concentration0))
    t4 = q.rate * p.concentration1 / (p.concentration1 + p.concentration0)
    return -p._entropy() + t2 - t3 + t4


@register_kl(Beta, Normal)
def _kl_beta_normal(p, q):
    # torch.distributions.kl._kl_beta_normal: -H(P) + log(s sqrt(2 pi)) + E_P[(x - loc)^2] / (2 s^2)
    total = p.concentration1 + p.concentration0
    mean = p.concentration1 / total
    second_moment = mean * (1 - mean) / (total + 1) + mean**2
    return -p._entropy() + 0.5 * LOG_2PI + np.log(q.scale) + (0.5 * second_moment - q.loc * mean + 0.5 * q.loc**2) / q.scale**2


@register_kl(Beta, Uniform)
def _kl_beta_uniform(p, q):
    # torch.distributions.kl._kl_beta_uniform: -H(P) + log(high - low) if [0, 1] inside [low, high]
    return np.where((q.low > 0) | (q.high < 1), INF, -p._entropy() + np.log(q.high - q.low))


@register_kl(Exponential, Gamma)
def _kl_exponential_gamma(p, q):
    # torch.distributions.kl._kl_exponential_gamma (E_P[log x] = -gamma - log rate_p)
    ratio = q.rate / p.rate
    return -q.concentration * np.log(ratio) + ratio + special.gammaln(q.concentration) + q.concentration * EULER_GAMMA - (1 + EULER_GAMMA)


@register_kl(Exponential, Gumbel)
def _kl_exponential_gumbel(p, q):
    # torch.distributions.kl._kl_exponential_gumbel (E_P[exp(-x / s)] = rate / (rate + 1/s))
    scale_rate = p.rate * q.scale
    loc_scale = q.loc / q.scale
    return np.log(scale_rate) - 1 - loc_scale + np.exp(loc_scale) * scale_rate / (scale_rate + 1) + 1 / scale_rate


@register_kl(Exponential, Normal)
def _kl_exponential_normal(p, q):
    # torch.distributions.kl._kl_exponential_normal: E_P[x] = 1/rate, E_P[x^2] = 2/rate^2
    variance = q.scale**2
    return 0.5 * np.log(p.rate**2 * variance * 2 * math.pi) - 1 + (1 / p.rate**2 - q.loc / p.rate + 0.5 * q.loc**2) / variance


@register_kl(Exponential, Laplace)
def _kl_exponential_laplace(p, q):
    # -H(P) + log(2 b) + E_P|x - mu| / b, with E_P|x - mu| = 1/rate - mu + 2 m - 2 (1 - e^{-rate m}) / rate,
    # m = max(mu, 0) (split the expectation at mu; direct integration)
    m = np.maximum(q.loc, 0.0)
    mean_abs = 1 / p.rate - q.loc + 2 * m + 2 * np.expm1(-p.rate * m) / p.rate
    return -p._entropy() + np.log(2 * q.scale) + mean_abs / q.scale


@register_kl(Gamma, Exponential)
def _kl_gamma_exponential(p, q):
    # torch.distributions.kl._kl_gamma_exponential: -H(P) - log rate_q + rate_q E_P[x]
    return -p._entropy() - np.log(q.rate) + q.rate * p.concentration / p.rate


@register_kl(Gamma, Gumbel)
def _kl_gamma_gumbel(p, q):
    # torch.distributions.kl._kl_gamma_gumbel (E_P[exp(-x/s)] = (1 + 1/(rate s))^-a)
    a, rate_scale, loc_scale = p.concentration, p.rate * q.scale, q.loc / q.scale
    t1 = (a - 1) * special.digamma(a) - special.gammaln(a) - a
    t2 = np.log(rate_scale) + a / rate_scale
    t3 = np.exp(loc_scale - a * np.log1p(1 / rate_scale)) - loc_scale
    return t1 + t2 + t3


@register_kl(Gamma, Normal)
def _kl_gamma_normal(p, q):
    # torch.distributions.kl._kl_gamma_normal: E_P[x] = a / rate, E_P[x^2] = a (a + 1) / rate^2
    a, rate, variance = p.concentration, p.rate, q.scale**2
    t1 = 0.5 * np.log(rate**2 * variance * 2 * math.pi) - a - special.gammaln(a)
    t2 = 0.5 * (a**2 + a) / rate**2
    t3 = q.loc * a / rate
    return t1 + (a - 1) * special.digamma(a) + (t2 - t3 + 0.5 * q.loc**2) / variance


@register_kl(Gamma, Laplace)
def _kl_gamma_laplace(p, q):
    # -H(P) + log(2 b) + E_P|x - mu| / b with E_P|x - mu| = E_P[x] - mu + 2 E_P[(mu - x)+] and
    # E_P[(mu - x)+] = mu F_a(mu) - (a / rate) F_{a+1}(mu), F_a the Gamma(a, rate) CDF (direct integration)
    a, rate = p.concentration, p.rate
    m = np.maximum(q.loc, 0.0)
    below = m * special.gammainc(a, rate * m) - a / rate * special.gammainc(a + 1, rate * m)
    mean_abs = a / rate - q.loc + 2 * below
    return -p._entropy() + np.log(2 * q.scale) + mean_abs / q.scale


@register_kl(Gumbel, Normal)
def _kl_gumbel_normal(p, q):
    # torch.distributions.kl._kl_gumbel_normal: E_P[x] = loc + s gamma, Var_P = (pi s)^2 / 6
    ratio = p.scale / q.scale
    t1 = np.log(ratio / math.sqrt(2 * math.pi))
    t2 = (math.pi * ratio * 0.5) ** 2 / 3
    t3 = ((p.loc + p.scale * EULER_GAMMA - q.loc) / q.scale) ** 2 * 0.5
    return -t1 + t2 + t3 - (EULER_GAMMA + 1)


@register_kl(Laplace, Normal)
def _kl_laplace_normal(p, q):
    # torch.distributions.kl._kl_laplace_normal: E_P[(x - loc_q)^2] = 2 b^2 + (loc_p - loc_q)^2
    variance = q.scale**2
    ratio = p.scale**2 / variance
    return -0.5 * np.log(2 * ratio / math.pi) + ratio + 0.5 * (p.loc - q.loc) ** 2 / variance - 1


@register_kl(Normal, Gumbel)
def _kl_normal_gumbel(p, q):
    # torch.distributions.kl._kl_normal_gumbel (E_P[exp(-x/s)] by the normal MGF)
    mean_scale = p.loc / q.scale
    var_ratio = (p.scale / q.scale) ** 2
    loc_scale = q.loc / q.scale
    t3 = np.exp(-mean_scale + 0.5 * var_ratio + loc_scale)
    return -0.5 * np.log(var_ratio) + mean_scale - loc_scale + t3 - 0.5 * (1 + LOG_2PI)


@register_kl(Normal, Laplace)
def _kl_normal_laplace(p, q):
    # torch.distributions.kl._kl_normal_laplace: E_P|x - loc_q| is the folded-normal mean
    difference = p.loc - q.loc
    t1 = np.log(p.scale / q.scale)
    t2 = math.sqrt(2 / math.pi) * p.scale * np.exp(-0.5 * (difference / p.scale) ** 2)
    t3 = difference * special.erf(math.sqrt(0.5) * difference / p.scale)
    return -t1 + (t2 + t3) / q.scale - 0.5 * (1 + math.log(0.5 * math.pi))


@register_kl(Pareto, Exponential)
def _kl_pareto_exponential(p, q):
    # torch.distributions.kl._kl_pareto_exponential; infinite when alpha <= 1 (no mean)
    scale_rate = p.scale * q.rate
    value = np.log(p.alpha / scale_rate) - 1 / p.alpha + p.alpha * scale_rate / (p.alpha - 1) - 1
    return np.where(p.alpha <= 1, INF, value)


@register_kl(Pareto, Gamma)
def _kl_pareto_gamma(p, q):
    # torch.distributions.kl._kl_pareto_gamma; infinite when alpha <= 1 (no mean)
    common = np.log(p.scale) + 1 / p.alpha
    t1 = np.log(p.alpha) - common
    t2 = special.gammaln(q.concentration) - q.concentration * np.log(q.rate)
    t3 = (1 - q.concentration) * common
    t4 = q.rate * p.alpha * p.scale / (p.alpha - 1)
    return np.where(p.alpha <= 1, INF, t1 + t2 + t3 + t4 - 1)


@register_kl(Pareto, Normal)
def _kl_pareto_normal(p, q):
    # torch.distributions.kl._kl_pareto_normal; infinite when alpha <= 2 (no variance)
    variance2 = 2 * q.scale**2
    common = p.scale / (p.alpha - 1)
    t1 = np.log(math.sqrt(2 * math.pi) * q.scale * p.alpha / p.scale)
    t3 = p.alpha * common**2 / (p.alpha - 2)
    t4 = (p.alpha * common - q.loc) ** 2
    return np.where(p.alpha <= 2, INF, t1 - 1 / p.alpha + (t3 + t4) / variance2 - 1)


def _x_log_x(x):
    return special.xlogy(x, x)


@register_kl(Uniform, Beta)
def _kl_uniform_beta(p, q):
    # torch.distributions.kl._kl_uniform_beta: E_P[log x] by integrating log x over [low, high]
    width = p.high - p.low
    t1 = np.log(width)
    t2 = (q.concentration1 - 1) * (_x_log_x(p.high) - _x_log_x(p.low) - width) / width
    t3 = (q.concentration0 - 1) * (_x_log_x(1 - p.high) - _x_log_x(1 - p.low) + width) / width
    t4 = special.betaln(q.concentration1, q.concentration0)
    return np.where((p.high > 1) | (p.low < 0), INF, t3 + t4 - t1 - t2)


@register_kl(Uniform, Exponential)
def _kl_uniform_exponential(p, q):
    # torch.distributions.kl._kl_uniform_exponetial: rate E_P[x] - log(rate width)
    value = q.rate * (p.high + p.low) / 2 - np.log((p.high - p.low) * q.rate)
    return np.where(p.low < 0, INF, value)


@register_kl(Uniform, Gamma)
def _kl_uniform_gamma(p, q):
    # torch.distributions.kl._kl_uniform_gamma
    width = p.high - p.low
    t2 = special.gammaln(q.concentration) - q.concentration * np.log(q.rate)
    t3 = (1 - q.concentration) * (_x_log_x(p.high) - _x_log_x(p.low) - width) / width
    t4 = q.rate * (p.high + p.low) / 2
    return np.where(p.low < 0, INF, -np.log(width) + t2 + t3 + t4)


@register_kl(Uniform, Gumbel)
def _kl_uniform_gumbel(p, q):
    # torch.distributions.kl._kl_uniform_gumbel
    common = q.scale / (p.high - p.low)
    high = (p.high - q.loc) / q.scale
    low = (p.low - q.loc) / q.scale
    # exp(-high) - exp(-low) = exp(-low) expm1(-1/common): no difference of nearly equal exponentials
    return np.log(common) + 0.5 * (high + low) - common * np.exp(-low) * np.expm1(-1 / common)


@register_kl(Uniform, Normal)
def _kl_uniform_normal(p, q):
    # torch.distributions.kl._kl_uniform_normal: E_P[(x - loc)^2] = width^2 / 12 + (mid - loc)^2
    width = p.high - p.low
    t1 = np.log(math.sqrt(2 * math.pi) * q.scale / width)
    return t1 + 0.5 * (width**2 / 12 + ((p.high + p.low) / 2 - q.loc) ** 2) / q.scale**2


@register_kl(Uniform, Pareto)
def _kl_uniform_pareto(p, q):
    # torch.distributions.kl._kl_uniform_pareto; infinite when low < scale_q
    width = p.high - p.low
    t1 = np.log(q.alpha * width) + q.alpha * np.log(q.scale)
    t2 = (_x_log_x(p.high) - _x_log_x(p.low) - width) / width
    return np.where(p.low < q.scale, INF, t2 * (q.alpha + 1) - t1)


@register_kl(Uniform, Laplace)
def _kl_uniform_laplace(p, q):
    # -H(P) + log(2 b) + E_P|x - mu| / b with
    # E_P|x - mu| = ((h - mu)|h - mu| - (l - mu)|l - mu|) / (2 (h - l)) (direct integration)
    high, low = p.high - q.loc, p.low - q.loc
    mean_abs = (high * np.abs(high) - low * np.abs(low)) / (2 * (p.high - p.low))
    return -np.log(p.high - p.low) + np.log(2 * q.scale) + mean_abs / q.scale


# -- always infinite: P has mass outside Q's support ------------------------------


@register_kl(Beta, Pareto)
@register_kl(Exponential, Beta)
@register_kl(Exponential, Pareto)
@register_kl(Exponential, Uniform)
@register_kl(Gamma, Beta)
@register_kl(Gamma, Pareto)
@register_kl(Gamma, Uniform)
@register_kl(Gumbel, Beta)
@register_kl(Gumbel, Exponential)
@register_kl(Gumbel, Gamma)
@register_kl(Gumbel, Pareto)
@register_kl(Gumbel, Uniform)
@register_kl(Laplace, Beta)
@register_kl(Laplace, Exponential)
@register_kl(Laplace, Gamma)
@register_kl(Laplace, Pareto)
@register_kl(Laplace, Uniform)
@register_kl(Normal, Beta)
@register_kl(Normal, Exponential)
@register_kl(Normal, Gamma)
@register_kl(Normal, Pareto)
@register_kl(Normal, Uniform)
@register_kl(Pareto, Beta)
@register_kl(Pareto, Uniform)
def _kl_infinite(p, q):
    return np.full(p.shape, INF)


# the newer families' pairs register themselves into the same registry
from klcli import closed_form_more  # noqa: E402,F401
