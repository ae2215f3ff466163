"""The torch path of the discrete divergences (--device) agrees with the numpy core.

CI has no GPU: the path is checked on torch's CPU device, which runs the same code.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from klcli import discrete
from tests.conftest import EXAMPLES, run_cli

torch = pytest.importorskip("torch")
from klcli.engines.discrete_torch import divergences as on_device  # noqa: E402

KEYS = ("kl_pq", "kl_qp", "js", "entropy_p", "entropy_q")


def normalised(x):
    x = np.asarray(x, dtype=np.float64)
    return x / x.sum(axis=-1, keepdims=True)


def cases():
    rng = np.random.default_rng(0)
    p = rng.dirichlet(np.ones(300), size=5)
    q = rng.dirichlet(np.ones(300), size=5)
    q[1, :7] = 0  # infinite KL(P‖Q) in row 1
    p[3, 10:20] = 0  # infinite KL(Q‖P) in row 3
    near = normalised(p[0] * (1 + 1e-7 * rng.standard_normal(300)))  # the series regime
    tiny = normalised([1.0, 1e-310, 0.5])  # a denormal bin
    return [
        (normalised(p), normalised(q)),
        (p[0], near),
        (tiny, normalised([1e-320, 1.0, 0.5])),
    ]


@pytest.mark.parametrize("p,q", cases())
def test_matches_the_numpy_core(p, q):
    expected = discrete.divergences(p, q)
    got = on_device(p, q, device="cpu")
    for key in KEYS:
        np.testing.assert_allclose(got[key], expected[key], rtol=1e-13, atol=0)
    for key in ("inf_pq", "inf_qp", "inf_pq_index", "inf_qp_index"):
        assert got[key] == expected[key], key


def test_logits_match_the_numpy_core():
    rng = np.random.default_rng(1)
    lp = discrete.log_softmax(rng.normal(0, 30, size=(8, 50)))
    lq = discrete.log_softmax(rng.normal(0, 30, size=(8, 50)))
    expected = discrete.divergences(np.exp(lp), np.exp(lq), log_p=lp, log_q=lq)
    got = on_device(np.exp(lp), np.exp(lq), device="cpu", log_p=lp, log_q=lq)
    for key in KEYS:
        np.testing.assert_allclose(got[key], expected[key], rtol=1e-12)
    assert all(math.isfinite(v) for v in got["kl_pq"])


def test_compare_with_device_names_its_backend_and_agrees():
    p, q = EXAMPLES / "batch_p.npy", EXAMPLES / "batch_q.npy"
    on_cpu = run_cli("compare", p, q, "--device", "cpu", "--reduction", "none", "-f", "json").json()
    plain = run_cli("compare", p, q, "--reduction", "none", "-f", "json").json()
    np.testing.assert_allclose(on_cpu["kl_pq"], plain["kl_pq"], rtol=1e-13)
    assert on_cpu["method"]["kl_pq"] == "exact" and on_cpu["backend"] == "torch:cpu"


def test_missing_cuda_is_a_clear_error():
    if torch.cuda.is_available():
        pytest.skip("a CUDA device is present")
    result = run_cli("compare", "0.2,0.8", "0.5,0.5", "--device", "cuda")
    assert result.exit_code == 2 and "no CUDA device" in result.stderr


def test_batch_with_device_matches_numpy():
    ref = EXAMPLES / "batch" / "reference.csv"
    daily = EXAMPLES / "batch" / "daily"
    on_cpu = run_cli("batch", "-r", ref, daily, "--device", "cpu", "-f", "json").json()
    plain = run_cli("batch", "-r", ref, daily, "-f", "json").json()
    assert [r["file"] for r in on_cpu] == [r["file"] for r in plain]
    for a, b in zip(on_cpu, plain):
        assert a["kl_pq"] == pytest.approx(b["kl_pq"], rel=1e-13) and a["js"] == pytest.approx(b["js"], rel=1e-13)
