"""Families: densities against scipy.stats, sampling, entropies, parameter validation."""

from __future__ import annotations

import math
import subprocess
import sys

import numpy as np
import pytest
from scipy import integrate, stats

from klcli.errors import InputError
from klcli.families import (
    FAMILIES,
    Mixture,
    MultivariateNormal,
    Normal,
    catalogue,
)
from klcli.families._ops import NUMPY
from klcli.specs import parse_spec
from parametric_examples import EXAMPLES, to_torch


def scipy_reference(d):
    """The same distribution in scipy.stats."""
    n = d.name
    table = {
        "bernoulli": lambda: stats.bernoulli(d.probs),
        "binomial": lambda: stats.binom(d.total_count, d.probs),
        "poisson": lambda: stats.poisson(d.rate),
        "geometric": lambda: stats.geom(d.probs, loc=-1),
        "negativebinomial": lambda: stats.nbinom(d.total_count, 1 - d.probs),
        "normal": lambda: stats.norm(d.loc, d.scale),
        "lognormal": lambda: stats.lognorm(d.scale, scale=np.exp(d.loc)),
        "halfnormal": lambda: stats.halfnorm(scale=d.scale),
        "laplace": lambda: stats.laplace(d.loc, d.scale),
        "cauchy": lambda: stats.cauchy(d.loc, d.scale),
        "halfcauchy": lambda: stats.halfcauchy(scale=d.scale),
        "studentt": lambda: stats.t(d.df, d.loc, d.scale),
        "logistic": lambda: stats.logistic(d.loc, d.scale),
        "exponential": lambda: stats.expon(scale=1 / d.rate),
        "gamma": lambda: stats.gamma(d.concentration, scale=1 / d.rate),
        "chi2": lambda: stats.chi2(d.df),
        "beta": lambda: stats.beta(d.concentration1, d.concentration0),
        "uniform": lambda: stats.uniform(d.low, d.high - d.low),
        "gumbel": lambda: stats.gumbel_r(d.loc, d.scale),
        "pareto": lambda: stats.pareto(d.alpha, scale=d.scale),
        "weibull": lambda: stats.weibull_min(d.concentration, scale=d.scale),
        "vonmises": lambda: stats.vonmises(d.concentration, loc=d.loc),
        "inversegamma": lambda: stats.invgamma(d.concentration, scale=d.rate),
    }
    return table[n]() if n in table else None


SCALAR_EXAMPLES = [
    d
    for ds in EXAMPLES.values()
    for d in ds
    if not d.event_shape and d.name != "categorical" and scipy_reference(d) is not None  # no scipy family: test_new_families
]


