"""Property tests of the laws divergences obey (STYLE.md)."""

from __future__ import annotations

import math

import numpy as np
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from klcli.discrete import compare_probabilities, divergences

weights = st.integers(2, 40).flatmap(
    lambda k: st.tuples(
        arrays(np.float64, k, elements=st.floats(0, 1e6, allow_subnormal=False)),
        arrays(np.float64, k, elements=st.floats(0, 1e6, allow_subnormal=False)),
    )
)
positive_weights = st.integers(2, 40).flatmap(
    lambda k: st.tuples(
        arrays(np.float64, k, elements=st.floats(1e-9, 1e6)),
        arrays(np.float64, k, elements=st.floats(1e-9, 1e6)),
    )
)


def norm(w):
    return w / w.sum()


def pair(ws):
    p, q = ws
    assume(p.sum() > 0 and q.sum() > 0)
    return norm(p), norm(q)


@settings(max_examples=200, deadline=None)
@given(weights)
def test_kl_is_non_negative_and_js_is_bounded(ws):
    p, q = pair(ws)
    d = divergences(p, q)
    assert d["kl_pq"] >= 0 and d["kl_qp"] >= 0
    assert 0 <= d["js"] <= math.log(2) * (1 + 1e-12)
    assert not any(np.isnan(d[k]) for k in ("kl_pq", "kl_qp", "js", "entropy_p", "entropy_q"))


@settings(max_examples=100, deadline=None)
@given(weights)
def test_divergence_from_itself_is_zero(ws):
    p, _ = pair(ws)
    d = divergences(p, p)
    assert d["kl_pq"] == 0 and d["kl_qp"] == 0 and d["js"] == 0


@settings(max_examples=150, deadline=None)
@given(weights)
def test_js_and_symmetric_kl_are_symmetric(ws):
    p, q = pair(ws)
    a, b = compare_probabilities(p, q).values, compare_probabilities(q, p).values
    assert math.isclose(a["js"], b["js"], rel_tol=1e-12, abs_tol=1e-300)
    assert a["symmetric_kl"] == b["symmetric_kl"] or math.isclose(a["symmetric_kl"], b["symmetric_kl"], rel_tol=1e-12)


@settings(max_examples=100, deadline=None)
@given(weights, st.randoms(use_true_random=False))
def test_permuting_bins_changes_nothing(ws, random):
    p, q = pair(ws)
    order = list(range(len(p)))
    random.shuffle(order)
    a, b = divergences(p, q), divergences(p[order], q[order])
    for key in ("kl_pq", "kl_qp", "js", "entropy_p"):
        assert a[key] == b[key] or math.isclose(a[key], b[key], rel_tol=1e-12, abs_tol=1e-300)


@settings(max_examples=100, deadline=None)
@given(positive_weights, st.floats(1e-3, 1e3))
def test_scaling_counts_changes_nothing(ws, scale):
    from klcli.compare import CompareOptions, compare_histograms
    from klcli.sources import Histogram

    p, q = ws
    plain = compare_histograms(Histogram(p, "p", "inline"), Histogram(q, "q", "inline"), CompareOptions())
    scaled = compare_histograms(Histogram(p * scale, "p", "inline"), Histogram(q, "q", "inline"), CompareOptions())
    for key in ("kl_pq", "kl_qp", "js"):
        assert math.isclose(plain.values[key], scaled.values[key], rel_tol=1e-9, abs_tol=1e-15)


@settings(max_examples=100, deadline=None)
@given(weights, st.sampled_from(["2", "10", "3.5"]))
def test_base_change_divides_by_log_base(ws, base):
    p, q = pair(ws)
    nats = compare_probabilities(p, q)
    other = nats.in_base(base)
    for key in ("kl_pq", "kl_qp", "js", "entropy_p", "cross_entropy_pq"):
        assert other.values[key] == nats.values[key] / math.log(float(base)) or math.isclose(
            other.values[key], nats.values[key] / math.log(float(base)), rel_tol=1e-15
        )
    assert math.isclose(other.values["js_distance"] ** 2, other.values["js"], rel_tol=1e-12, abs_tol=1e-300)


@settings(max_examples=150, deadline=None)
@given(positive_weights, st.data())
def test_merging_bins_never_increases_kl(ws, data):
    p, q = pair(ws)
    i = data.draw(st.integers(0, len(p) - 2))
    merge = lambda x: np.concatenate([x[:i], [x[i] + x[i + 1]], x[i + 2 :]])  # noqa: E731
    before, after = divergences(p, q), divergences(merge(p), merge(q))
    for key in ("kl_pq", "kl_qp", "js"):
        assert after[key] <= before[key] * (1 + 1e-12) + 1e-300


@settings(max_examples=150, deadline=None)
@given(weights)
def test_pinsker_inequality(ws):
    p, q = pair(ws)
    tv = 0.5 * np.abs(p - q).sum()
    assert divergences(p, q)["kl_pq"] >= 2 * tv**2 * (1 - 1e-12)


@settings(max_examples=150, deadline=None)
@given(positive_weights)
def test_agrees_with_scipy_rel_entr(ws):
    from scipy.special import rel_entr

    p, q = pair(ws)
    kl = divergences(p, q)["kl_pq"]
    # rel_entr sums terms of both signs; allow for its cancellation error
    assert math.isclose(kl, rel_entr(p, q).sum(), rel_tol=1e-7, abs_tol=1e-12)
