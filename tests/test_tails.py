"""Infinity decided by tails before any engine; the Monte Carlo tail diagnostic (Pareto k̂)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from klcli.engines import montecarlo
from klcli.engines.psis import pareto_k
from klcli.families.base import Tail
from klcli.parametric import compare_distributions
from klcli.specs import parse_spec as S
from klcli.tails import expectation_finite, kl_verdict

#: KL(P‖Q) = inf by tails (issue 9 item 1, issue 20 item 5), each once printed finite
INFINITE_BY_TAILS = [
    ("cauchy(0, 1)", "laplace(0, 1)"),
    ("studentt(2)", "normal(0, 1)"),
    ("halfcauchy(1)", "gamma(2, 1)"),
    ("logistic(0, 1)", "gumbel(0, 1)"),
    ("studentt(1)", "logistic(0, 1)"),
    ("pareto(scale=2, alpha=1)", "laplace(0, 1)"),
    ("pareto(scale=2, alpha=1)", "gumbel(0, 1)"),
    ("pareto(scale=2, alpha=1)", "logistic(0, 1)"),
    ("pareto(2, 1)", "exponential(3)"),
    ("laplace(0, 1)", "gumbel(0, 0.5)"),
    ("mixture([1, 1], [normal(0, 1), cauchy(0, 1)])", "normal(0, 1)"),
    ("studentt(df=[3, 2])", "normal(loc=[0, 0], scale=1)"),
]

#: finite although one side is heavy tailed; the reference value comes from quadrature
FINITE = [
    ("studentt(3)", "normal(0, 1)"),
    ("normal(0, 1)", "cauchy(0, 1)"),
    ("laplace(0, 1)", "gumbel(0, 2)"),
    ("gumbel(0, 1)", "gumbel(0, 3)"),
    ("lognormal(0, 1)", "halfcauchy(1)"),
]


@pytest.mark.parametrize("p, q", INFINITE_BY_TAILS)
@pytest.mark.parametrize("engine", ["auto", "quad", "mc"])
def test_infinite_by_tails_with_every_engine(p, q, engine):
    if engine == "quad":
        c = _quad_or_skip(p, q)
    else:
        c = compare_distributions(S(p), S(q), engine=engine, samples=2_000, seed=3)
    assert c.values["kl_pq"] == math.inf and c.method["kl_pq"] == "closed_form"
    assert any(n.startswith("kl_pq is infinite") for n in c.notes)
    assert "kl_pq" not in c.stderr


def _quad_or_skip(p, q):
    from klcli.errors import EngineUnavailable

    try:
        return compare_distributions(S(p), S(q), engine="quad")
    except EngineUnavailable as error:  # JS of vectors: KL decided before that
        assert "JS" in str(error)
        pytest.skip("JS of vectors has no quadrature")


@pytest.mark.parametrize("p, q", FINITE)
def test_finite_heavy_tails_are_left_to_the_engines(p, q):
    verdict = kl_verdict(S(p), S(q))
    assert verdict is not None and not verdict.infinite
    c = compare_distributions(S(p), S(q))
    assert math.isfinite(c.values["kl_pq"]) and c.method["kl_pq"] in ("closed_form", "quadrature")


def test_tail_table():
    # E_P|X|^beta is finite iff the polynomial index exceeds beta
    assert not expectation_finite(Tail.polynomial(2.0), Tail.gaussian(0.5))
    assert expectation_finite(Tail.polynomial(2.01), Tail.gaussian(0.5))
    assert expectation_finite(Tail.polynomial(0.1), Tail.polynomial(5.0))
    assert expectation_finite(Tail.polynomial(0.1), Tail.log_quadratic(0.5))
    # exponential moments against a doubly exponential tail
    assert not expectation_finite(Tail.exponential(1.0), Tail.doubly_exponential(1.0))
    assert expectation_finite(Tail.exponential(1.5), Tail.doubly_exponential(1.0))
    assert expectation_finite(Tail.gaussian(1e-9), Tail.doubly_exponential(1e9))
    assert not expectation_finite(Tail.stretched(0.5, 10.0), Tail.doubly_exponential(1.0))
    assert not expectation_finite(Tail.log_quadratic(1.0), Tail.doubly_exponential(1.0))
    assert expectation_finite(Tail.doubly_exponential(0.1), Tail.doubly_exponential(10.0))
    assert expectation_finite(Tail.bounded(), Tail.bounded())
    assert not expectation_finite(Tail.exponential(1.0), Tail.bounded())


def test_verdicts_agree_with_the_closed_forms():
    """Where a closed form exists, tails and closed form agree on infinity."""
    from klcli.closed_form import NoClosedForm, kl_divergence

    specs = [
        "normal(0, 1)",
        "laplace(0, 2)",
        "gumbel(1, 2)",
        "exponential(2)",
        "gamma(0.5, 2)",
        "beta(2, 3)",
        "uniform(0.2, 0.7)",
        "pareto(1, 0.5)",
        "pareto(1, 1.5)",
        "pareto(1, 2)",
        "pareto(1, 3)",
        "cauchy(0, 1)",
        "lognormal(0, 1)",
        "halfnormal(2)",
        "halfcauchy(1)",
        "weibull(1, 0.5)",
        "studentt(4)",
    ]
    checked = 0
    for a in specs:
        for b in specs:
            p, q = S(a), S(b)
            try:
                value = kl_divergence(p, q)
            except NoClosedForm:
                continue
            verdict = kl_verdict(p, q)
            assert verdict is not None and verdict.infinite == math.isinf(value), (a, b, value, verdict)
            checked += 1
    assert checked > 60


def test_undecided_families_return_none():
    assert kl_verdict(S("mvn([0, 0], [[1, 0], [0, 1]])"), S("mvn([0, 1], [[1, 0], [0, 1]])")) is None
    assert kl_verdict(S("poisson(3)"), S("geometric(0.2)")) is None


def test_pareto_k_tracks_the_tail_index():
    rng = np.random.default_rng(7)
    assert 0.85 < pareto_k(rng.pareto(1.0, 50_000)) < 1.25
    assert 0.35 < pareto_k(rng.pareto(2.0, 50_000)) < 0.7
    assert pareto_k(rng.exponential(size=50_000)) < 0.2
    assert pareto_k(rng.uniform(size=50_000)) < -0.5
    assert pareto_k(np.ones(100)) is None  # no tail at all
    assert pareto_k(np.arange(10.0)) is None  # too few draws


def test_monte_carlo_flags_heavy_tailed_terms():
    # KL(studentt(3)‖normal) is finite, but its terms have infinite variance
    c = compare_distributions(S("studentt(3)"), S("normal(0, 1)"), engine="mc", samples=20_000, seed=5)
    assert c.info["pareto_k"]["kl_pq"] >= 0.7 and c.info["unreliable"] == ["kl_pq"]
    assert any("cannot be trusted" in n for n in c.notes)
    # undecided (multivariate): a heavy tail reads as probably infinite
    p = S("mixture([1, 1], [mvn([0, 0], [[1, 0], [0, 1]]), mvn([0, 0], [[100, 0], [0, 100]])])")
    q = S("mvn([0, 0], [[1, 0], [0, 1]])")
    light = compare_distributions(q, p, engine="mc", samples=20_000, seed=5)
    assert "unreliable" not in light.info


def test_monte_carlo_never_reports_infinite_as_a_bare_number():
    for p, q in INFINITE_BY_TAILS[:5]:
        result = montecarlo.estimate(S(p), S(q), samples=20_000, seed=11, keys=("kl_pq",))
        assert result.pareto_k["kl_pq"] >= 0.7, (p, q, result.pareto_k)
