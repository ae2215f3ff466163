"""Time of ``compare --from samples`` (KL both ways and JS) per estimator on large sets.

P = N(0, I_d), Q = N(μ, I_d) with |μ| = 1 (KL = 0.5 both ways). Each row is
one run of :func:`klcli.samples.compare_samples` with ``bootstrap=0`` (the
default above 50,000 points per set), the cross-check included. Run::

    PYTHONPATH=src python benchmarks/bench_sample_speed.py
    PYTHONPATH=src python benchmarks/bench_sample_speed.py --dims 10 --sizes 100000 --estimators auto knn
"""

from __future__ import annotations

import argparse
import math
import os
import time

import numpy as np

from klcli.samples import SampleSet, compare_samples


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dims", type=int, nargs="+", default=[10])
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000])
    parser.add_argument("--estimators", nargs="+", default=["auto", "knn-ensemble", "knn"])
    args = parser.parse_args()
    print(f"cores: {os.cpu_count()}; load average at start: {os.getloadavg()[0]:.1f}\n")
    print("| d | n | estimator | time (s) | KL(P‖Q) | KL(Q‖P) | JS | check |")
    print("|---|---|---|---|---|---|---|---|")
    for d in args.dims:
        for n in args.sizes:
            rng = np.random.default_rng(n + d)
            x, y = rng.normal(size=(n, d)), rng.normal(size=(n, d)) + 1 / math.sqrt(d)
            for est in args.estimators:
                start = time.perf_counter()
                c = compare_samples(SampleSet(x, "p"), SampleSet(y, "q"), estimator=est, bootstrap=0)
                elapsed = time.perf_counter() - start
                v = c.values
                print(
                    f"| {d} | {n:.0e} | {est} ({c.method['kl_pq']}) | {elapsed:.1f} | {v['kl_pq']:.4f} | "
                    f"{v['kl_qp']:.4f} | {v['js']:.4f} | {c.info['check']['estimator']} |",
                    flush=True,
                )


if __name__ == "__main__":
    main()
