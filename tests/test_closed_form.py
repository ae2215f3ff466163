"""Closed forms: every registered pair against quadrature/Monte Carlo, torch and mpmath."""

from __future__ import annotations

import math

import mpmath
import numpy as np
import pytest

from klcli import closed_form
from klcli.closed_form import NoClosedForm, has_closed_form, kl_divergence, pairs, register_kl
from klcli.engines import montecarlo, quadrature
from klcli.families import (
    FAMILIES,
    Binomial,
    Chi2,
    Distribution,
    Gamma,
    MultivariateNormal,
    NegativeBinomial,
    Normal,
    Univariate,
)
from klcli.specs import parse_spec
from parametric_examples import EXAMPLES, to_torch

REGISTERED = sorted(closed_form._REGISTRY, key=lambda pair: (pair[0].name, pair[1].name))


def _instances(type_p, type_q):
    """(P, Q) pairs to test a registered pair on: P's first example against Q's second, and vice versa."""
    ps, qs = EXAMPLES[type_p], EXAMPLES[type_q]
    return [(ps[0], qs[1]), (ps[1], qs[0])]


@pytest.mark.parametrize("type_p, type_q", REGISTERED, ids=[f"{p.name}-{q.name}" for p, q in REGISTERED])
def test_closed_form_matches_numerical_integration(type_p, type_q):
    for p, q in _instances(type_p, type_q):
        exact = kl_divergence(p, q)
        if p.event_shape and not isinstance(p, Univariate):
            result = montecarlo.estimate(p, q, samples=200_000, seed=5, keys=("kl_pq",))
            if math.isinf(exact):
                assert result.values["kl_pq"] == math.inf, (p, q)
                continue
            assert abs(result.values["kl_pq"] - exact) < 5 * result.stderr["kl_pq"], (p, q)
            continue
        numeric = quadrature.kl(p, q).value
        if math.isinf(exact) or math.isinf(numeric):
            assert exact == numeric == math.inf, (p, q, exact, numeric)
        else:
            assert exact == pytest.approx(numeric, rel=1e-8, abs=1e-12), (p, q)


@pytest.mark.parametrize("type_p, type_q", REGISTERED, ids=[f"{p.name}-{q.name}" for p, q in REGISTERED])
def test_closed_form_matches_torch(type_p, type_q):
    torch = pytest.importorskip("torch")
    for p, q in _instances(type_p, type_q):
        torch_p, torch_q = to_torch(p), to_torch(q)
        try:
            expected = float(torch.distributions.kl_divergence(torch_p, torch_q))
        except NotImplementedError:
            pytest.skip(f"torch has no KL for {p.name}-{q.name}")
        assert kl_divergence(p, q) == pytest.approx(expected, rel=1e-9, abs=1e-12), (p, q)


def test_every_pair_torch_covers_is_registered():
    torch = pytest.importorskip("torch")
    missing = []
    for type_p, ps in EXAMPLES.items():
        for type_q, qs in EXAMPLES.items():
            torch_p, torch_q = to_torch(ps[0]), to_torch(qs[1])
            if type(torch_p).__name__ == "Independent" or type(torch_q).__name__ == "Independent":
                continue
            try:
                torch.distributions.kl_divergence(torch_p, torch_q)
            except NotImplementedError:
                continue
            if not has_closed_form(ps[0], qs[1]):
                missing.append((type_p.name, type_q.name))
    assert missing == []


def test_independent_vectors_sum_per_dimension():
    p = parse_spec("normal(loc=[0, 1, 2], scale=[1, 2, 3])")
    q = parse_spec("normal(loc=[1, 1, 1], scale=2)")
    expected = sum(kl_divergence(a, b) for a, b in zip(p.marginals(), q.marginals()))
    assert kl_divergence(p, q) == pytest.approx(expected, rel=1e-14)
    g = parse_spec("gamma([2, 3], [1, 1])")
    e = parse_spec("exponential([0.5, 2])")
    assert kl_divergence(g, e) == pytest.approx(quadrature.kl(g, e).value, rel=1e-9)


