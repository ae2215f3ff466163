"""The families added to match torch and go past it: densities, moments, closed forms against mpmath and torch."""

from __future__ import annotations

import itertools
import math

import mpmath
import numpy as np
import pytest
from scipy import stats

from klcli.closed_form import kl_divergence, kl_values
from klcli.closed_form_more import kumaraswamy_mean_log1m
from klcli.families import (
    ContinuousBernoulli,
    Gamma,
    Kumaraswamy,
    LowRankMultivariateNormal,
    Multinomial,
    Wishart,
)
from klcli.families.bounded import continuous_bernoulli_log_norm, continuous_bernoulli_mean, continuous_bernoulli_variance
from klcli.parametric import compare_distributions
from klcli.specs import parse_spec as S
from parametric_examples import EXAMPLES, to_torch

torch = pytest.importorskip("torch")


@pytest.fixture(autouse=True)
def _fifty_digits():
    """mpmath at 50 digits for every test here, whatever other modules set."""
    with mpmath.workdps(50):
        yield


NEW = [
    d
    for name in ("continuousbernoulli", "kumaraswamy", "inversegamma", "onehotcategorical", "multinomial", "lowrankmvn", "wishart")
    for family, ds in EXAMPLES.items()
    if family.name == name
    for d in ds
]


@pytest.mark.parametrize("d", NEW, ids=lambda d: d.spec())
def test_log_prob_and_entropy_match_torch(d):
    draws = d.sample(50, np.random.default_rng(3))
    expected = to_torch(d).log_prob(torch.as_tensor(draws)).numpy()
    np.testing.assert_allclose(d.log_prob(draws), expected, rtol=1e-10, atol=1e-12)
    if d.entropy() is not None:
        assert d.entropy() == pytest.approx(float(to_torch(d).entropy()), rel=1e-10)


@pytest.mark.parametrize(
    "d, cdf",
    [
        (ContinuousBernoulli(0.2), lambda x: np.expm1(np.log(0.25) * x) / np.expm1(np.log(0.25))),
        (ContinuousBernoulli(logits=30.0), lambda x: np.expm1(30 * x) / np.expm1(30.0)),
        (Kumaraswamy(0.7, 2.5), lambda x: 1 - (1 - x**0.7) ** 2.5),
    ],
    ids=["cb-0.2", "cb-logits-30", "kumaraswamy"],
)
def test_samples_follow_the_cdf(d, cdf):
    assert stats.kstest(d.sample(4000, np.random.default_rng(5)), cdf).pvalue > 1e-4


LAMBDAS = [-1e4, -700, -40, -3, -0.9, -1e-3, -1e-9, 0.0, 1e-12, 2e-6, 0.004, 0.5, 0.999, 1.001, 7, 300, 1e5]


@pytest.mark.parametrize("lam", LAMBDAS)
def test_continuous_bernoulli_normaliser_mean_and_variance_against_mpmath(lam):
    x = mpmath.mpf(lam)
    if x == 0:
        log_z, mean, var = mpmath.mpf(0), mpmath.mpf(0.5), mpmath.mpf(1) / 12
    else:
        log_z = mpmath.log(mpmath.expm1(x) / x)
        h = x / 2
        mean = mpmath.mpf(0.5) + (mpmath.coth(h) - 1 / h) / 2
        var = (1 / h**2 - 1 / mpmath.sinh(h) ** 2) / 4
    assert float(continuous_bernoulli_log_norm(np.array(lam))) == pytest.approx(float(log_z), rel=1e-14, abs=1e-300)
    assert float(continuous_bernoulli_mean(np.array(lam))) == pytest.approx(float(mean), rel=1e-14)
    assert float(continuous_bernoulli_variance(np.array(lam))) == pytest.approx(float(var), rel=1e-12)


def _mp_kl(log_p, log_q, a=0, b=1):
    return mpmath.quad(lambda x: mpmath.exp(log_p(x)) * (log_p(x) - log_q(x)), [a, (a + b) / 2, b])


@pytest.mark.parametrize("probs_p, probs_q", [(0.3, 0.6), (0.4999, 0.5001), (0.5, 0.5004), (1e-6, 0.999), (0.9, 0.1)])
def test_continuous_bernoulli_kl_against_mpmath(probs_p, probs_q):
    """Near 0.5 torch's Taylor branch is off by ~1e-8; klcli holds 1e-10 everywhere."""

    def log_density(probs):
        lam = mpmath.log(mpmath.mpf(probs)) - mpmath.log1p(-mpmath.mpf(probs))
        log_z = mpmath.log(mpmath.expm1(lam) / lam) if lam != 0 else mpmath.mpf(0)
        return lambda x: lam * x - log_z

    expected = _mp_kl(log_density(probs_p), log_density(probs_q))
    got = kl_divergence(ContinuousBernoulli(probs_p), ContinuousBernoulli(probs_q))
    assert got == pytest.approx(float(expected), rel=1e-10, abs=1e-15)


