"""Batches of diagonal Gaussians (VAE posteriors) against a prior: variance/logvar, per-dimension KL,
the pooled Monte Carlo of JS over a batch."""

from __future__ import annotations

import math

import mpmath
import numpy as np
import pytest
from scipy import integrate, stats

from klcli.errors import InputError, UsageError
from klcli.families.continuous import Normal
from klcli.parametric import compare_distributions
from klcli.parametric_batch import per_dimension
from klcli.specs import parse_spec

mpmath.mp.dps = 50


def kl_normal_mp(m1, s1, m2, s2) -> mpmath.mpf:
    m1, s1, m2, s2 = (mpmath.mpf(float(v)) for v in (m1, s1, m2, s2))
    return mpmath.log(s2 / s1) + (s1**2 + (m1 - m2) ** 2) / (2 * s2**2) - mpmath.mpf(1) / 2


def test_variance_and_logvar_give_the_same_normal_as_scale():
    assert Normal(1.0, variance=4.0).scale == pytest.approx(2.0, rel=1e-15)
    assert Normal(1.0, logvar=math.log(9.0)).scale == pytest.approx(3.0, rel=1e-15)
    np.testing.assert_array_equal(Normal(loc=[0, 1], variance=[1, 4]).scale, [1.0, 2.0])


@pytest.mark.parametrize(
    "spec, message",
    [
        ("normal(0, 1, variance=2)", "takes its spread once"),
        ("normal(0, scale=1, logvar=0)", "takes its spread once"),
        ("normal(0, variance=0)", r"variance of normal\(\.\.\.\) to be positive"),
        ("normal(0, logvar=2000)", "outside float64's positive range"),
        ("normal(0, logvar=nan)", "logvar"),
    ],
)
def test_bad_spreads_are_one_line_errors(spec, message):
    with pytest.raises(InputError, match=message):
        parse_spec(spec)


def test_a_batch_of_posteriors_against_the_prior_matches_mpmath():
    """Rows N x d summed over d, averaged over N (the VAE convention), incl. near-equal and tiny variances."""
    rng = np.random.default_rng(4)
    mu = np.vstack([rng.normal(size=(6, 5)), np.full((1, 5), 1e-9), np.zeros((1, 5))])
    logvar = np.vstack([rng.normal(size=(6, 5)), np.full((1, 5), 1e-9), np.full((1, 5), -60.0)])
    p = Normal(loc=mu, logvar=logvar)
    c = compare_distributions(p, parse_spec("normal(0, 1)"), engine="closed", reduction="none")
    sigma = np.exp(logvar / 2)
    for row in range(mu.shape[0]):
        truth = sum(kl_normal_mp(mu[row, j], sigma[row, j], 0, 1) for j in range(5))
        assert float(abs(c.values["kl_pq"][row] - truth) / truth) < 1e-12, row
    batchmean = compare_distributions(p, parse_spec("normal(0, 1)"), engine="closed")
    assert batchmean.values["kl_pq"] == pytest.approx(float(np.mean(c.values["kl_pq"])), rel=1e-14)


def test_per_dimension_shows_collapsed_dimensions():
    rng = np.random.default_rng(0)
    mu = rng.normal(size=(500, 4)) * [1.0, 0.5, 0.0, 0.0]
    logvar = np.log([0.2, 0.5, 1.0, 1.0]) + 0 * mu
    means = per_dimension(Normal(loc=mu, logvar=logvar), parse_spec("normal(0, 1)"))
    expected = np.mean(0.5 * (np.exp(logvar) + mu**2 - 1 - logvar), axis=0)
    np.testing.assert_allclose(means["kl_pq"], expected, rtol=1e-12, atol=1e-300)
    assert means["kl_pq"][2] == 0 and means["kl_pq"][3] == 0 and means["kl_qp"].shape == (4,)


