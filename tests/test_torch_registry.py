"""klcli against the installed torch: every pair of ``torch.distributions.kl._KL_REGISTRY``, scalar and batched.

Each registered pair klcli supports is compared at seeded random parameters to
1e-10 (relative), one value per batch member. Where torch is known to be
inaccurate the reference is mpmath instead (50 digits). Every infinite pair of
torch's own tests (``TestKL.infinite_examples``) must be infinite in klcli with
every engine.
"""

from __future__ import annotations

import math
import zlib

import mpmath
import numpy as np
import pytest

from klcli.errors import EngineUnavailable
from klcli.families import FAMILIES
from klcli.closed_form import kl_values
from klcli.parametric import broadcast_pair, compare_distributions
from klcli.specs import parse_spec

torch = pytest.importorskip("torch")
D = torch.distributions


@pytest.fixture(autouse=True)
def _fifty_digits():
    """mpmath at 50 digits for every test here, whatever other modules set."""
    with mpmath.workdps(50):
        yield


#: torch class name -> klcli family
FAMILY = {
    "Bernoulli": "bernoulli",
    "Beta": "beta",
    "Binomial": "binomial",
    "Categorical": "categorical",
    "Cauchy": "cauchy",
    "ContinuousBernoulli": "continuousbernoulli",
    "Dirichlet": "dirichlet",
    "Exponential": "exponential",
    "Gamma": "gamma",
    "Geometric": "geometric",
    "Gumbel": "gumbel",
    "HalfNormal": "halfnormal",
    "Laplace": "laplace",
    "LowRankMultivariateNormal": "lowrankmvn",
    "MultivariateNormal": "mvn",
    "Normal": "normal",
    "OneHotCategorical": "onehotcategorical",
    "Pareto": "pareto",
    "Poisson": "poisson",
    "Uniform": "uniform",
}
#: registry entries that are generic mechanisms rather than family pairs
GENERIC = {"ExponentialFamily", "Independent", "TransformedDistribution"}
K = 3  # categories / dimensions of vector families


def _parameters(name: str, rng: np.random.Generator, batch: tuple[int, ...]) -> dict[str, np.ndarray]:
    """Seeded random parameters of torch family ``name`` with batch shape ``batch`` (valid for both libraries)."""
    u = lambda low, high, extra=(): rng.uniform(low, high, size=batch + extra)  # noqa: E731
    if name in ("Normal", "Laplace", "Cauchy", "Gumbel"):
        return {"loc": rng.normal(size=batch), "scale": u(0.5, 2)}
    if name in ("HalfNormal",):
        return {"scale": u(0.5, 2)}
    if name in ("Exponential", "Poisson"):
        return {"rate": u(0.5, 3)}
    if name == "Gamma":
        return {"concentration": u(0.5, 4), "rate": u(0.5, 3)}
    if name == "Beta":
        return {"concentration1": u(0.5, 4), "concentration0": u(0.5, 4)}
    if name in ("Bernoulli", "Geometric", "ContinuousBernoulli"):
        return {"probs": u(0.05, 0.95)}
    if name == "Binomial":
        return {"total_count": np.full(batch, 10.0), "probs": u(0.05, 0.95)}
    if name == "Pareto":
        return {"scale": u(0.01, 0.1), "alpha": u(0.5, 5)}
    if name == "Uniform":
        low = u(0.05, 0.4)
        return {"low": low, "high": low + u(0.2, 0.55)}
    if name in ("Categorical", "OneHotCategorical"):
        return {"probs": u(0.05, 1, (K,))}
    if name == "Dirichlet":
        return {"concentration": u(0.5, 4, (K,))}
    if name == "MultivariateNormal":
        a = rng.normal(size=batch + (K, K))
        return {"loc": rng.normal(size=batch + (K,)), "covariance_matrix": a @ np.swapaxes(a, -1, -2) + np.eye(K)}
    if name == "LowRankMultivariateNormal":
        return {"loc": rng.normal(size=batch + (K,)), "cov_factor": rng.normal(size=batch + (K, 2)), "cov_diag": u(0.5, 2, (K,))}
    raise KeyError(name)


def _pairs():
    for type_p, type_q in sorted(D.kl._KL_REGISTRY, key=lambda t: (t[0].__name__, t[1].__name__)):
        names = (type_p.__name__, type_q.__name__)
        if GENERIC & set(names):
            continue
        yield names


PAIRS = list(_pairs())


def test_every_registered_family_pair_is_walked():
    unknown = sorted({name for pair in PAIRS for name in pair} - set(FAMILY))
    assert unknown == [], f"torch registers pairs of families klcli lacks: {unknown}"
    assert len(PAIRS) >= 80


