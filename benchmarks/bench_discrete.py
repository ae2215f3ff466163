"""Benchmark the discrete core on two 20-million-bin histograms.

Prints, from one run on this machine:
- the four divergences (KL both ways, symmetric KL, JS) through klcli's core,
  the same four composed from ``scipy.special.rel_entr``, and three numpy
  ``log`` passes over the arrays (the floor), with ratios;
- peak memory of each above the inputs (tracemalloc sees numpy's buffers);
- whole-process time of ``klcli compare p.npy q.npy`` against a plain scipy
  script computing the same values from the same files.

    python benchmarks/bench_discrete.py [--bins 20000000] [--repeat 3]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
import tracemalloc
from pathlib import Path

import numpy as np
from scipy.special import rel_entr

from klcli.discrete import divergences

DATA = Path(__file__).parent / "data"

SCIPY_SCRIPT = """
import json, sys
import numpy as np
from scipy.special import rel_entr
from scipy.stats import entropy
p = np.load(sys.argv[1]); q = np.load(sys.argv[2])
p = p / p.sum(); q = q / q.sum(); m = 0.5 * (p + q)
kl_pq = rel_entr(p, q).sum(); kl_qp = rel_entr(q, p).sum()
js = 0.5 * (rel_entr(p, m).sum() + rel_entr(q, m).sum())
print(json.dumps({"kl_pq": kl_pq, "kl_qp": kl_qp, "symmetric_kl": kl_pq + kl_qp, "js": js,
                  "js_distance": js ** 0.5, "entropy_p": entropy(p), "entropy_q": entropy(q)}))
"""


def best_time(fn, repeat: int) -> float:
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best


def peak_bytes(fn) -> int:
    tracemalloc.start()
    tracemalloc.reset_peak()
    fn()
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return peak


def klcli_four(p, q):
    d = divergences(p, q, entropies=False)
    return d["kl_pq"], d["kl_qp"], d["kl_pq"] + d["kl_qp"], d["js"]


def scipy_four(p, q):
    kl_pq = rel_entr(p, q).sum()
    kl_qp = rel_entr(q, p).sum()
    m = 0.5 * (p + q)
    js = 0.5 * (rel_entr(p, m).sum() + rel_entr(q, m).sum())
    return kl_pq, kl_qp, kl_pq + kl_qp, js


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--bins", type=int, default=20_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    rng = np.random.default_rng(0)
    p = rng.random(args.bins)
    p /= p.sum()
    q = p * rng.lognormal(0.0, 0.5, args.bins)
    q /= q.sum()
    m = 0.5 * (p + q)
    inputs = p.nbytes + q.nbytes

    rows = []
    ours = best_time(lambda: klcli_four(p, q), args.repeat)
    theirs = best_time(lambda: scipy_four(p, q), args.repeat)
    floor = best_time(lambda: (np.log(p), np.log(q), np.log(m)), args.repeat)
    rows.append(("klcli core (4 divergences)", ours, peak_bytes(lambda: klcli_four(p, q))))
    rows.append(("scipy rel_entr composition", theirs, peak_bytes(lambda: scipy_four(p, q))))
    rows.append(("floor: 3 numpy log passes", floor, peak_bytes(lambda: (np.log(p), np.log(q), np.log(m)))))

    print(f"{args.bins:,} bins, float64; inputs {inputs / 2**20:.0f} MiB; best of {args.repeat}")
    print(f"{'':30s} {'time':>9s} {'peak extra':>11s}")
    for name, seconds, peak in rows:
        print(f"{name:30s} {seconds:8.3f}s {peak / 2**20:9.1f}MiB")
    print(f"speed-up over scipy:      {theirs / ours:5.1f}x   (goal >= 15x)")
    print(f"ratio to the floor:       {ours / floor:5.2f}x   (goal <= 2x)")
    print(f"peak memory / inputs:     {(inputs + rows[0][2]) / inputs:5.2f}x   (goal <= 3x)")
    a, b = klcli_four(p, q), scipy_four(p, q)
    print("agreement with scipy (relative):", ", ".join(f"{abs(x - y) / abs(x):.1e}" for x, y in zip(a, b)))

    DATA.mkdir(exist_ok=True)
    np.save(DATA / "p20m.npy", p)
    np.save(DATA / "q20m.npy", q)
    script = DATA / "scipy_compare.py"
    script.write_text(SCIPY_SCRIPT)
    files = [str(DATA / "p20m.npy"), str(DATA / "q20m.npy")]
    cli = best_time(
        lambda: subprocess.run([sys.executable, "-m", "klcli", "compare", *files, "-f", "json"], check=True, capture_output=True), args.repeat
    )
    plain = best_time(lambda: subprocess.run([sys.executable, str(script), *files], check=True, capture_output=True), args.repeat)
    print(f"whole process: klcli compare {cli:.2f}s, plain scipy script {plain:.2f}s: {plain / cli:.1f}x   (goal >= 4x)")


if __name__ == "__main__":
    main()
