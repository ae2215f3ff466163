"""Quadrature and Monte Carlo engines, and the routing of compare_distributions."""

from __future__ import annotations

import math
import sys

import mpmath
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from klcli.closed_form import kl_divergence
from klcli.engines import montecarlo, quadrature
from klcli.errors import EngineUnavailable, InputError, UsageError
from klcli.parametric import compare_distributions
from klcli.specs import parse_spec

S = parse_spec


def _mp_kl(log_p, log_q, points):
    mpmath.mp.dps = 30
    return float(mpmath.quad(lambda x: mpmath.exp(log_p(x)) * (log_p(x) - log_q(x)), points))


def test_quadrature_studentt_normal_matches_mpmath():
    def log_t(x, nu=3):
        return mpmath.loggamma((nu + 1) / 2) - mpmath.loggamma(nu / 2) - 0.5 * mpmath.log(nu * mpmath.pi) - (nu + 1) / 2 * mpmath.log(1 + x**2 / nu)

    def log_n(x):
        return -(x**2) / 2 - 0.5 * mpmath.log(2 * mpmath.pi)

    points = [-mpmath.inf, -10, 0, 10, mpmath.inf]
    assert quadrature.kl(S("normal(0, 1)"), S("studentt(3)")).value == pytest.approx(_mp_kl(log_n, log_t, points), rel=1e-9)
    assert quadrature.kl(S("studentt(3)"), S("normal(0, 1)")).value == pytest.approx(_mp_kl(log_t, log_n, points), rel=1e-9)


def test_quadrature_js_matches_mpmath():
    mpmath.mp.dps = 30
    log_p = lambda x: -(x**2) / 2 - 0.5 * mpmath.log(2 * mpmath.pi)
    log_q = lambda x: -mpmath.log(2) - abs(x - 1)
    log_m = lambda x: mpmath.log((mpmath.exp(log_p(x)) + mpmath.exp(log_q(x))) / 2)
    term = lambda a: lambda x: mpmath.exp(a(x)) * (a(x) - log_m(x))
    reference = float(0.5 * (mpmath.quad(term(log_p), [-mpmath.inf, 0, 1, mpmath.inf]) + mpmath.quad(term(log_q), [-mpmath.inf, 0, 1, mpmath.inf])))
    assert quadrature.js(S("normal(0, 1)"), S("laplace(1, 1)")).value == pytest.approx(reference, rel=1e-9)


@pytest.mark.parametrize(
    "p, q",
    [
        ("poisson(3)", "geometric(0.2)"),
        ("binomial(5, 0.3)", "binomial(12, 0.4)"),
        ("negativebinomial(2.5, 0.3)", "poisson(1)"),
        ("geometric(1e-4)", "geometric(2e-4)"),
        ("poisson(1e4)", "poisson(1.01e4)"),
    ],
)
def test_discrete_sums_agree_with_direct_terms(p, q):
    dp, dq = S(p), S(q)
    k = np.arange(0, 300_000)
    lp, lq = dp.log_prob(k.astype(float)), dq.log_prob(k.astype(float))
    mask = lp > -np.inf
    reference = math.fsum(np.exp(lp[mask]) * (lp[mask] - lq[mask]))
    assert quadrature.kl(dp, dq).value == pytest.approx(reference, rel=1e-9)


def test_quadrature_reports_infinite_and_divergent_kl():
    assert quadrature.kl(S("uniform(0, 2)"), S("uniform(0, 1)")).value == math.inf
    # a divergent tail is a failure of quadrature, never a verdict (klcli.tails decides infinity)
    with pytest.raises(quadrature.NotIntegrable, match="diverged"):
        quadrature.kl(S("cauchy(0, 1)"), S("normal(0, 1)"))
    assert quadrature.kl(S("poisson(2)"), S("binomial(3, 0.5)")).value == math.inf
    assert quadrature.js(S("uniform(0, 1)"), S("uniform(2, 3)")).value == pytest.approx(math.log(2))


def test_quadrature_is_accurate_for_nearly_equal_distributions():
    p, q = S("studentt(4, 0, 1)"), S("studentt(4, 1e-5, 1)")
    # KL ≈ ½ δ² I(loc) with Fisher information (ν + 1) / (ν + 3) for a unit-scale t
    assert quadrature.kl(p, q).value == pytest.approx(0.5 * 1e-10 * 5 / 7, rel=1e-4)


