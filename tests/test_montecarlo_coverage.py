"""Monte Carlo standard errors that mean what they say, over many seeds.

For each case of a corpus (heavy tails, separated mixtures, mvn, dirichlet, discrete), 200 seeds
of ``--engine mc``: at least 93% of all estimates lie within 2 reported standard errors of the
truth (closed form or quadrature), at least 90% in every case (with 200 seeds, the binomial noise
of a case's share is 1.5%), and none beyond 5. A value the engine flags as unreliable (Pareto
k̂ ≥ 0.7) is not held to its standard error; which values are flagged is pinned: those whose terms
have an infinite variance, or a pre-asymptotically heavy tail, and no other.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from klcli.engines import montecarlo
from klcli.engines.psis import UNRELIABLE
from klcli.parametric import compare_distributions
from klcli.specs import parse_spec as S

SEEDS = 200
SAMPLES = 4_000
SEPARATION = 10 * math.sqrt(2)

#: (P, Q, the spec pair that gives the truth by closed form or quadrature, or None for P, Q themselves)
CORPUS = [
    ("normal(0, 1)", "normal(1, 2)", None),
    ("normal(0, 1)", "studentt(3)", None),
    ("normal(0, 1)", "studentt(5, 0, 2)", None),
    ("laplace(0, 1)", "normal(0, 1.5)", None),
    ("gamma(2, 1)", "exponential(1)", None),
    ("beta(2, 3)", "beta(3, 2)", None),
    ("cauchy(0, 1)", "cauchy(1, 2)", None),
    ("lognormal(0, 1)", "gamma(2, 1)", None),
    ("normal(0, 1)", "logistic(0, 1)", None),
    ("gumbel(0, 1)", "normal(0, 1)", None),
    ("weibull(1, 2)", "gamma(2, 2)", None),
    ("halfnormal(1)", "exponential(1)", None),
    ("uniform(0, 1)", "beta(2, 2)", None),
    ("mixture([1, 1], [normal(-3, 1), normal(3, 1)])", "normal(0, 3)", None),
    ("mixture([1, 1], [normal(0, 1), normal(6, 1)])", "normal(0, 1)", None),
    ("mixture([1, 2, 1], [normal(-2, 1), normal(0, 0.5), laplace(3, 1)])", "mixture([1, 1], [normal(-1, 1), normal(2, 1)])", None),
    (
        "mixture([1, 1], [mvn([0, 0], [[1, 0], [0, 1]]), mvn([10, 10], [[1, 0], [0, 1]])])",
        "mvn([0, 0], [[1, 0], [0, 1]])",
        (f"mixture([1, 1], [normal(0, 1), normal({SEPARATION!r}, 1)])", "normal(0, 1)"),
    ),
    ("mvn([0, 0], [[1, 0.5], [0.5, 2]])", "mvn([1, 0], [[2, 0], [0, 1]])", None),
    ("dirichlet([1, 2, 3])", "dirichlet([2, 2, 2])", None),
    ("dirichlet([0.5, 0.5])", "dirichlet([2, 1])", None),
    ("poisson(3)", "geometric(0.3)", None),
    ("normal(0, 1)", "normal(0, 1)", None),
]


def _truth(p_text: str, q_text: str, reference) -> dict[str, float]:
    p, q = (S(t) for t in (reference or (p_text, q_text)))
    c = compare_distributions(p, q)
    return {key: c.values[key] for key in ("kl_pq", "kl_qp", "js") if key not in c.stderr}


#: values flagged in most runs: (case index, key) -> why
FLAGGED = {
    (1, "kl_qp"): "KL(studentt(3)‖normal): terms ~ x², tail index 1.5, infinite variance",
    (3, "kl_pq"): "laplace draws, terms ~ x²: stretched-exponential tail, heavy at 4,000 draws",
    (7, "kl_pq"): "lognormal draws, terms ~ x: a log-normal tail",
    (13, "kl_qp"): "terms pile up at a local maximum before the far tail: a conservative false alarm",
    (14, "kl_qp"): "a normal against a separated mixture: a few rare draws carry the variance",
    (15, "kl_qp"): "normal draws against a laplace component: rare draws carry the lower tail",
}


@pytest.mark.slow
def test_standard_errors_cover_the_truth():
    within, beyond = [], []
    for index, (p_text, q_text, reference) in enumerate(CORPUS):
        truth = _truth(p_text, q_text, reference)
        p, q = S(p_text), S(q_text)
        z = {key: [] for key in truth}
        flagged = {key: 0 for key in truth}
        for seed in range(SEEDS):
            result = montecarlo.estimate(p, q, samples=SAMPLES, seed=seed)
            for key, true_value in truth.items():
                if result.pareto_k.get(key, -math.inf) >= UNRELIABLE:
                    flagged[key] += 1
                    continue
                error, difference = result.stderr[key], result.values[key] - true_value
                z[key].append(abs(difference) / error if error > 0 else (0.0 if abs(difference) < 1e-12 else math.inf))
        for key, values in z.items():
            case = (index, p_text, q_text, key, truth[key])
            if (index, key) in FLAGGED:
                assert flagged[key] >= SEEDS // 3, (case, flagged[key])
                continue
            assert flagged[key] <= SEEDS // 10, (case, flagged[key])
            values = np.asarray(values)
            assert np.mean(values <= 2) >= 0.90, (case, np.mean(values <= 2))
            within.append(np.mean(values <= 2))
            beyond.append(values.max())
            assert values.max() <= 5, (case, values.max())
    assert len(within) >= 40 and np.mean(within) >= 0.93, np.mean(within)