def _mp_kl_mvn(loc_p, cov_p, loc_q, cov_q):
    mpmath.mp.dps = 50
    sp, sq = mpmath.matrix(cov_p), mpmath.matrix(cov_q)
    d = mpmath.matrix(loc_q) - mpmath.matrix(loc_p)
    sq_inv = sq**-1
    n = len(loc_p)
    trace = sum((sq_inv * sp)[i, i] for i in range(n))
    quad_form = (d.T * sq_inv * d)[0, 0]
    return 0.5 * (trace + quad_form - n + mpmath.log(mpmath.det(sq)) - mpmath.log(mpmath.det(sp)))


@pytest.mark.parametrize("epsilon", [1e-3, 1e-6, 1e-9])
def test_mvn_nearly_equal_covariances_keep_their_digits(epsilon):
    rng = np.random.default_rng(0)
    a = rng.normal(size=(4, 4))
    cov_q = a @ a.T + 4 * np.eye(4)
    bump = rng.normal(size=(4, 4))
    cov_p = cov_q + epsilon * (bump @ bump.T)
    loc_p, loc_q = np.zeros(4), np.full(4, epsilon)
    reference = float(_mp_kl_mvn(loc_p.tolist(), cov_p.tolist(), loc_q.tolist(), cov_q.tolist()))
    value = kl_divergence(MultivariateNormal(loc_p, covariance_matrix=cov_p), MultivariateNormal(loc_q, covariance_matrix=cov_q))
    assert value == pytest.approx(reference, rel=1e-6)


def test_mvn_matches_mpmath_for_distant_covariances():
    loc_p, cov_p = [0.1, -0.2, 0.3], [[2.0, 0.3, 0.1], [0.3, 1.0, -0.2], [0.1, -0.2, 0.7]]
    loc_q, cov_q = [1.0, 0.0, -1.0], [[1.0, -0.4, 0.0], [-0.4, 3.0, 0.5], [0.0, 0.5, 1.5]]
    reference = float(_mp_kl_mvn(loc_p, cov_p, loc_q, cov_q))
    by_precision = MultivariateNormal(loc_q, precision_matrix=np.linalg.inv(cov_q))
    assert kl_divergence(MultivariateNormal(loc_p, cov_p), by_precision) == pytest.approx(reference, rel=1e-12)


@pytest.mark.parametrize("ratio", [1 + 1e-4, 1 + 1e-8, 1 + 1e-12])
def test_nearly_equal_scales_agree_with_mpmath(ratio):
    mpmath.mp.dps = 50
    r = mpmath.mpf(ratio) ** 2
    normal_reference = float(0.5 * (r - 1 - mpmath.log(r)))
    assert kl_divergence(Normal(0, ratio), Normal(0, 1)) == pytest.approx(normal_reference, rel=1e-6)
    rate_ratio = mpmath.mpf(ratio)
    exponential_reference = float(rate_ratio - 1 - mpmath.log(rate_ratio))
    p, q = FAMILIES["exponential"](1.0), FAMILIES["exponential"](ratio)
    assert kl_divergence(p, q) == pytest.approx(exponential_reference, rel=1e-6)


def test_gamma_gamma_matches_mpmath_integral():
    mpmath.mp.dps = 30
    a_p, b_p, a_q, b_q = 2.5, 1.5, 3.5, 0.8

    def log_density(x, a, b):
        return a * mpmath.log(b) + (a - 1) * mpmath.log(x) - b * x - mpmath.loggamma(a)

    integrand = lambda x: mpmath.exp(log_density(x, a_p, b_p)) * (log_density(x, a_p, b_p) - log_density(x, a_q, b_q))
    reference = float(mpmath.quad(integrand, [0, 1, 5, mpmath.inf]))
    assert kl_divergence(Gamma(a_p, b_p), Gamma(a_q, b_q)) == pytest.approx(reference, rel=1e-12)