def test_quadrature_refuses_what_it_cannot_do():
    with pytest.raises(quadrature.NotIntegrable, match="multivariate"):
        quadrature.kl(S("mvn([0, 0], [[1, 0], [0, 1]])"), S("mvn([0, 0], [[2, 0], [0, 1]])"))
    with pytest.raises(quadrature.NotIntegrable, match="JS of vectors"):
        quadrature.js(S("normal([0, 1], 1)"), S("normal([0, 0], 1)"))


@pytest.mark.parametrize(
    "p, q",
    [
        ("normal(0, 1)", "normal(0.5, 1.5)"),
        ("mvn([0, 0], [[2, 0.5], [0.5, 1]])", "mvn([0.5, 0], [[1, 0], [0, 1]])"),
        ("gamma(2, 1)", "exponential(0.8)"),
    ],
)
def test_monte_carlo_is_within_four_standard_errors(p, q):
    dp, dq = S(p), S(q)
    result = montecarlo.estimate(dp, dq, samples=40_000, seed=11)
    assert abs(result.values["kl_pq"] - kl_divergence(dp, dq)) < 4 * result.stderr["kl_pq"]
    assert abs(result.values["kl_qp"] - kl_divergence(dq, dp)) < 4 * result.stderr["kl_qp"]
    assert all(0 < e < 0.05 for e in result.stderr.values())


def test_monte_carlo_js_and_mixtures_against_quadrature():
    p, q = S("mixture([1, 2], [normal(-1, 1), laplace(2, 0.5)])"), S("studentt(5, 0.5, 2)")
    result = montecarlo.estimate(p, q, samples=40_000, seed=3)
    for key, reference in (("kl_pq", quadrature.kl(p, q)), ("kl_qp", quadrature.kl(q, p)), ("js", quadrature.js(p, q))):
        assert abs(result.values[key] - reference.value) < 4 * result.stderr[key], key


def test_monte_carlo_is_reproducible_and_seeded():
    p, q = S("normal(0, 1)"), S("studentt(3)")
    first = montecarlo.estimate(p, q, samples=5_000, seed=7)
    again = montecarlo.estimate(p, q, samples=5_000, seed=7)
    other = montecarlo.estimate(p, q, samples=5_000, seed=8)
    assert first.values == again.values and first.stderr == again.stderr
    assert first.values != other.values
    fresh = montecarlo.estimate(p, q, samples=100, seed=None)
    assert isinstance(fresh.seed, int)
    assert montecarlo.estimate(p, q, samples=100, seed=fresh.seed).values == fresh.values


def test_monte_carlo_batches_do_not_change_the_estimator(monkeypatch):
    p, q = S("normal(0, 1)"), S("laplace(0, 1)")
    whole = montecarlo.estimate(p, q, samples=3_000, seed=2)
    monkeypatch.setattr(montecarlo, "BATCH_NUMBERS", 1000)
    batched = montecarlo.estimate(p, q, samples=3_000, seed=2)
    assert batched.values["kl_pq"] == pytest.approx(kl_divergence(p, q), abs=5 * batched.stderr["kl_pq"])
    assert whole.samples == batched.samples == 3_000


def test_monte_carlo_identical_distributions_have_zero_variance():
    result = montecarlo.estimate(S("gamma(2, 3)"), S("gamma(2, 3)"), samples=1000, seed=0)
    assert result.values["kl_pq"] == result.values["kl_qp"] == 0.0 and result.values["js"] < 1e-15
    assert all(e < 1e-12 for e in result.stderr.values())


def test_monte_carlo_finds_infinite_kl():
    result = montecarlo.estimate(S("normal(0, 1)"), S("uniform(-1, 1)"), samples=1000, seed=0)
    assert result.values["kl_pq"] == math.inf and result.stderr["kl_pq"] == 0.0
    assert math.isfinite(result.values["kl_qp"]) and 0 < result.values["js"] < math.log(2)


def test_torch_engine_matches_numpy_engine():
    pytest.importorskip("torch")
    p, q = S("mixture([1, 1], [normal(0, 1), gamma(2, 1)])"), S("studentt(4)")
    by_numpy = montecarlo.estimate(p, q, samples=4_000, seed=1)
    by_torch = montecarlo.estimate(p, q, samples=4_000, seed=1, device="cpu")
    assert by_torch.backend == "torch:cpu" and by_numpy.backend == "numpy"
    for key in by_numpy.values:
        assert by_torch.values[key] == pytest.approx(by_numpy.values[key], rel=1e-10)
    assert montecarlo.estimate(p, q, samples=100, seed=1, device="auto").backend.startswith("torch:")


