"""Benchmark: a batch of diagonal Gaussian posteriors against the N(0, I) prior, whole process, side by side.

    python benchmarks/bench_latent.py [--rows 1000000] [--dims 64]

Writes ``mu`` and ``logvar`` (float32, rows x dims) to an NPZ archive in a temporary
folder, then times (best of 3, warm page cache) and measures the peak RSS of:

- klcli: ``klcli compare 'normal(loc=@post.npz:mu, logvar=@post.npz:logvar)' 'normal(0, 1)' --format json``
  (KL both ways in closed form, the entropies, JS by the pooled Monte Carlo with --samples 10000);
- numpy: a script that loads the same archive and evaluates the VAE KL term
  ``0.5 Σ (exp(logvar) + mu² − 1 − logvar)``, averaged over the rows.
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
archive = np.load(sys.argv[1])
mu, logvar = archive["mu"].astype(np.float64), archive["logvar"].astype(np.float64)
print((0.5 * (np.exp(logvar) + mu**2 - 1 - logvar).sum(axis=1)).mean())
"""


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--dims", type=int, default=64)
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, "post.npz")
        mu = rng.normal(size=(args.rows, args.dims)).astype(np.float32)
        logvar = (rng.normal(size=(args.rows, args.dims)) * 0.3 - 1).astype(np.float32)
        np.savez(path, mu=mu, logvar=logvar)
        del mu, logvar
        spec = f"normal(loc=@{path}:mu, logvar=@{path}:logvar)"
        klcli = [sys.executable, "-m", "klcli", "compare", spec, "normal(0, 1)", "--format", "json", "--samples", "10000"]
        t_k, m_k = best_of(klcli)
        t_n, m_n = best_of([sys.executable, "-c", NUMPY_SCRIPT, path])
    print(f"{args.rows:,} posteriors x {args.dims} dimensions against N(0, I) (best of 3, peak RSS)")
    print(f"{'':8} {'time (s)':>9} {'peak (MiB)':>11}")
    print(f"{'klcli':8} {t_k:9.2f} {m_k:11.0f}")
    print(f"{'numpy':8} {t_n:9.2f} {m_n:11.0f}")
    print(f"ratio klcli/numpy: time {t_k / t_n:.2f}, memory {m_k / m_n:.2f}")


if __name__ == "__main__":
    main()