def _build(name: str, params: dict[str, np.ndarray], scalar_event: bool):
    """The klcli and torch distributions of the same parameters (a univariate batch gets a trailing event axis of 1)."""
    torch_dist = getattr(D, name)(**{k: torch.as_tensor(v) for k, v in params.items()})
    if scalar_event and name not in ("Categorical", "OneHotCategorical", "Dirichlet", "MultivariateNormal", "LowRankMultivariateNormal"):
        params = {k: v[..., None] for k, v in params.items()}  # klcli: a 1-D parameter is a product, so a batch is N x 1
    return FAMILIES[FAMILY[name]](**params), torch_dist


#: pairs where torch's float64 value is off by more than 1e-10 at some parameters: the reference is mpmath
TORCH_INACCURATE = {("ContinuousBernoulli", "ContinuousBernoulli")}


@pytest.mark.parametrize("batch", [(), (4,)], ids=["scalar", "batch4"])
@pytest.mark.parametrize("name_p, name_q", PAIRS, ids=[f"{p}-{q}" for p, q in PAIRS])
def test_klcli_matches_torch(name_p, name_q, batch):
    rng = np.random.default_rng(zlib.crc32(f"{name_p}-{name_q}-{batch}".encode()))
    p, torch_p = _build(name_p, _parameters(name_p, rng, batch), bool(batch))
    q, torch_q = _build(name_q, _parameters(name_q, rng, batch), bool(batch))
    expected = np.asarray(D.kl_divergence(torch_p, torch_q).double().numpy(), dtype=np.float64).reshape(batch)
    got = kl_values(*broadcast_pair(p, q)).reshape(batch)  # the batch rule, then the vectorised closed form
    infinite = np.isinf(expected)
    np.testing.assert_array_equal(np.isinf(got), infinite)
    if (name_p, name_q) in TORCH_INACCURATE:
        expected = np.array([_mpmath_continuous_bernoulli(p, q, i) for i in np.ndindex(*batch)]).reshape(batch)
    np.testing.assert_allclose(got[~infinite], expected[~infinite], rtol=1e-10, atol=1e-13)


def _mpmath_continuous_bernoulli(p, q, index) -> float:
    def log_norm(lam):
        return mpmath.log(mpmath.expm1(lam) / lam) if lam != 0 else mpmath.mpf(0)

    lam_p = mpmath.mpf(float(np.ravel(p.element(index).lam)[0])) if p.batch_shape else mpmath.mpf(float(p.lam))
    lam_q = mpmath.mpf(float(np.ravel(q.element(index).lam)[0])) if q.batch_shape else mpmath.mpf(float(q.lam))
    mean_p = mpmath.diff(log_norm, lam_p)
    return float(log_norm(lam_q) - log_norm(lam_p) - (lam_q - lam_p) * mean_p)


@pytest.mark.parametrize("probs_p, probs_q", [(0.4995, 0.5008), (0.5, 0.5009), (0.4991, 0.3)])
def test_continuous_bernoulli_near_one_half_is_accurate_where_torch_is_not(probs_p, probs_q):
    """torch's Taylor branch on [0.499, 0.501]: klcli agrees with mpmath to 1e-12, torch need not."""
    p, q = FAMILIES["continuousbernoulli"](probs_p), FAMILIES["continuousbernoulli"](probs_q)
    got = compare_distributions(p, q, engine="closed").values["kl_pq"]
    assert got == pytest.approx(_mpmath_continuous_bernoulli(p, q, ()), rel=1e-12)


# -- the infinite pairs of torch's tests, with every engine ----------------------------------------

