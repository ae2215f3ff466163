"""The kNN estimator against closed-form Gaussian divergences."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import integrate, stats
from scipy.spatial import cKDTree

from klcli.knn import knn_divergences, neighbour_terms
from klcli.samples import SampleSet, compare_samples


def gaussian_kl(mu0, cov0, mu1, cov1) -> float:
    """KL(N(mu0, cov0) ‖ N(mu1, cov1)) = ½[tr(Σ1⁻¹Σ0) + Δᵀ Σ1⁻¹ Δ − d + ln(det Σ1 / det Σ0)]."""
    mu0, mu1 = np.atleast_1d(mu0), np.atleast_1d(mu1)
    cov0, cov1 = np.atleast_2d(cov0), np.atleast_2d(cov1)
    inv1 = np.linalg.inv(cov1)
    delta = mu1 - mu0
    logdet = np.linalg.slogdet(cov1)[1] - np.linalg.slogdet(cov0)[1]
    return 0.5 * float(np.trace(inv1 @ cov0) + delta @ inv1 @ delta - len(mu0) + logdet)


def draw(rng, mu, cov, n):
    return rng.multivariate_normal(np.atleast_1d(mu), np.atleast_2d(cov), n)


def errors(case, n, seeds):
    """Absolute errors of kl_pq and kl_qp over several seeds."""
    mu0, cov0, mu1, cov1 = case
    true = gaussian_kl(mu0, cov0, mu1, cov1), gaussian_kl(mu1, cov1, mu0, cov0)
    out = []
    for seed in seeds:
        rng = np.random.default_rng(seed)
        c = compare_samples(SampleSet(draw(rng, mu0, cov0, n), "p"), SampleSet(draw(rng, mu1, cov1, n), "q"), estimator="knn", bootstrap=0)
        out.append([c.values["kl_pq"] - true[0], c.values["kl_qp"] - true[1]])
    return np.abs(out)


CASES = {
    "1d-shift": (0.0, 1.0, 1.0, 1.0),  # KL = 0.5 both ways
    "1d-scale": (0.0, 1.0, 0.5, 2.0),
    "2d-correlated": ([0.0, 0.0], np.eye(2), [0.5, -0.3], [[1.0, 0.5], [0.5, 1.5]]),
}


@pytest.mark.parametrize("name", CASES)
def test_low_dimensional_error_shrinks_with_n(name):
    small = errors(CASES[name], 300, range(4)).mean()
    large = errors(CASES[name], 20_000, range(4))
    assert large.mean() < small
    assert large.max() < 0.05


@pytest.mark.slow
def test_ten_dimensions_close_and_tighter_with_n():
    # the single-order kNN estimator is known to be biased low in 10-D at moderate n (about -0.1 here)
    mu1 = np.full(10, 0.8 / math.sqrt(10))
    case = (np.zeros(10), np.eye(10), mu1, np.eye(10))  # KL = |mu1|² / 2 = 0.32
    small = errors(case, 400, range(3))
    large = errors(case, 6000, range(3))
    assert large.mean() < small.mean()
    assert large.max() < 0.12


def test_same_distribution_gives_about_zero():
    rng = np.random.default_rng(7)
    p, q = SampleSet(rng.normal(size=(5000, 2)), "p"), SampleSet(rng.normal(size=(5000, 2)), "q")
    c = compare_samples(p, q, estimator="knn", bootstrap=0)
    assert c.values["kl_pq"] < 0.02 and c.values["kl_qp"] < 0.02
    assert 0 <= c.values["js"] < 0.01


def gaussian_js_1d(mu1, s1) -> float:
    """JS(N(0,1), N(mu1, s1²)) by quadrature."""
    p, q = stats.norm(0, 1), stats.norm(mu1, s1)

    def integrand(t):
        lp, lq = p.logpdf(t), q.logpdf(t)
        lm = np.logaddexp(lp, lq) - math.log(2)
        return 0.5 * (math.exp(lp) * (lp - lm) + math.exp(lq) * (lq - lm))

    return integrate.quad(integrand, -30, 30, limit=200)[0]


@pytest.mark.parametrize(("mu1", "s1", "n_q"), [(1.0, 1.0, 20_000), (0.5, 2.0, 8_000), (4.0, 1.0, 20_000)])
def test_js_against_quadrature(mu1, s1, n_q):
    rng = np.random.default_rng(3)
    p = SampleSet(rng.normal(0, 1, (20_000, 1)), "p")
    q = SampleSet(rng.normal(mu1, s1, (n_q, 1)), "q")
    assert compare_samples(p, q, estimator="knn", bootstrap=0).values["js"] == pytest.approx(gaussian_js_1d(mu1, s1), abs=0.01)


def test_js_bounded_for_disjoint_supports():
    rng = np.random.default_rng(4)
    p, q = SampleSet(rng.uniform(0, 1, (2000, 2)), "p"), SampleSet(rng.uniform(5, 6, (2000, 2)), "q")
    js = compare_samples(p, q, bootstrap=0).values["js"]
    assert math.log(2) - 0.01 < js <= math.log(2)


def test_rounded_data_gives_finite_values_close_to_unrounded():
    rng = np.random.default_rng(5)
    x, y = rng.normal(0, 1, (4000, 2)), rng.normal(0.5, 1, (4000, 2))
    exact = compare_samples(SampleSet(x, "p"), SampleSet(y, "q"), estimator="knn", bootstrap=0)
    rounded = SampleSet(np.round(x, 1), "p"), SampleSet(np.round(y, 1), "q")  # heavy ties
    c = compare_samples(*rounded, estimator="knn-ensemble", bootstrap=0)
    assert c.method["kl_pq"] == "knn" and any("used knn instead" in note for note in c.notes)
    assert all(math.isfinite(v) for v in c.values.values())
    assert c.info["ties"] > 0
    assert any("duplicate" in note for note in c.notes)
    for key in ("kl_pq", "kl_qp", "js"):
        assert c.values[key] == pytest.approx(exact.values[key], abs=0.03)


def test_repeated_points_stay_finite():
    x = np.repeat(np.arange(60.0).reshape(-1, 1) * 0.37, 5, axis=0)  # 1-D, not integers: kNN route
    c = compare_samples(SampleSet(x, "p"), SampleSet(x[::-1] + 0.1, "q"), estimator="knn-ensemble", bootstrap=0)
    assert c.method["kl_pq"] == "knn"
    assert all(math.isfinite(v) for v in c.values.values())


def test_neighbour_terms_uses_next_distinct_distance():
    x = np.array([[0.0], [0.0], [0.0], [2.0], [5.0]])
    t = neighbour_terms(cKDTree(x), x, 1, True)
    np.testing.assert_allclose(np.exp(t.log_dist), [2, 2, 2, 2, 3])
    assert t.order.tolist() == [3, 3, 3, 3, 1]  # others within the radius
    assert t.ties == 3
    # points outside the tree: coincident tree points all count
    y = np.array([[0.0], [1.0]])
    t = neighbour_terms(cKDTree(x), y, 2, False)
    np.testing.assert_allclose(np.exp(t.log_dist), [2, 1])
    assert t.order.tolist() == [4, 4]


def test_matches_brute_force_formula():
    rng = np.random.default_rng(8)
    x, y = rng.normal(size=(300, 3)), rng.normal(0.3, 1.2, (200, 3))
    k, d, n, m = 3, 3, 300, 200
    dxx = np.sort(np.linalg.norm(x[:, None] - x[None], axis=-1), axis=1)[:, k]  # column 0 is self
    dxy = np.sort(np.linalg.norm(x[:, None] - y[None], axis=-1), axis=1)[:, k - 1]
    expected = d * np.mean(np.log(dxy / dxx)) + math.log(m / (n - 1))
    assert knn_divergences(x, y, k, js=False)[0]["kl_pq"] == pytest.approx(expected, rel=1e-12)


def test_standardisation_makes_units_irrelevant():
    rng = np.random.default_rng(9)
    x, y = rng.normal(size=(1000, 2)), rng.normal(0.5, 1, (1000, 2))
    units = np.array([1000.0, 0.001])
    a = compare_samples(SampleSet(x, "p"), SampleSet(y, "q"), estimator="knn", bootstrap=0)
    b = compare_samples(SampleSet(x * units, "p"), SampleSet(y * units, "q"), estimator="knn", bootstrap=0)
    raw = compare_samples(SampleSet(x * units, "p"), SampleSet(y * units, "q"), estimator="knn", bootstrap=0, standardize=False)
    for key in ("kl_pq", "kl_qp", "js"):
        assert b.values[key] == pytest.approx(a.values[key], rel=1e-9)
    assert abs(raw.values["kl_pq"] - 0.25) > abs(a.values["kl_pq"] - 0.25)


def test_bootstrap_standard_error_is_roughly_calibrated():
    def pair(rng, n=1000):
        return SampleSet(rng.normal(size=(n, 2)), "p"), SampleSet(rng.normal(0.5, 1.0, (n, 2)), "q")

    rng = np.random.default_rng(10)
    spread = np.std([compare_samples(*pair(rng), estimator="knn", bootstrap=0).values["kl_pq"] for _ in range(40)], ddof=1)
    c = compare_samples(*pair(rng), estimator="knn", bootstrap=30, seed=1)
    assert 0.6 * spread < c.stderr["kl_pq"] < 2.0 * spread
    assert set(c.stderr) >= {"kl_pq", "kl_qp", "symmetric_kl", "js", "js_distance"}