@pytest.mark.parametrize("a, b, alpha, beta", [(2, 3, 1.5, 4), (0.5, 0.5, 2, 2), (5, 0.3, 0.7, 1.2), (0.3, 7, 3, 0.5), (1, 1, 2, 5)])
def test_kumaraswamy_beta_against_mpmath(a, b, alpha, beta):
    a_, b_, al, be = (mpmath.mpf(v) for v in (a, b, alpha, beta))

    def integrand(v):
        # x = (1 - w)^(1/a), w = (1 - v)^(1/b) maps v ~ U(0, 1) to the Kumaraswamy: KL = E[log p - log q];
        # every logarithm is formed from log1p/expm1 so that no node rounds x onto 0 or 1
        if v <= 0 or v >= 1:  # a node rounded onto an end: measure zero
            return mpmath.mpf(0)
        log_w = mpmath.log1p(-v) / b_
        log_x = mpmath.log1p(-mpmath.exp(log_w)) / a_
        log_1mx = mpmath.log(-mpmath.expm1(log_x))
        log_p = mpmath.log(a_ * b_) + (a_ - 1) * log_x + (b_ - 1) * log_w
        log_q = (al - 1) * log_x + (be - 1) * log_1mx - mpmath.log(mpmath.beta(al, be))
        return log_p - log_q

    expected = mpmath.quad(integrand, [0, 0.5, 1])
    got = kl_divergence(Kumaraswamy(a, b), S(f"beta({alpha}, {beta})"))
    assert got == pytest.approx(float(expected), rel=1e-10)


def test_kumaraswamy_series_is_the_mean_of_log_one_minus_x():
    for a, b in [(0.2, 0.2), (100, 100), (20, 0.1), (0.05, 0.05)]:
        v = mpmath.mpf
        exact = mpmath.quad(lambda u, a=a, b=b, v=v: mpmath.log(-mpmath.expm1(mpmath.log1p(-(u ** (1 / v(b)))) / v(a))), [0, 0.5, 1])
        assert kumaraswamy_mean_log1m(a, b) == pytest.approx(float(exact), rel=1e-10)


def test_wishart_in_one_dimension_is_a_gamma():
    """W_1(n, v) is gamma(n/2, rate 1/(2v)): an independent check of the Wishart closed form."""
    p, q = Wishart(3.5, covariance_matrix=[[2.0]]), Wishart(6.0, covariance_matrix=[[0.7]])
    expected = kl_divergence(Gamma(1.75, 0.25), Gamma(3.0, 1 / 1.4))
    assert kl_divergence(p, q) == pytest.approx(expected, rel=1e-12)


def test_wishart_kl_against_monte_carlo_and_torch_log_prob():
    p = Wishart(5.0, covariance_matrix=[[1.5, 0.4, 0.1], [0.4, 0.9, -0.2], [0.1, -0.2, 1.1]])
    q = Wishart(4.0, covariance_matrix=[[1.0, 0.0, 0.2], [0.0, 1.3, 0.1], [0.2, 0.1, 0.8]])
    c = compare_distributions(p, q, engine="mc", samples=100_000, seed=3)
    assert abs(c.values["kl_pq"] - kl_divergence(p, q)) < 5 * c.stderr["kl_pq"]
    x = p.sample(20, np.random.default_rng(0))
    np.testing.assert_allclose(p.log_prob(x), to_torch(p).log_prob(torch.as_tensor(x)).numpy(), rtol=1e-10)


def test_multinomial_kl_is_the_sum_over_its_support():
    p, q = Multinomial(3, [0.2, 0.3, 0.5]), Multinomial(3, [0.4, 0.4, 0.2])
    support = np.array([c for c in itertools.product(range(4), repeat=3) if sum(c) == 3], dtype=float)
    lp, lq = p.log_prob(support), q.log_prob(support)
    assert kl_divergence(p, q) == pytest.approx(float(np.sum(np.exp(lp) * (lp - lq))), rel=1e-13)
    assert kl_divergence(p, Multinomial(4, [0.4, 0.4, 0.2])) == math.inf


def test_low_rank_batches_match_torch():
    rng = np.random.default_rng(8)
    loc, factor, diag = rng.normal(size=(3, 4)), rng.normal(size=(3, 4, 2)), rng.uniform(0.5, 2, size=(3, 4))
    p = LowRankMultivariateNormal(loc, factor, diag)
    q = S("mvn(loc=[0, 0, 0, 0], covariance_matrix=[[2, 0.3, 0, 0], [0.3, 1, 0, 0], [0, 0, 1, 0.1], [0, 0, 0.1, 1]])")
    c = compare_distributions(p, q, engine="closed", reduction="none")
    t = torch.as_tensor
    expected = torch.distributions.kl_divergence(torch.distributions.LowRankMultivariateNormal(t(loc), t(factor), t(diag)), to_torch(q)).numpy()
    np.testing.assert_allclose(c.values["kl_pq"], expected, rtol=1e-10)


def test_continuous_bernoulli_batches_match_torch():
    probs_p, probs_q = np.array([[0.1, 0.45], [0.5, 0.93]]), np.array([0.3, 0.7])
    values = kl_values(*(d.broadcast_to((2, 2)) for d in (ContinuousBernoulli(probs_p), ContinuousBernoulli(probs_q))))
    expected = torch.distributions.kl_divergence(
        torch.distributions.ContinuousBernoulli(torch.as_tensor(probs_p)), torch.distributions.ContinuousBernoulli(torch.as_tensor(probs_q))
    ).numpy()
    np.testing.assert_allclose(values, expected.sum(axis=-1), rtol=1e-10)


@pytest.mark.parametrize("p, q", [("continuousbernoulli(0.3)", "uniform(0, 1)"), ("uniform(0, 1)", "continuousbernoulli(0.3)")])
def test_uniform_on_the_unit_interval_is_finite_where_torch_says_inf(p, q):
    """torch tests low >= 0 / high >= 1 where low > 0 / high > 1 is meant: these KLs are finite."""
    value = kl_divergence(S(p), S(q))
    assert math.isfinite(value)
    assert value == pytest.approx(compare_distributions(S(p), S(q), engine="quad").values["kl_pq"], rel=1e-8)
    torch_value = torch.distributions.kl_divergence(to_torch(S(p)), to_torch(S(q)))
    assert math.isinf(float(torch_value))