INFINITE = [
    ("bernoulli(0)", "bernoulli(1)"),
    ("bernoulli(1)", "bernoulli(0)"),
    ("categorical([0.9, 0.1])", "categorical([1, 0])"),
    ("categorical([[0.9, 0.1], [0.9, 0.1]])", "categorical([1, 0])"),
    ("beta(1, 2)", "uniform(0.25, 1)"),
    ("beta(1, 2)", "uniform(0, 0.75)"),
    ("beta(1, 2)", "uniform(0.25, 0.75)"),
    ("beta(1, 2)", "pareto(1, 2)"),
    ("binomial(31, 0.7)", "binomial(30, 0.3)"),
    ("binomial([[3], [4]], [[0.4], [0.6]])", "binomial([[2], [3]], [[0.5], [0.8]])"),
    ("chi2(1)", "beta(2, 3)"),
    ("chi2(1)", "pareto(2, 3)"),
    ("chi2(1)", "uniform(-2, 3)"),
    ("exponential(1)", "beta(2, 3)"),
    ("exponential(1)", "pareto(2, 3)"),
    ("exponential(1)", "uniform(-2, 3)"),
    ("gamma(1, 2)", "beta(3, 4)"),
    ("gamma(1, 2)", "pareto(3, 4)"),
    ("gamma(1, 2)", "uniform(-3, 4)"),
    ("gumbel(-1, 2)", "beta(3, 4)"),
    ("gumbel(-1, 2)", "chi2(3)"),
    ("gumbel(-1, 2)", "exponential(3)"),
    ("gumbel(-1, 2)", "gamma(3, 4)"),
    ("gumbel(-1, 2)", "pareto(3, 4)"),
    ("gumbel(-1, 2)", "uniform(-3, 4)"),
    ("laplace(-1, 2)", "beta(3, 4)"),
    ("laplace(-1, 2)", "chi2(3)"),
    ("laplace(-1, 2)", "exponential(3)"),
    ("laplace(-1, 2)", "gamma(3, 4)"),
    ("laplace(-1, 2)", "pareto(3, 4)"),
    ("laplace(-1, 2)", "uniform(-3, 4)"),
    ("normal(-1, 2)", "beta(3, 4)"),
    ("normal(-1, 2)", "chi2(3)"),
    ("normal(-1, 2)", "exponential(3)"),
    ("normal(-1, 2)", "gamma(3, 4)"),
    ("normal(-1, 2)", "pareto(3, 4)"),
    ("normal(-1, 2)", "uniform(-3, 4)"),
    ("pareto(2, 1)", "chi2(3)"),
    ("pareto(2, 1)", "exponential(3)"),
    ("pareto(2, 1)", "gamma(3, 4)"),
    ("pareto(1, 2)", "normal(-3, 4)"),
    ("pareto(1, 2)", "pareto(3, 4)"),
    ("poisson(2)", "bernoulli(0.5)"),
    ("poisson(2.3)", "binomial(10, 0.2)"),
    ("uniform(-1, 1)", "beta(2, 2)"),
    ("uniform(0, 2)", "beta(3, 4)"),
    ("uniform(-1, 2)", "beta(3, 4)"),
    ("uniform(-1, 2)", "chi2(3)"),
    ("uniform(-1, 2)", "exponential(3)"),
    ("uniform(-1, 2)", "gamma(3, 4)"),
    ("uniform(-1, 2)", "pareto(3, 4)"),
    ("continuousbernoulli(0.25)", "uniform(0.25, 1)"),
    ("continuousbernoulli(0.25)", "uniform(0, 0.75)"),
    ("continuousbernoulli(0.25)", "uniform(0.25, 0.75)"),
    ("continuousbernoulli(0.25)", "pareto(1, 2)"),
    ("exponential(1)", "continuousbernoulli(0.75)"),
    ("gamma(1, 2)", "continuousbernoulli(0.75)"),
    ("gumbel(-1, 2)", "continuousbernoulli(0.75)"),
    ("laplace(-1, 2)", "continuousbernoulli(0.75)"),
    ("normal(-1, 2)", "continuousbernoulli(0.75)"),
    ("uniform(-1, 1)", "continuousbernoulli(0.75)"),
    ("uniform(0, 2)", "continuousbernoulli(0.75)"),
    ("uniform(-1, 2)", "continuousbernoulli(0.75)"),
]

#: Discrete supports are not analysed before Monte Carlo (only continuous tails are): a Poisson's mass beyond
#: a binomial's last count, P(X > 10) = 1e-5, is rarely drawn, so --engine mc can miss that infinity.
DISCRETE_SUPPORT_UNDECIDED = pytest.mark.xfail(strict=True, reason="discrete supports are not analysed for --engine mc")


def _infinite_cases():
    for p, q in INFINITE:
        for engine in ("auto", "closed", "quad", "mc"):
            marks = [DISCRETE_SUPPORT_UNDECIDED] if engine == "mc" and (p, q) == ("poisson(2.3)", "binomial(10, 0.2)") else []
            yield pytest.param(p, q, engine, marks=marks, id=f"{p}-{q}-{engine}")


def test_the_infinite_list_is_torch_s():
    for p, q in INFINITE:
        parse_spec(p), parse_spec(q)
    assert len(INFINITE) == 63


@pytest.mark.parametrize("p, q, engine", list(_infinite_cases()))
def test_every_infinite_pair_of_torch_is_infinite_with_every_engine(p, q, engine):
    if engine == "closed":  # KL(P‖Q) alone: --engine closed also needs the reverse pair, which may have no formula
        assert np.all(kl_values(*broadcast_pair(parse_spec(p), parse_spec(q))) == math.inf)
        return
    try:
        c = compare_distributions(parse_spec(p), parse_spec(q), engine=engine, samples=20_000, seed=1)
    except EngineUnavailable as reason:
        if engine == "quad" and "multivariate" in str(reason):
            pytest.skip(str(reason))
        raise
    assert np.all(np.asarray(c.values["kl_pq"]) == math.inf), c.values["kl_pq"]