def test_vonmises_matches_mpmath_integral():
    mpmath.mp.dps = 30
    (mu_p, k_p), (mu_q, k_q) = (0.5, 2.0), (-1.0, 3.5)

    def log_density(x, mu, k):
        return k * mpmath.cos(x - mu) - mpmath.log(2 * mpmath.pi * mpmath.besseli(0, k))

    integrand = lambda x: mpmath.exp(log_density(x, mu_p, k_p)) * (log_density(x, mu_p, k_p) - log_density(x, mu_q, k_q))
    reference = float(mpmath.quad(integrand, [-mpmath.pi, 0, mpmath.pi]))
    value = kl_divergence(FAMILIES["vonmises"](mu_p, k_p), FAMILIES["vonmises"](mu_q, k_q))
    assert value == pytest.approx(reference, rel=1e-12)


def test_most_specific_registration_wins_and_lookup_is_memoised():
    assert closed_form._lookup(Chi2, Gamma) is closed_form._lookup(Gamma, Gamma)

    class Shifted(Normal):
        name = "shifted"

    try:

        @register_kl(Shifted, Normal)
        def _kl_shifted_normal(p, q):
            return np.array(42.0)

        assert kl_divergence(Shifted(0, 1), Normal(0, 1)) == 42.0
        assert kl_divergence(Normal(0, 1), Shifted(0, 1)) == 0.0  # still normal-normal
    finally:
        del closed_form._REGISTRY[Shifted, Normal]
        closed_form._lookup.cache_clear()
    assert kl_divergence(Shifted(0, 1), Normal(0, 1)) == 0.0


@pytest.mark.parametrize("bad", [Normal(0, 1), "normal", int, None])
def test_register_kl_rejects_non_distribution_types(bad):
    with pytest.raises(TypeError, match="register_kl expects Distribution subclasses"):
        register_kl(bad, Normal)
    with pytest.raises(TypeError):
        register_kl(Normal, bad)
    assert issubclass(Normal, Distribution)


def test_pairs_outside_a_formula_raise_no_closed_form():
    with pytest.raises(NoClosedForm, match="total_count of P below"):
        kl_divergence(Binomial(5, 0.3), Binomial(10, 0.3))
    assert kl_divergence(Binomial(10, 0.3), Binomial(5, 0.3)) == math.inf
    with pytest.raises(NoClosedForm, match="different total_count"):
        kl_divergence(NegativeBinomial(2, 0.3), NegativeBinomial(3, 0.3))
    with pytest.raises(NoClosedForm, match="no closed form for studentt‖normal"):
        kl_divergence(parse_spec("studentt(3)"), Normal(0, 1))


def test_edge_parameters():
    bern = FAMILIES["bernoulli"]
    assert kl_divergence(bern(0.0), bern(0.5)) == pytest.approx(math.log(2))
    assert kl_divergence(bern(0.5), bern(1.0)) == math.inf
    assert kl_divergence(FAMILIES["poisson"](0.0), FAMILIES["poisson"](2.0)) == 2.0
    assert kl_divergence(FAMILIES["poisson"](1.0), FAMILIES["poisson"](0.0)) == math.inf
    assert kl_divergence(FAMILIES["poisson"](0.0), Binomial(3, 0.5)) == pytest.approx(3 * math.log(2))
    assert kl_divergence(parse_spec("categorical([0.5, 0.5])"), parse_spec("categorical([0.25, 0.25, 0.5])")) == pytest.approx(math.log(2))
    assert kl_divergence(parse_spec("categorical([0.25, 0.25, 0.5])"), parse_spec("categorical([0.5, 0.5])")) == math.inf
    assert kl_divergence(parse_spec("pareto(1, 3)"), parse_spec("pareto(2, 3)")) == math.inf
    assert kl_divergence(parse_spec("pareto(1, 1.5)"), parse_spec("normal(0, 1)")) == math.inf
    assert kl_divergence(Normal(0, 1), Normal(0, 1)) == 0.0


def test_pairs_lists_registrations():
    registered = pairs()
    assert ("normal", "normal") in registered and ("cauchy", "cauchy") in registered
    assert ("exponential", "laplace") in registered and ("uniform", "laplace") in registered
    assert registered == sorted(registered)
