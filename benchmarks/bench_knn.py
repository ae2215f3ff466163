"""Time and accuracy of the kNN divergence estimator against references.

P = N(0, I_d), Q = N(μ, I_d) with |μ| = 1, so KL(P‖Q) = 0.5 nats exactly.
For each dimension and sample size (n points in each set) it runs:

* ``klcli``: :func:`klcli.sample_estimators.estimate_divergences` with
  ``estimator="knn"`` (k = 3, whitened, no cross-check) — it computes
  KL(P‖Q), KL(Q‖P) *and* JS, the references only KL(P‖Q);
* ``klcli 1-way``: the same code for KL(P‖Q) alone (two trees, two searches),
  the like-for-like timing against the references;
* ``brute``: the same estimator with all pairwise distances in numpy
  (only where n <= --brute-max, as it needs O(n²) time);
* ``universal-divergence``: ``universal_divergence.estimate`` with the same
  k, if that package is installed (a per-point Python loop).

klcli standardises the dimensions (pooled standard deviation), so its value
differs from the unscaled references in the last digits. A cell whose projected time (from the previous size) exceeds ``--budget``
seconds is skipped and says so. Run::

    PYTHONPATH=src python benchmarks/bench_knn.py
    PYTHONPATH=src python benchmarks/bench_knn.py --dims 2 --sizes 10000 100000
"""

from __future__ import annotations

import argparse
import math
import os
import time

import numpy as np


K = 3
TRUE_KL = 0.5


def brute_kl(x: np.ndarray, y: np.ndarray, k: int, chunk: int = 500) -> float:
    """KL(P‖Q) by the Wang et al. formula with exhaustive neighbour search."""
    n, d = x.shape
    m = len(y)
    logs = np.empty(n)
    for start in range(0, n, chunk):
        block = x[start : start + chunk]
        dxx = np.sqrt(((block[:, None, :] - x[None, :, :]) ** 2).sum(-1))
        dxy = np.sqrt(((block[:, None, :] - y[None, :, :]) ** 2).sum(-1))
        rho = np.partition(dxx, k, axis=1)[:, k]  # index 0 is the point itself
        nu = np.partition(dxy, k - 1, axis=1)[:, k - 1]
        logs[start : start + chunk] = np.log(nu / rho)
    return d * logs.mean() + math.log(m / (n - 1))


def run_klcli(x, y):
    from klcli.sample_estimators import estimate_divergences, whiten

    a, b = whiten(x, y)
    return estimate_divergences(a, b, estimator="knn", k=K, rng=np.random.default_rng(0), cross_check=False).values["kl_pq"]


def run_klcli_one_way(x, y):
    from scipy.spatial import cKDTree

    from klcli.knn import kl_from_terms, neighbour_terms

    scale = np.concatenate([x, y]).std(axis=0)
    x, y = x / scale, y / scale
    tree_x, tree_y = cKDTree(x), cKDTree(y)
    x = x[tree_x.indices]  # query in leaf order, as knn_divergences does
    return kl_from_terms(neighbour_terms(tree_x, x, K, True), neighbour_terms(tree_y, x, K, False), x.shape[1])


def run_universal(x, y):
    from universal_divergence import estimate

    return float(estimate(x, y, K))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dims", type=int, nargs="+", default=[2, 10])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000, 1_000_000])
    parser.add_argument("--budget", type=float, default=240.0, help="skip a cell projected to take longer (s)")
    parser.add_argument("--brute-max", type=int, default=10_000)
    args = parser.parse_args()

    try:
        import universal_divergence  # noqa: F401

        methods = {"klcli": run_klcli, "klcli 1-way": run_klcli_one_way, "brute": None, "universal-divergence": run_universal}
    except ImportError:
        methods = {"klcli": run_klcli, "klcli 1-way": run_klcli_one_way, "brute": None}
        print("universal-divergence is not installed: that column is left out")
    print(f"cores: {os.cpu_count()}, k = {K}, KL(P‖Q) true = {TRUE_KL}; klcli also computes KL(Q‖P) and JS\n")
    print("| d | n | method | time (s) | KL(P‖Q) | error |")
    print("|---|---|---|---|---|---|")
    for d in args.dims:
        last: dict[str, tuple[int, float]] = {}
        for n in args.sizes:
            rng = np.random.default_rng(n + d)
            x = rng.normal(size=(n, d))
            y = rng.normal(size=(n, d)) + 1 / math.sqrt(d)
            for name, fn in methods.items():
                if name == "brute":
                    if n > args.brute_max:
                        print(f"| {d} | {n:.0e} | brute | skipped: O(n²), only n <= {args.brute_max:.0e} | | |")
                        continue
                    fn = lambda a, b: brute_kl(a, b, K)  # noqa: E731
                if name in last:
                    n0, t0 = last[name]
                    projected = t0 * (n / n0) ** 1.3
                    if projected > args.budget:
                        print(f"| {d} | {n:.0e} | {name} | skipped: projected {projected:.0f} s > budget | | |")
                        continue
                start = time.perf_counter()
                value = fn(x, y)
                elapsed = time.perf_counter() - start
                last[name] = (n, elapsed)
                print(f"| {d} | {n:.0e} | {name} | {elapsed:.2f} | {value:.4f} | {value - TRUE_KL:+.4f} |", flush=True)


if __name__ == "__main__":
    main()
