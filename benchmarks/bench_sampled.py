"""Benchmark: ``--from sampled-logprobs`` against a numpy k3 script, whole process, side by side.

    python benchmarks/bench_sampled.py [--rows 10000000] [--groups 100000]

Writes policy/reference log-probabilities and sequence ids as NPY files in a
temporary folder, then times (best of 3, warm page cache) and measures peak
RSS of:

- klcli: ``klcli compare lp.npy lq.npy --from sampled-logprobs --group ids.npy --format json``
  (k1, k2, k3, the reverse KL, JS, the sampler check and PSIS k̂);
- numpy: a script that loads the same files and computes sequence-level k3 with
  ``np.bincount`` (the least a trainer would do).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile

import numpy as np
from processes import best_of

NUMPY_SCRIPT = """
import sys, numpy as np
lp, lq, ids = (np.load(f) for f in sys.argv[1:4])
rho = np.bincount(ids, weights=lq - lp)
k3 = np.expm1(rho) - rho
print(k3.mean(), k3.std(ddof=1) / np.sqrt(k3.size))
"""


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--groups", type=int, default=100_000)
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    with tempfile.TemporaryDirectory() as folder:
        paths = [os.path.join(folder, name) for name in ("lp.npy", "lq.npy", "ids.npy")]
        lp = -rng.gamma(2.0, 1.0, size=args.rows)
        np.save(paths[0], lp)
        np.save(paths[1], lp + rng.normal(0, 0.05, size=args.rows))
        np.save(paths[2], np.sort(rng.integers(0, args.groups, size=args.rows)))
        del lp
        klcli = [sys.executable, "-m", "klcli", "compare", paths[0], paths[1], "--from", "sampled-logprobs", "--group", paths[2], "--format", "json"]
        numpy = [sys.executable, "-c", NUMPY_SCRIPT, *paths]
        t_k, m_k = best_of(klcli)
        t_n, m_n = best_of(numpy)
    print(f"{args.rows:,} log-probabilities, {args.groups:,} groups (best of 3, peak RSS)")
    print(f"{'':8} {'time (s)':>9} {'peak (MiB)':>11}")
    print(f"{'klcli':8} {t_k:9.2f} {m_k:11.0f}")
    print(f"{'numpy':8} {t_n:9.2f} {m_n:11.0f}")
    print(f"ratio klcli/numpy: time {t_k / t_n:.2f}, memory {m_k / m_n:.2f}")


if __name__ == "__main__":
    main()