def test_per_dimension_needs_products_of_scalar_families():
    with pytest.raises(UsageError, match="products of scalar families"):
        per_dimension(
            parse_spec("mvn(loc=[0, 0], covariance_matrix=[[1, 0], [0, 1]])"), parse_spec("mvn(loc=[1, 0], covariance_matrix=[[1, 0], [0, 1]])")
        )


def js_normal_quad(m1, s1, m2, s2) -> float:
    p, q = stats.norm(m1, s1), stats.norm(m2, s2)

    def integrand(x):
        a, b = p.logpdf(x), q.logpdf(x)
        m = np.logaddexp(a, b) - math.log(2)
        return 0.5 * np.exp(a) * (a - m) + 0.5 * np.exp(b) * (b - m)

    lo, hi = min(m1 - 40 * s1, m2 - 40 * s2), max(m1 + 40 * s1, m2 + 40 * s2)
    return integrate.quad(integrand, lo, hi, points=[m1, m2], limit=500, epsabs=1e-13)[0]


@pytest.mark.slow
def test_pooled_js_of_a_batch_covers_the_truth_over_seeds():
    rng = np.random.default_rng(8)
    mu, sigma = rng.normal(size=(100, 1)), np.exp(rng.normal(size=(100, 1)) * 0.5)
    truth = np.mean([js_normal_quad(mu[i, 0], sigma[i, 0], 0.0, 1.0) for i in range(100)])
    p, q = Normal(loc=mu, scale=sigma), parse_spec("normal(0, 1)")
    z = []
    for seed in range(200):
        c = compare_distributions(p, q, samples=4000, seed=seed)
        assert c.method["js"] == "monte_carlo" and 0 <= c.values["js"] <= math.log(2)
        z.append((c.values["js"] - truth) / c.stderr["js"])
    z = np.abs(z)
    assert np.mean(z <= 2) >= 0.93 and z.max() <= 5


def test_pooled_js_sum_and_none():
    p, q = Normal(loc=np.zeros((100, 2)) + 0.5), parse_spec("normal(0, 1)")
    mean = compare_distributions(p, q, samples=2000, seed=1)
    total = compare_distributions(p, q, samples=2000, seed=1, reduction="sum")
    assert total.values["js"] == pytest.approx(100 * mean.values["js"], rel=1e-12)
    assert total.stderr["js"] == pytest.approx(100 * mean.stderr["js"], rel=1e-12)
    none = compare_distributions(p, q, samples=2000, seed=1, reduction="none")
    assert "js" not in none.values and any("js left out" in note for note in none.notes)


def test_cli_vae_posteriors_from_an_archive(cli, tmp_path):
    rng = np.random.default_rng(1)
    mu, logvar = rng.normal(size=(200, 6)) * [1, 1, 1, 0, 0, 0], rng.normal(size=(200, 6)) * 0.1 - [1, 1, 1, 0, 0, 0]
    np.savez(tmp_path / "post.npz", mu=mu, logvar=logvar)
    spec = f"normal(loc=@{tmp_path}/post.npz:mu, logvar=@{tmp_path}/post.npz:logvar)"
    result = cli("compare", spec, "normal(0, 1)", "--per-dimension", "--format", "json", "--base", "2")
    assert result.exit_code == 0, result.stderr
    record = result.json()
    assert record["active_dimensions"] == 3 and len(record["per_dimension"]["kl_pq"]) == 6
    assert sum(record["per_dimension"]["kl_pq"]) == pytest.approx(record["kl_pq"], rel=1e-12)
    assert record["method"]["kl_pq"] == "closed_form" and record["method"]["js"] == "monte_carlo"
    table = cli("compare", spec, "normal(0, 1)", "--per-dimension")
    assert "3 of 6 dimensions active" in table.stdout.replace("\n", " ")
    bad = cli("compare", spec, "normal(loc=[0, 0], scale=1)")
    assert bad.exit_code == 2 and "do not broadcast" in bad.stderr
