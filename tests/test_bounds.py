"""Bounds on every path: KL >= 0, 0 <= JS <= ln 2 in the chosen base, --base > 1, NaN never printed."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from klcli.errors import KlcliError, NumericalError, UsageError
from klcli.parametric import compare_distributions
from klcli.result import Comparison, parse_base
from klcli.specs import parse_spec

from tests.conftest import run_cli

LN2 = math.log(2.0)


@pytest.mark.parametrize("base", ["0.5", "1", "0", "-2", "nan", "inf", "0.999"])
def test_base_must_exceed_one(base):
    with pytest.raises(UsageError, match="greater than 1"):
        parse_base(base)
    result = run_cli("compare", "0.2,0.8", "0.5,0.5", "--base", base)
    assert result.exit_code == 2 and "klcli: error: `--base` must be" in result.stderr


def test_bounds_are_enforced_in_one_place():
    c = Comparison.from_nats({"kl_pq": -1e-18, "kl_qp": 0.1, "js": 0.7}, method="monte_carlo")
    assert c.values["kl_pq"] == 0.0 and c.values["js"] == LN2 and c.values["js_distance"] == math.sqrt(LN2)
    assert c.in_base("2").values["js"] == pytest.approx(1.0, abs=1e-15) and c.in_base("2").values["js"] <= 1.0
    rows = Comparison.from_nats({"kl_pq": np.array([-1.0, 2.0]), "js": np.array([-0.1, 5.0])}, method="exact")
    assert rows.values["kl_pq"].tolist() == [0.0, 2.0] and rows.values["js"].tolist() == [0.0, LN2]
    with pytest.raises(NumericalError, match=r"kl_qp came out as NaN \(quadrature\)"):
        Comparison.from_nats({"kl_pq": 0.1, "kl_qp": math.nan}, method={"kl_pq": "exact", "kl_qp": "quadrature"})


def test_masked_logits_give_ln2():
    # s·b − q·a cancelled to 0 once |log p/q| > 1e16: JS was ln 2 / 2
    result = run_cli("compare", "--from", "logits", "--format", "json", "--", "0,-3.4e38", "-3.4e38,0")
    assert result.exit_code == 0
    assert json.loads(result.stdout)["js"] == pytest.approx(LN2, rel=1e-15)
    result = run_cli("compare", "--from", "logits", "--format", "json", "--", "0,-1e20,-3", "-1e20,0,-3")
    out = json.loads(result.stdout)
    # P = (1-e, 0, e), Q = (0, 1-e, e) up to e^-1e20: JS = ln 2 · (1 - e), e = e^-3 / (1 + e^-3)
    e = math.exp(-3) / (1 + math.exp(-3))
    assert out["js"] == pytest.approx(LN2 * (1 - e), rel=1e-14)


def test_extreme_scales_stay_in_bounds():
    c = compare_distributions(parse_spec("gamma(1, 1e-300)"), parse_spec("gumbel(1e300, 1)"), samples=2_000)
    assert 0 <= c.values["js"] <= LN2
    c = compare_distributions(parse_spec("normal(0, 1e-320)"), parse_spec("normal(0, 1)"), samples=2_000)
    assert c.values["js"] == pytest.approx(LN2) and c.values["js"] <= LN2


# -- property tests: random specs of every family, extreme parameters included ---------------

_SCALE = st.one_of(
    st.floats(-3, 3).map(lambda e: 10.0**e),
    st.floats(-300, 300).map(lambda e: 10.0**e),
)
_REAL = st.one_of(st.just(0.0), st.floats(-1e3, 1e3), st.floats(-300, 300).map(lambda e: 10.0**e), st.floats(-300, 300).map(lambda e: -(10.0**e)))
_PROB = st.one_of(st.floats(0, 1), st.sampled_from([0.0, 1.0, 1e-300, 1 - 1e-16]))


def _continuous_spec(draw) -> str:
    family = draw(
        st.sampled_from(
            [
                "normal",
                "lognormal",
                "laplace",
                "cauchy",
                "logistic",
                "gumbel",
                "halfnormal",
                "halfcauchy",
                "studentt",
                "exponential",
                "gamma",
                "chi2",
                "beta",
                "uniform",
                "pareto",
                "weibull",
                "vonmises",
            ]
        )
    )
    scale, scale2, loc = draw(_SCALE), draw(_SCALE), draw(_REAL)
    if family in ("normal", "lognormal", "laplace", "cauchy", "logistic", "gumbel"):
        return f"{family}({loc!r}, {scale!r})"
    if family in ("halfnormal", "halfcauchy", "exponential", "chi2"):
        return f"{family}({scale!r})"
    if family == "studentt":
        return f"studentt({scale!r}, {loc!r}, {scale2!r})"
    if family == "uniform":
        width = scale
        return f"uniform({loc!r}, {loc + width if loc + width > loc else loc + abs(loc) + 1!r})"
    if family == "vonmises":
        return f"vonmises({min(max(loc, -1e6), 1e6)!r}, {scale!r})"
    return f"{family}({scale!r}, {scale2!r})"


@st.composite
def continuous_pairs(draw):
    return _continuous_spec(draw), _continuous_spec(draw)


@st.composite
def discrete_pairs(draw):
    def one():
        family = draw(st.sampled_from(["bernoulli", "binomial", "geometric", "poisson", "categorical", "negativebinomial"]))
        p = draw(_PROB)
        if family == "bernoulli":
            return f"bernoulli({p!r})"
        if family == "binomial":
            return f"binomial({draw(st.integers(0, 1000))}, {p!r})"
        if family == "geometric":
            return f"geometric({max(p, 1e-3)!r})"
        if family == "negativebinomial":
            return f"negativebinomial({draw(st.floats(0.1, 100))!r}, {min(p, 0.99)!r})"
        if family == "poisson":
            return f"poisson({draw(st.floats(0, 1000))!r})"
        return f"categorical([{p!r}, {1 - p!r}, 0.5])"

    return one(), one()


def _check(p_text, q_text):
    p, q = parse_spec(p_text), parse_spec(q_text)
    if p.is_discrete != q.is_discrete:
        return
    try:
        c = compare_distributions(p, q, samples=500, seed=1)
    except KlcliError as error:
        assert "NaN" not in str(error), error  # an engine that cannot serve may say so; NaN may not escape
        return
    for key in ("kl_pq", "kl_qp", "symmetric_kl"):
        assert c.values.get(key, 0.0) >= 0.0, (key, c.values)
    assert 0.0 <= c.values["js"] <= LN2 and 0.0 <= c.values["js_distance"] <= math.sqrt(LN2)
    for value in list(c.values.values()) + list(c.stderr.values()):
        assert not math.isnan(value)
    bits = c.in_base("2")
    assert 0.0 <= bits.values["js"] <= 1.0


@pytest.mark.slow
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(continuous_pairs())
def test_every_continuous_family_stays_in_bounds(pair):
    _check(*pair)


@pytest.mark.slow
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(discrete_pairs())
def test_every_discrete_family_stays_in_bounds(pair):
    _check(*pair)


@st.composite
def multivariate_pairs(draw):
    def one():
        family = draw(st.sampled_from(["mvn", "dirichlet", "mixture"]))
        if family == "mvn":
            a, b = draw(_SCALE), draw(_SCALE)
            return f"mvn([{draw(_REAL)!r}, 0.0], [[{a!r}, 0.0], [0.0, {b!r}]])"
        if family == "dirichlet":
            return f"dirichlet([{draw(_SCALE)!r}, {draw(_SCALE)!r}])"
        return f"mixture([{draw(st.floats(0.01, 1))!r}, 1.0], [dirichlet([{draw(_SCALE)!r}, 1.0]), dirichlet([2.0, 2.0])])"

    return one(), one()


@pytest.mark.slow
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(multivariate_pairs())
def test_multivariate_families_and_mixtures_stay_in_bounds(pair):
    _check(*pair)
