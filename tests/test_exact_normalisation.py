"""Histograms are compared as normalised exactly: nearly equal inputs keep 1e-12 relative accuracy."""

from __future__ import annotations

import mpmath
import numpy as np
import pytest

from klcli.compare import CompareOptions, compare_sources
from klcli.renormalise import ExactNormalisation, exact_sums


@pytest.fixture(autouse=True)
def _fifty_digits():
    """mpmath at 50 digits for every test here, whatever other modules set."""
    with mpmath.workdps(50):
        yield


def _truth(w, v) -> float:
    """KL of the exactly normalised weights (rows of a batch averaged), at 50 digits."""
    w, v = np.atleast_2d(w), np.atleast_2d(v)
    w, v = np.broadcast_arrays(w, v)
    values = []
    for a, b in zip(w, v):
        A, B = [mpmath.mpf(float(x)) for x in a], [mpmath.mpf(float(x)) for x in b]
        sa, sb = mpmath.fsum(A), mpmath.fsum(B)
        values.append(mpmath.fsum((x / sa) * mpmath.log((x / sa) / (y / sb)) for x, y in zip(A, B) if x > 0))
    return float(mpmath.fsum(values) / len(values))


def test_scipy_gh_20710_holds_1e_12():
    """scipy's regression case: the plain quotients gave 2.1302379e-27 (7e-7 off)."""
    p, q = "0.48066098564791515,0.5193390143520848", "0.48066098564794774,0.5193390143520522"
    c = compare_sources(p, q)
    expected = _truth([0.48066098564791515, 0.5193390143520848], [0.48066098564794774, 0.5193390143520522])
    assert c.values["kl_pq"] == pytest.approx(expected, rel=1e-12)
    assert expected == pytest.approx(2.1302364e-27, rel=1e-7)


@pytest.mark.parametrize("seed", range(12))
def test_nearly_equal_weights_of_any_scale_hold_1e_12(seed, tmp_path):
    rng = np.random.default_rng(seed)
    k = int(rng.integers(2, 40))
    w = rng.random(k) * 10 ** rng.uniform(-3, 6)
    v = w * (1 + rng.normal(size=k) * 10 ** rng.uniform(-15, -9))
    np.save(tmp_path / "w.npy", w)
    np.save(tmp_path / "v.npy", v)
    got = compare_sources(str(tmp_path / "w.npy"), str(tmp_path / "v.npy")).values["kl_pq"]
    assert got == pytest.approx(_truth(w, v), rel=1e-12)


def test_batches_against_one_reference_and_labels_are_exact_too(tmp_path):
    rng = np.random.default_rng(7)
    reference = rng.random(6) * 3
    rows = reference * (1 + rng.normal(size=(4, 6)) * 1e-12)
    np.save(tmp_path / "rows.npy", rows)
    np.save(tmp_path / "ref.npy", reference)
    got = compare_sources(str(tmp_path / "rows.npy"), str(tmp_path / "ref.npy")).values["kl_pq"]
    assert got == pytest.approx(_truth(rows, reference), rel=1e-12)
    (tmp_path / "a.json").write_text('{"x": 0.3000000000001, "y": 0.7}')
    (tmp_path / "b.json").write_text('{"y": 0.7000000000002, "x": 0.3}')
    got = compare_sources(str(tmp_path / "a.json"), str(tmp_path / "b.json")).values["kl_pq"]
    assert got == pytest.approx(_truth([0.3000000000001, 0.7], [0.3, 0.7000000000002]), rel=1e-12)


def test_exact_sums_are_exact_to_eps_squared():
    rng = np.random.default_rng(1)
    x = rng.random((3, 1001)) * 10 ** rng.uniform(-5, 5, size=(3, 1001))
    hi, lo = exact_sums(x)
    for row, h, low in zip(x, hi, lo):
        exact = mpmath.fsum(mpmath.mpf(float(v)) for v in row)
        assert abs(mpmath.mpf(float(h)) + mpmath.mpf(float(low)) - exact) <= 1e-30 * exact


def test_lost_is_the_rounding_of_the_quotients():
    w, v = np.array([1.0, 2.0, 4.0]), np.array([3.0, 3.0, 1.0])
    p, q = w / w.sum(-1, keepdims=True), v / v.sum(-1, keepdims=True)
    exact = ExactNormalisation(w, v, p, q, w.sum(-1, keepdims=True), v.sum(-1, keepdims=True))
    lost = exact.lost(np.arange(3))
    for i in range(3):
        true_p = mpmath.mpf(w[i]) / 7 - mpmath.mpf(float(p[i]))
        true_q = mpmath.mpf(v[i]) / 7 - mpmath.mpf(float(q[i]))
        assert abs(lost[i] - float(true_p - true_q)) <= 1e-30


def test_smoothing_and_logits_are_unaffected():
    options = CompareOptions(smooth=1e-3)
    smoothed = compare_sources("0.2,0.8", "0.3,0.7", options).values["kl_pq"]
    p, q = (np.array([0.2, 0.8]) + 1e-3) / 1.002, (np.array([0.3, 0.7]) + 1e-3) / 1.002
    assert smoothed == pytest.approx(float(np.sum(p * np.log(p / q))), rel=1e-13)


def test_batch_files_are_renormalised_exactly_too(tmp_path):
    from klcli.batch import compare_batch

    reference = [0.48066098564794774, 0.5193390143520522]
    near = [0.48066098564791515, 0.5193390143520848]
    np.save(tmp_path / "ref.npy", np.array(reference))
    np.save(tmp_path / "one.npy", np.array(near))
    np.save(tmp_path / "rows.npy", np.array([near, [0.3, 0.7]]))
    options = CompareOptions(reduction="none")
    one, rows = compare_batch(str(tmp_path / "ref.npy"), [str(tmp_path / "one.npy"), str(tmp_path / "rows.npy")], options)
    expected = _truth(near, reference)
    assert one.comparison.values["kl_pq"] == pytest.approx(expected, rel=1e-12)
    assert rows.comparison.values["kl_pq"][0] == pytest.approx(expected, rel=1e-12)