def test_device_errors():
    torch = pytest.importorskip("torch")
    p, q = S("normal(0, 1)"), S("normal(1, 1)")
    if not torch.cuda.is_available():
        with pytest.raises(EngineUnavailable, match="no CUDA device is available to torch; use --device cpu"):
            montecarlo.estimate(p, q, samples=10, device="cuda")
        with pytest.raises(EngineUnavailable, match="no CUDA device"):
            montecarlo.estimate(p, q, samples=10, device="cuda:1")
    with pytest.raises(EngineUnavailable, match="mps"):
        montecarlo.estimate(p, q, samples=10, device="mps")
    with pytest.raises(UsageError, match="`--device` must be auto, cpu, cuda, cuda:N or mps, not 'gpu'"):
        montecarlo.estimate(p, q, samples=10, device="gpu")


def test_missing_torch_is_reported(monkeypatch):
    monkeypatch.setitem(sys.modules, "torch", None)
    with pytest.raises(EngineUnavailable, match="needs torch, which is not installed"):
        montecarlo.estimate(S("normal(0, 1)"), S("normal(1, 1)"), samples=10, device="cpu")


# -- routing -----------------------------------------------------------------


def test_auto_takes_the_most_accurate_engine_per_value():
    c = compare_distributions(S("normal(0, 1)"), S("normal(1, 2)"))
    assert c.method["kl_pq"] == c.method["kl_qp"] == "closed_form" and c.method["js"] == "quadrature"
    assert c.values["kl_pq"] == pytest.approx(0.4431471805599453, rel=1e-15)
    assert c.stderr == {} and "samples" not in c.info
    assert c.values["entropy_p"] == pytest.approx(0.5 * math.log(2 * math.pi * math.e))

    c = compare_distributions(S("normal(0, 1)"), S("studentt(df=3)"))
    assert c.method["kl_pq"] == "quadrature"
    assert "no closed form for normal‖studentt: KL by quadrature" in c.notes

    c = compare_distributions(S("mvn([0, 0], [[2, 1], [1, 2]])"), S("mvn([1, 0], [[1, 0], [0, 1]])"), samples=20_000, seed=4)
    assert c.method["kl_pq"] == "closed_form" and c.method["js"] == "monte_carlo"
    assert set(c.stderr) == {"js", "js_distance"} and c.info["samples"] == 20_000 and c.info["seed"] == 4

    c = compare_distributions(S("mvn([0, 0], [[1, 0], [0, 1]])"), S("normal([0, 0], [1, 2])"), samples=10_000)
    assert {c.method[k] for k in ("kl_pq", "kl_qp", "js")} == {"monte_carlo"}
    assert any("KL by Monte Carlo" in note for note in c.notes)


def test_support_mismatch_is_infinite_whatever_the_family():
    c = compare_distributions(S("normal(0, 1)"), S("lognormal(0, 1)"))
    assert c.values["kl_pq"] == math.inf and c.method["kl_pq"] == "closed_form"
    assert math.isfinite(c.values["kl_qp"]) and 0 < c.values["js"] < math.log(2)


def test_forced_engines():
    p, q = S("normal(0, 1)"), S("normal(1, 2)")
    closed = compare_distributions(p, q, engine="closed")
    assert "js" not in closed.values and any("js has no closed form" in n for n in closed.notes)
    quad = compare_distributions(p, q, engine="quad")
    assert quad.method["kl_pq"] == "quadrature" and quad.values["kl_pq"] == pytest.approx(closed.values["kl_pq"], rel=1e-10)
    mc = compare_distributions(p, q, engine="mc", samples=20_000, seed=1)
    assert {mc.method[k] for k in ("kl_pq", "kl_qp", "js")} == {"monte_carlo"}
    assert abs(mc.values["kl_pq"] - closed.values["kl_pq"]) < 4 * mc.stderr["kl_pq"]
    assert {k: mc.info[k] for k in ("samples", "seed", "backend")} == {"samples": 20_000, "seed": 1, "backend": "numpy"}
    assert set(mc.info["pareto_k"]) == {"kl_pq", "kl_qp"} and "unreliable" not in mc.info
    on_torch = compare_distributions(p, q, engine="mc", samples=2_000, seed=1, device="cpu") if _has_torch() else None
    if on_torch is not None:
        assert on_torch.info["backend"] == "torch:cpu"


