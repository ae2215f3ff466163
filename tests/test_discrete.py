"""The discrete core against 40-digit mpmath references, scipy and torch."""

from __future__ import annotations

import math

import mpmath as mp
import numpy as np
import pytest
from scipy.special import rel_entr

from klcli import discrete
from klcli.discrete import compare_probabilities, divergences

mp.mp.dps = 40


def reference(p, q):
    """KL both ways, JS and entropies at 40 digits (0·log 0 = 0).

    The float64 inputs are renormalised exactly first: their sums differ from 1
    by ~1e-16, which is 1e-4 of a KL of 1e-12 between nearly equal vectors.
    """
    P = [mp.mpf(float(x)) for x in p]
    Q = [mp.mpf(float(x)) for x in q]
    total_p, total_q = sum(P), sum(Q)
    P = [x / total_p for x in P]
    Q = [x / total_q for x in Q]

    def kl(a, b):
        total = mp.mpf(0)
        for x, y in zip(a, b):
            if x == 0:
                continue
            if y == 0:
                return mp.inf
            total += x * mp.log(x / y)
        return total

    M = [(x + y) / 2 for x, y in zip(P, Q)]
    entropy = lambda a: -sum(x * mp.log(x) for x in a if x > 0)  # noqa: E731
    return {
        "kl_pq": kl(P, Q),
        "kl_qp": kl(Q, P),
        "js": (kl(P, M) + kl(Q, M)) / 2,
        "entropy_p": entropy(P),
        "entropy_q": entropy(Q),
    }


def relative_error(value, ref) -> float:
    if ref == 0:
        return abs(value)
    return float(abs(mp.mpf(value) - ref) / abs(ref))


def normalised(x):
    x = np.asarray(x, dtype=np.float64)
    return x / x.sum()


@pytest.mark.parametrize("delta", [1e-3, 1e-6, 1e-9])
def test_nearly_identical_distributions_match_mpmath(delta):
    rng = np.random.default_rng(7)
    p = normalised(rng.random(2000))
    q = normalised(p * (1 + delta * rng.standard_normal(2000)))
    got = divergences(p, q)
    ref = reference(p, q)
    for key in ("kl_pq", "kl_qp", "js"):
        assert relative_error(got[key], ref[key]) <= 1e-9, key
    for key in ("entropy_p", "entropy_q"):
        assert relative_error(got[key], ref[key]) <= 1e-13, key


def test_nearly_identical_is_more_accurate_than_scipy():
    """The issue's yardstick: bins differing by 1e-6, where rel_entr sums lose digits."""
    rng = np.random.default_rng(3)
    p = normalised(rng.random(5000))
    q = normalised(p * (1 + 1e-6 * rng.standard_normal(5000)))
    ref = reference(p, q)["kl_pq"]
    ours = relative_error(divergences(p, q)["kl_pq"], ref)
    theirs = relative_error(rel_entr(p, q).sum(), ref)
    assert ours <= 1e-12 < theirs


@pytest.mark.parametrize("seed", range(5))
def test_generic_distributions_match_mpmath(seed):
    rng = np.random.default_rng(seed)
    k = int(rng.integers(2, 300))
    p = normalised(rng.random(k) ** 4)
    q = normalised(rng.random(k) ** 2)
    got, ref = divergences(p, q), reference(p, q)
    for key in ref:
        assert relative_error(got[key], ref[key]) <= 1e-13, key


def test_terms_are_continuous_across_the_series_threshold():
    """Bins just inside and just outside |t| = 1e-2 agree with mpmath."""
    base = np.full(400, 1 / 400)
    t = np.linspace(0.5e-2, 1.5e-2, 400) * np.where(np.arange(400) % 2, 1, -1)
    p = normalised(base * (1 + t))
    q = normalised(base * (1 - t))
    got, ref = divergences(p, q), reference(p, q)
    for key in ("kl_pq", "kl_qp", "js"):
        assert relative_error(got[key], ref[key]) <= 2e-15, key


@pytest.mark.parametrize("t", [0.0101, 0.02, 0.05, 0.2])
def test_direct_terms_just_outside_the_series_are_accurate(t):
    """|log(p/q)| and log(2·max/s) come from log1p of non-negative ratios: error ~eps/|t|, not eps/t²."""
    rng = np.random.default_rng(int(t * 1e4))
    base = normalised(rng.random(500))
    sign = np.where(rng.random(500) < 0.5, 1.0, -1.0)
    p, q = normalised(base * (1 + t * sign)), normalised(base * (1 - t * sign))
    got = divergences(p, q)
    swapped = divergences(q, p)
    ref = reference(p, q)
    for key in ("kl_pq", "kl_qp", "js"):
        assert relative_error(got[key], ref[key]) <= 2e-14, key
    assert relative_error(swapped["js"], ref["js"]) <= 2e-14


def test_zero_bins_follow_the_conventions():
    p = [0.5, 0.5, 0.0, 0.0]
    q = [0.25, 0.25, 0.5, 0.0]
    got = divergences(p, q)
    ref = reference(p, q)
    assert got["kl_pq"] == pytest.approx(float(ref["kl_pq"]), rel=1e-15)
    assert got["kl_qp"] == math.inf
    assert got["inf_qp"] == 1 and got["inf_qp_index"] == [2] and got["inf_pq"] == 0
    assert got["js"] == pytest.approx(float(ref["js"]), rel=1e-15)
    assert got["entropy_p"] == pytest.approx(math.log(2), rel=1e-15)