@pytest.mark.parametrize("d", SCALAR_EXAMPLES, ids=lambda d: d.spec())
def test_log_prob_matches_scipy(d):
    reference = scipy_reference(d)
    x = d.sample(200, np.random.default_rng(1))
    expected = reference.logpmf(x) if d.is_discrete else reference.logpdf(x)
    np.testing.assert_allclose(d.log_prob(x), expected, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("d", SCALAR_EXAMPLES, ids=lambda d: d.spec())
def test_samples_follow_the_distribution(d):
    reference = scipy_reference(d)
    x = d.sample(4000, np.random.default_rng(2))
    if d.is_discrete:
        # the sample mean within 5 standard errors
        assert abs(x.mean() - reference.mean()) < 5 * reference.std() / math.sqrt(x.size)
    else:
        assert stats.kstest(x, reference.cdf).pvalue > 1e-4


@pytest.mark.parametrize("d", SCALAR_EXAMPLES, ids=lambda d: d.spec())
def test_entropy_matches_scipy(d):
    if d.entropy() is None:
        pytest.skip("no closed-form entropy")
    assert d.entropy() == pytest.approx(float(scipy_reference(d).entropy()), rel=1e-9)


def test_outside_support_has_zero_density():
    assert FAMILIES["gamma"](2, 1).log_prob([-1.0, 0.0])[0] == -math.inf
    assert FAMILIES["uniform"](0, 1).log_prob([1.5])[0] == -math.inf
    assert FAMILIES["poisson"](2).log_prob([-1.0, 2.5])[0] == -math.inf
    assert parse_spec("categorical([0.5, 0.5])").log_prob([2.0, 0.5]).tolist() == [-math.inf, -math.inf]


def test_categorical_normalises_probs_and_logits():
    d = parse_spec("categorical([1, 1, 2])")
    np.testing.assert_allclose(np.exp(d.log_prob([0.0, 1.0, 2.0])), [0.25, 0.25, 0.5])
    e = parse_spec("categorical(logits=[0, 0, 0.6931471805599453])")
    np.testing.assert_allclose(e.probs, d.probs)
    counts = np.bincount(d.sample(20000, np.random.default_rng(0)).astype(int), minlength=3) / 20000
    np.testing.assert_allclose(counts, [0.25, 0.25, 0.5], atol=0.02)


def test_independent_vector_sums_components():
    d = parse_spec("normal(loc=[0, 1, 2], scale=[1, 2, 3])")
    assert d.event_shape == (3,) and d.dim == 3
    x = d.sample(10, np.random.default_rng(0))
    expected = sum(stats.norm(m, s).logpdf(x[:, i]) for i, (m, s) in enumerate([(0, 1), (1, 2), (2, 3)]))
    np.testing.assert_allclose(d.log_prob(x), expected)
    assert [m.spec() for m in d.marginals()][1] == "normal(loc=1, scale=2)"
    assert parse_spec("normal(loc=[0, 1], scale=2)").scale.tolist() == [2.0, 2.0]


def test_dirichlet_and_mvn_match_scipy():
    d = parse_spec("dirichlet([1.5, 2, 3])")
    x = d.sample(50, np.random.default_rng(0))
    np.testing.assert_allclose(d.log_prob(x), stats.dirichlet([1.5, 2, 3]).logpdf(x.T))
    assert d.entropy() == pytest.approx(stats.dirichlet([1.5, 2, 3]).entropy())
    cov = [[1.5, 0.4, 0.1], [0.4, 0.9, -0.2], [0.1, -0.2, 2.0]]
    m = MultivariateNormal([0.1, 0.2, 0.3], covariance_matrix=cov)
    y = m.sample(50, np.random.default_rng(0))
    reference = stats.multivariate_normal([0.1, 0.2, 0.3], cov)
    np.testing.assert_allclose(m.log_prob(y), reference.logpdf(y))
    assert m.entropy() == pytest.approx(reference.entropy())
    np.testing.assert_allclose(np.cov(m.sample(40000, np.random.default_rng(1)).T), cov, atol=0.05)


def test_mvn_parametrisations_agree():
    cov = np.array([[2.0, 0.3], [0.3, 0.5]])
    by_cov = MultivariateNormal([0, 0], covariance_matrix=cov)
    by_tril = MultivariateNormal([0, 0], scale_tril=np.linalg.cholesky(cov))
    by_precision = MultivariateNormal([0, 0], precision_matrix=np.linalg.inv(cov))
    for other in (by_tril, by_precision):
        np.testing.assert_allclose(other.scale_tril, by_cov.scale_tril, rtol=1e-12)
    assert MultivariateNormal(0.5, covariance_matrix=np.eye(3)).loc.tolist() == [0.5] * 3


def test_mixture_density_integrates_to_one():
    m = parse_spec("mixture([1, 2, 0], [normal(0, 1), laplace(3, 0.5), cauchy(0, 1)])")
    assert m.weights.tolist() == pytest.approx([1 / 3, 2 / 3])
    total, _ = integrate.quad(lambda x: math.exp(m.log_prob(np.array([x]))[0]), -np.inf, np.inf, points=None)
    assert total == pytest.approx(1.0, abs=1e-8)
    x = m.sample(30000, np.random.default_rng(0))
    assert x.mean() == pytest.approx(2.0, abs=0.05)


def test_torch_log_prob_matches_numpy():
    torch = pytest.importorskip("torch")
    from klcli.families._ops import TorchOps

    ops = TorchOps(torch, torch.device("cpu"))
    mixture = parse_spec("mixture([1, 2], [normal(0, 1), studentt(3, 1, 2)])")
    for d in [*(x for ds in EXAMPLES.values() for x in ds), mixture]:
        x = d.sample(100, np.random.default_rng(3))
        np.testing.assert_allclose(ops.to_numpy(d.log_prob(x, ops)), d.log_prob(x, NUMPY), rtol=1e-12, atol=1e-12)
        reference = to_torch(d)
        if reference is not None:
            expected = reference.log_prob(torch.as_tensor(x)).numpy()
            # torch evaluates log I0 of the von Mises with a polynomial (~1e-9 relative)
            tolerance = 1e-7 if d.name == "vonmises" else 1e-9
            np.testing.assert_allclose(d.log_prob(x), expected, rtol=tolerance, atol=tolerance, err_msg=d.spec())


BAD_PARAMETERS = [
    ("normal(0, -1)", "Expected parameter scale of normal(...) to be positive, but found -1"),
    ("normal(nan, 1)", "Expected parameter loc of normal(...) to be a finite real number, but found nan"),
    ("normal(0, inf)", "Expected parameter scale of normal(...) to be positive, but found inf"),
    ("normal(loc=[0, 1], scale=[1, -2])", "Expected parameter scale of normal(...) to be positive, but found -2 (at index 1)"),
    ("normal(loc=[0, 1, 2], scale=[1, 2])", "parameters loc (3 values), scale (2 values) of normal(...) have different lengths"),
    ("normal(loc=[[0, 1], [2, 3]], scale=[[1, 2, 3]])", "parameter shapes of normal(...) do not broadcast: loc 2x2, scale 1x3"),
    ("bernoulli(1.5)", "Expected parameter probs of bernoulli(...) to be in [0, 1], but found 1.5"),
    ("bernoulli()", "bernoulli() needs exactly one of probs, logits, but got neither"),
    ("bernoulli(probs=0.2, logits=0)", "needs exactly one of probs, logits, but got probs and logits"),
    ("binomial(2.5, 0.3)", "Expected parameter total_count of binomial(...) to be a non-negative integer, but found 2.5"),
    ("geometric(0)", "Expected parameter probs of geometric(...) to be in (0, 1], but found 0"),
    ("negativebinomial(3, 1)", "Expected parameter probs of negativebinomial(...) to be in [0, 1), but found 1"),
    ("negativebinomial(-1, 0.5)", "Expected parameter total_count of negativebinomial(...) to be non-negative, but found -1"),
    ("poisson(-1)", "Expected parameter rate of poisson(...) to be non-negative, but found -1"),
    ("categorical([0.5, -0.5])", "Expected parameter probs of categorical(...) to be non-negative, but found -0.5 (at index 1)"),
    ("categorical([0, 0])", "Expected parameter probs of categorical(...) to have a positive sum, but found 0"),
    ("categorical(logits=[-inf, -inf])", "to have a finite entry, but all are -inf"),
    ("categorical(0.5)", "Expected parameter probs of categorical(...) to be a list of numbers"),
    ("gamma(1)", "gamma() is missing parameter 'rate'"),
    ("gamma(0, 1)", "Expected parameter concentration of gamma(...) to be positive, but found 0"),
    ("beta(1, -2)", "Expected parameter concentration0 of beta(...) to be positive, but found -2"),
    ("uniform(1, 1)", "Expected parameter high of uniform(...) to be greater than low (1), but found 1"),
    ("studentt(0)", "Expected parameter df of studentt(...) to be positive, but found 0"),
    ("pareto(1, 0)", "Expected parameter alpha of pareto(...) to be positive, but found 0"),
    ("weibull(-1, 1)", "Expected parameter scale of weibull(...) to be positive, but found -1"),
    ("vonmises(0, -1)", "Expected parameter concentration of vonmises(...) to be positive, but found -1"),
    ("exponential(rate=0)", "Expected parameter rate of exponential(...) to be positive, but found 0"),
    ("chi2(-3)", "Expected parameter df of chi2(...) to be positive, but found -3"),
    ("dirichlet([1])", "Expected parameter concentration of dirichlet(...) to be a list of at least 2 numbers"),
    ("dirichlet([1, 0])", "Expected parameter concentration of dirichlet(...) to be positive, but found 0 (at index 1)"),
    ("mvn([0, 0], [[1, 2], [2, 1]])", "Expected parameter covariance_matrix of mvn(...) to be positive definite, but its smallest eigenvalue is -1"),
    ("mvn([0, 0], [[1, 0.5], [0, 1]])", "Expected parameter covariance_matrix of mvn(...) to be symmetric"),
    ("mvn([0, 0, 0], [[1, 0], [0, 1]])", "parameters of mvn(...) do not match: loc has 3 entries but covariance_matrix is 2x2"),
    ("mvn([0, 0], [[1, 0, 0], [0, 1, 0]])", "Expected parameter covariance_matrix of mvn(...) to be a square matrix, but found shape (2, 3)"),
    ("mvn([0, 0], scale_tril=[[1, 1], [0, 1]])", "Expected parameter scale_tril of mvn(...) to be lower triangular"),
    ("mvn([0, 0], scale_tril=[[1, 0], [1, -1]])", "Expected parameter scale_tril of mvn(...) to have a positive diagonal, but found -1"),
    ("mvn([0, 0], precision_matrix=[[0, 0], [0, 1]])", "Expected parameter precision_matrix of mvn(...) to be positive definite"),
    ("mvn([0, 0])", "mvn() needs exactly one of covariance_matrix, precision_matrix, scale_tril, but got neither"),
    ("mixture([1], [normal(0, 1), normal(1, 1)])", "mixture(...) has 1 weights for 2 components"),
    ("mixture([0, 0], [normal(0, 1), normal(1, 1)])", "Expected parameter weights of mixture(...) to have a positive sum, but found 0"),
    ("mixture([1, -1], [normal(0, 1), normal(1, 1)])", "Expected parameter weights of mixture(...) to be non-negative, but found -1 (at index 1)"),
    ("mixture([1, 1], [normal(0, 1), poisson(1)])", "components of mixture(...) mix discrete and continuous families"),
    ("mixture([1, 1], [normal(0, 1), normal([0, 1], 1)])", "components of mixture(...) differ in dimension"),
    ("mixture([1], [1])", "Expected parameter components of mixture(...) to hold distributions, but found 1 (at index 0)"),
    ("normal(0, 1, 2)", "normal() takes at most 2 positional arguments (loc, scale), but 3 were given"),
    ("normal(sigma=1)", "normal() has no parameter 'sigma'; its parameters are loc, scale"),
]


@pytest.mark.parametrize("text, message", BAD_PARAMETERS, ids=[t for t, _ in BAD_PARAMETERS])
def test_bad_parameters_name_the_parameter(text, message):
    with pytest.raises(InputError) as caught:
        parse_spec(text)
    assert message in str(caught.value)


def test_catalogue_lists_every_family():
    rows = catalogue()
    assert [r[0] for r in rows] == list(FAMILIES)
    assert ("normal", "loc=0, scale=1", "real", "continuous") in rows
    assert ("bernoulli", "probs | logits", "{0, 1}", "discrete") in rows
    assert all(len(r) == 4 for r in rows)


def test_spec_round_trips():
    for d in [x for ds in EXAMPLES.values() for x in ds] + [Mixture([1, 2], [Normal(0, 1), Normal(1, 2)])]:
        again = parse_spec(d.spec())
        assert again.spec() == d.spec()


def test_importing_the_core_does_not_import_scipy_stats_or_torch():
    code = "import sys, klcli.parametric, klcli.specs; print('scipy.stats' in sys.modules, 'torch' in sys.modules)"
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        env={"PYTHONPATH": "src", "PATH": ""},
        cwd=str(__import__("pathlib").Path(__file__).parents[1]),
    )
    assert out.stdout.split() == ["False", "False"]