def _has_torch():
    try:
        import torch  # noqa: F401
    except ImportError:
        return False
    return True


@pytest.mark.parametrize(
    "p, q, kwargs, error, message",
    [
        (
            "normal(0, 1)",
            "studentt(3)",
            {"engine": "closed"},
            EngineUnavailable,
            "--engine closed: no closed form for normal‖studentt in either direction; use --engine quad, mc or auto",
        ),
        (
            "mvn([0, 0], [[1, 0], [0, 1]])",
            "mvn([0, 0], [[2, 0], [0, 1]])",
            {"engine": "quad"},
            EngineUnavailable,
            "--engine quad cannot compute KL of mvn‖mvn: mvn is multivariate; use --engine mc or auto",
        ),
        (
            "normal([0, 0], 1)",
            "normal([0, 1], 1)",
            {"engine": "quad"},
            EngineUnavailable,
            "--engine quad cannot compute JS of normal‖normal: JS of vectors does not split into 1-D integrals",
        ),
        ("normal(0, 1)", "normal(0, 1)", {"engine": "exact"}, EngineUnavailable, "--engine exact is for histograms"),
        ("normal(0, 1)", "normal(0, 1)", {"engine": "fast"}, UsageError, "`--engine` must be one of auto, closed, quad, mc, not 'fast'"),
        ("normal(0, 1)", "normal(0, 1)", {"samples": 0}, UsageError, "`--samples` must be an integer of at least 2, not 0"),
        ("normal(0, 1)", "normal(0, 1)", {"seed": -1}, UsageError, "`--seed` must be a non-negative integer, not -1"),
        ("normal(0, 1)", "normal(0, 1)", {"device": "gpu"}, UsageError, "`--device` must be auto, cpu, cuda, cuda:N or mps, not 'gpu'"),
        ("normal(0, 1)", "poisson(1)", {}, InputError, "cannot compare the discrete poisson(rate=1) with the continuous normal(loc=0, scale=1)"),
        (
            "normal([0, 1, 2], 1)",
            "normal([0, 1], 1)",
            {},
            InputError,
            "the shapes of P and Q do not broadcast: normal(...) has 3 dimensions but normal(...) has 2 dimensions",
        ),
        (
            "mvn([0, 0], [[1, 0], [0, 1]])",
            "normal([0, 1, 2], 1)",
            {},
            InputError,
            "P and Q differ in dimension: mvn(loc=[0, 0], covariance_matrix=[[1, 0], [0, 1]]) has 2 dimensions but normal(loc=[0, 1, 2], scale=1) has 3 dimensions",
        ),
    ],
)
def test_routing_errors(p, q, kwargs, error, message):
    with pytest.raises(error) as caught:
        compare_distributions(S(p), S(q), **kwargs)
    assert message in str(caught.value)


def test_discrete_pairs_route_to_closed_form_and_sums():
    c = compare_distributions(S("binomial(5, 0.3)"), S("binomial(8, 0.3)"))
    assert c.method["kl_pq"] == "quadrature" and c.method["kl_qp"] == "closed_form"
    assert c.values["kl_qp"] == math.inf
    assert 0 < c.values["js"] < math.log(2)
    c = compare_distributions(S("categorical([0.1, 0.9])"), S("categorical([0.5, 0.5])"))
    assert c.values["js"] == pytest.approx(
        0.5 * (0.1 * math.log(0.1 / 0.3) + 0.9 * math.log(0.9 / 0.7)) + 0.5 * (0.5 * math.log(0.5 / 0.3) + 0.5 * math.log(0.5 / 0.7)),
        rel=1e-12,
    )


def test_monte_carlo_never_returns_nan_for_draws_on_the_support_edge():
    # gamma(0.01) draws underflow to 0 and beta(0.1, 0.1) draws round onto 0 or 1
    for p, q in (("gamma(0.01, 1)", "weibull(1, 0.5)"), ("beta(0.1, 0.1)", "uniform(0, 1)")):
        result = montecarlo.estimate(S(p), S(q), samples=20_000, seed=0)
        assert all(math.isfinite(v) for v in result.values.values()), (p, result.values)
        assert all(math.isfinite(e) for e in result.stderr.values())