def test_disjoint_supports_give_infinite_kl_and_js_ln2():
    got = divergences([1.0, 0.0], [0.0, 1.0])
    assert got["kl_pq"] == got["kl_qp"] == math.inf
    assert got["js"] == pytest.approx(math.log(2), rel=1e-15)


def test_denormal_probabilities_stay_finite():
    p = normalised([1.0, 1e-310])
    q = normalised([1e-320, 1.0])
    got, ref = divergences(p, q), reference(p, q)
    for key in ("kl_pq", "kl_qp", "js"):
        assert np.isfinite(got[key])
        assert relative_error(got[key], ref[key]) <= 1e-12, key


def test_chunking_does_not_change_results(monkeypatch):
    rng = np.random.default_rng(11)
    p = rng.dirichlet(np.ones(1000), size=6)
    q = rng.dirichlet(np.ones(1000), size=6)
    q[2, :10] = 0
    q[2] /= q[2].sum()
    whole = divergences(p, q)
    monkeypatch.setattr(discrete, "CHUNK", 37)
    chunked = divergences(p, q)
    for key in ("kl_pq", "kl_qp", "js", "entropy_p", "entropy_q"):
        np.testing.assert_allclose(chunked[key], whole[key], rtol=1e-13)
    assert chunked["inf_pq"] == whole["inf_pq"] == 10
    assert chunked["inf_pq_index"] == whole["inf_pq_index"] == [2000 + i for i in range(10)]


def test_batches_equal_row_by_row():
    rng = np.random.default_rng(5)
    p = rng.dirichlet(np.ones(20), size=4)
    q = rng.dirichlet(np.ones(20), size=4)
    batch = divergences(p, q)
    for i in range(4):
        row = divergences(p[i], q[i])
        for key in ("kl_pq", "kl_qp", "js", "entropy_p", "entropy_q"):
            assert batch[key][i] == pytest.approx(row[key], rel=1e-14)


@pytest.mark.parametrize("reduction", ["batchmean", "sum", "none"])
def test_reductions(reduction):
    rng = np.random.default_rng(2)
    p = rng.dirichlet(np.ones(5), size=3)
    q = rng.dirichlet(np.ones(5), size=3)
    rows = divergences(p, q)["kl_pq"]
    value = compare_probabilities(p, q, reduction=reduction).values["kl_pq"]
    expected = {"batchmean": rows.mean(), "sum": rows.sum(), "none": rows}[reduction]
    np.testing.assert_allclose(value, expected, rtol=1e-15)


def test_matches_scipy_on_ordinary_inputs():
    from scipy.spatial.distance import jensenshannon
    from scipy.stats import entropy

    rng = np.random.default_rng(1)
    p, q = rng.dirichlet(np.ones(50)), rng.dirichlet(np.ones(50))
    c = compare_probabilities(p, q)
    assert c.values["kl_pq"] == pytest.approx(entropy(p, q), rel=1e-12)
    assert c.values["kl_qp"] == pytest.approx(entropy(q, p), rel=1e-12)
    assert c.values["js_distance"] == pytest.approx(jensenshannon(p, q), rel=1e-12)
    assert c.in_base("2").values["js_distance"] == pytest.approx(jensenshannon(p, q, base=2), rel=1e-12)
    assert c.values["cross_entropy_pq"] == pytest.approx(-(p * np.log(q)).sum(), rel=1e-12)


@pytest.mark.parametrize("temperature", [0.5, 1.0, 4.0])
def test_logits_match_torch_kl_div_batchmean(temperature):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(0)
    teacher = rng.normal(0, 3, size=(32, 100))
    student = teacher + rng.normal(0, 0.3, size=(32, 100))
    lp = discrete.log_softmax(teacher, temperature=temperature)
    lq = discrete.log_softmax(student, temperature=temperature)
    ours = compare_probabilities(np.exp(lp), np.exp(lq), log_p=lp, log_q=lq).values["kl_pq"]
    t_lp = torch.log_softmax(torch.tensor(teacher) / temperature, -1)
    t_lq = torch.log_softmax(torch.tensor(student) / temperature, -1)
    theirs = torch.nn.functional.kl_div(t_lq, t_lp, reduction="batchmean", log_target=True).item()
    assert ours == pytest.approx(theirs, rel=1e-12)


def test_logits_that_underflow_keep_finite_kl():
    lp = discrete.log_softmax(np.array([[0.0, -800.0, 5.0]]))
    lq = discrete.log_softmax(np.array([[0.0, 0.0, -900.0]]))
    c = compare_probabilities(np.exp(lp), np.exp(lq), log_p=lp, log_q=lq)
    p, q = np.exp(lp[0]), np.exp(lq[0])
    expected = float(sum(mp.mpf(pi) * (mp.mpf(a) - mp.mpf(b)) for pi, a, b in zip(p, lp[0], lq[0])))
    assert np.isfinite(c.values["kl_pq"]) and np.isfinite(c.values["kl_qp"])
    assert c.values["kl_pq"] == pytest.approx(expected, rel=1e-12)
    assert q[2] == 0 and c.values["kl_pq"] > 800


def test_smoothing_formula():
    p = np.array([0.0, 0.25, 0.75])
    np.testing.assert_allclose(discrete.smooth(p, 0.1), (p + 0.1) / 1.3, rtol=1e-15)
