"""Pareto k̂ against ArviZ's PSIS on the same log-weights (references below from arviz 0.23.4)."""

from __future__ import annotations

import numpy as np
import pytest

from klcli.engines.psis import pareto_k


def pareto_khat(log_weights):
    """k̂ of the weights exp(log_weights), as the importance estimates use it."""
    log_weights = np.asarray(log_weights, dtype=float)
    return pareto_k(np.exp(log_weights - log_weights.max()))


#: ``arviz.psislw(log_weights)[1]`` for the inputs that :func:`cases` draws.
ARVIZ_KHAT = {
    "pareto0.5_1000": 1.572110978121971,
    "pareto0.5_10000": 2.064162165976190,
    "pareto1_1000": 0.788385018923127,
    "pareto1_10000": 0.997097751273426,
    "pareto2_1000": 0.697331381455088,
    "pareto2_10000": 0.482561086713174,
    "pareto3_1000": 0.360738514505203,
    "pareto3_10000": 0.376523473971034,
    "lognormal0.5": 0.156398617433687,
    "lognormal1": 0.394614451727383,
    "lognormal2": 0.649406984911062,
    "lognormal3": 1.039399058875401,
}


def cases() -> dict[str, np.ndarray]:
    rng = np.random.default_rng(11)
    out = {}
    for a in [0.5, 1, 2, 3]:
        for n in [1000, 10000]:
            out[f"pareto{a}_{n}"] = np.log(rng.pareto(a, size=n) + 1)
    for s in [0.5, 1, 2, 3]:
        out[f"lognormal{s}"] = s * rng.normal(size=5000)
    return out


@pytest.mark.parametrize("name, log_weights", list(cases().items()))
def test_khat_equals_arviz(name, log_weights):
    assert pareto_khat(log_weights) == pytest.approx(ARVIZ_KHAT[name], abs=1e-10)


def test_khat_recovers_the_tail_index():
    rng = np.random.default_rng(3)
    for alpha in (0.5, 1.0, 2.0):
        assert abs(pareto_khat(np.log(rng.pareto(alpha, size=200_000) + 1)) - 1 / alpha) < 0.1


def test_degenerate_inputs():
    assert pareto_khat(np.zeros(10)) is None  # too few draws for a tail
    assert pareto_khat(np.zeros(1000)) is None  # all weights equal: no tail