@pytest.mark.parametrize("p, q", [("gamma(1, 1)", "lognormal(0, 3)"), ("beta(0.3, 0.5)", "uniform(0, 1)"), ("gamma(0.3, 1)", "weibull(1, 0.5)")])
def test_quadrature_on_singular_or_heavy_tailed_pairs_agrees_with_monte_carlo(p, q):
    dp, dq = S(p), S(q)
    mc = montecarlo.estimate(dp, dq, samples=100_000, seed=9)
    assert abs(quadrature.kl(dp, dq).value - mc.values["kl_pq"]) < 4 * mc.stderr["kl_pq"]
    assert abs(quadrature.js(dp, dq).value - mc.values["js"]) < 4 * mc.stderr["js"]


def test_quadrature_refuses_an_inaccurate_integral(monkeypatch):
    monkeypatch.setattr(quadrature, "RELATIVE_TOLERANCE", 1e-20)
    with pytest.raises(quadrature.NotIntegrable, match="error estimate"):
        quadrature.kl(S("beta(0.1, 0.1)"), S("uniform(0, 1)"))


@settings(max_examples=10, deadline=None)
@given(
    loc=st.floats(-5, 5),
    scale=st.floats(0.1, 5),
    df=st.floats(1.5, 30),
    other_loc=st.floats(-5, 5),
    other_scale=st.floats(0.1, 5),
)
def test_divergence_properties(loc, scale, df, other_loc, other_scale):
    p = S(f"studentt({df!r}, {loc!r}, {scale!r})")
    q = S(f"logistic({other_loc!r}, {other_scale!r})")
    c = compare_distributions(p, q)
    assert c.values["kl_pq"] >= 0 and c.values["kl_qp"] >= 0
    assert 0 <= c.values["js"] <= math.log(2)
    swapped = compare_distributions(q, p)
    assert swapped.values["js"] == pytest.approx(c.values["js"], rel=1e-6, abs=1e-12)
    assert swapped.values["symmetric_kl"] == pytest.approx(c.values["symmetric_kl"], rel=1e-6)
    assert compare_distributions(q, q).values["kl_pq"] == pytest.approx(0.0, abs=1e-12)


def test_summation_budgets_instead_of_hangs():
    import time

    start = time.perf_counter()
    # poisson(1e16) looped for ever in its tail bound; binomial(1.9e8) summed 1.9e8 terms (40-60 s)
    huge = compare_distributions(S("poisson(1e16)"), S("poisson(1.1e16)"), samples=2_000)
    assert huge.method["js"] == "monte_carlo" and any("budget of 10,000,000" in n for n in huge.notes)
    wide = quadrature.js(S("binomial(190000000, 0.5)"), S("binomial(190000000, 0.5001)"))
    assert 0 < wide.value < math.log(2)
    assert time.perf_counter() - start < 10
    # the summation range starts where the left tail holds less than 1e-17
    assert quadrature.kl(S("poisson(1e6)"), S("poisson(1.001e6)")).value == pytest.approx(
        compare_distributions(S("poisson(1e6)"), S("poisson(1.001e6)"), engine="closed").values["kl_pq"], rel=1e-9
    )


def test_samples_above_the_cap_are_refused():
    with pytest.raises(UsageError, match="at most 1,000,000,000"):
        compare_distributions(S("normal(0, 1)"), S("studentt(3)"), samples=10**12)


def test_engine_closed_computes_the_directions_it_can():
    c = compare_distributions(S("binomial(5, 0.3)"), S("binomial(10, 0.3)"), engine="closed")
    assert "kl_pq" not in c.values and c.values["kl_qp"] == math.inf
    assert any(n.startswith("kl_pq is left out: binomial‖binomial with total_count of P below") for n in c.notes)


def test_fail_above_on_a_value_left_out_is_an_error(cli):
    result = cli("compare", "binomial(5, 0.3)", "binomial(10, 0.3)", "--engine", "closed", "--fail-above", "1")
    assert result.exit_code == 2 and "kl_pq was not computed with --engine closed" in result.stderr


def test_chi2_pairs_are_listed(cli):
    records = {r["family"]: r for r in cli("families", "--format", "json").json()["families"]}
    assert {"gamma", "exponential", "chi2"} <= set(records["chi2"]["closed_form_with"])
    assert cli("compare", "half-normal(2)", "halfnormal(1)").exit_code == 0
