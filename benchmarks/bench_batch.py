"""Benchmark `klcli batch` against a plain numpy/scipy loop, and pairwise against a matrix product.

    PYTHONPATH=src python benchmarks/bench_batch.py [--files 10000] [--bins 1000] [--pairwise 2000]

1. Many files: ``--files`` CSV files of ``--bins`` counts each (written once into
   benchmarks/data/, which git ignores) against one reference. Whole-process
   wall time and peak resident memory of ``klcli batch -f csv`` and of a loop
   that reads each file with ``np.loadtxt`` and calls ``scipy.stats.entropy``
   for KL both ways and JS (four calls), each in its own process.
2. Pairwise: the JS and KL matrices of ``--pairwise`` histograms of ``--bins``
   bins (in process) against one ``A @ B.T`` of the same size.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
DATA = os.path.join(HERE, "data")
SRC = os.path.join(HERE, os.pardir, "src")

BASELINE = """
import sys
import numpy as np
from scipy.stats import entropy
q = np.loadtxt(sys.argv[1]); q = q / q.sum()
out = []
for path in open(sys.argv[2]).read().split():
    p = np.loadtxt(path); p = p / p.sum()
    m = 0.5 * (p + q)
    out.append((entropy(p, q), entropy(q, p), 0.5 * (entropy(p, m) + entropy(q, m))))
print(len(out))
"""


def generate(n_files: int, bins: int) -> tuple[str, str, int]:
    """Write the reference and the files (once); return (reference, list file, bytes)."""
    folder = os.path.join(DATA, f"batch_{n_files}x{bins}")
    listing = os.path.join(folder, "files.txt")
    reference = os.path.join(folder, "reference.csv")
    if not os.path.exists(listing):
        os.makedirs(folder, exist_ok=True)
        rng = np.random.default_rng(0)
        shape = rng.gamma(2.0, 1.0, bins) * 50 + 1
        np.savetxt(reference, rng.poisson(shape * 10), fmt="%d")
        paths = []
        for i in range(n_files):
            path = os.path.join(folder, f"h{i:05d}.csv")
            np.savetxt(path, rng.poisson(shape), fmt="%d")
            paths.append(path)
        with open(listing + ".tmp", "w") as handle:
            handle.write("\n".join(paths) + "\n")
        os.replace(listing + ".tmp", listing)
    with open(listing) as handle:
        size = sum(os.path.getsize(p) for p in handle.read().split())
    return reference, listing, size


def measure(command: list[str]) -> dict:
    """Wall time and peak RSS of ``command``, run by a fresh helper process."""
    helper = (
        "import json, resource, subprocess, sys, time\n"
        "t = time.perf_counter()\n"
        "rc = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL).returncode\n"
        "wall = time.perf_counter() - t\n"
        "rss = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024\n"
        "print(json.dumps({'rc': rc, 'wall': wall, 'rss': rss}))\n"
    )
    env = dict(os.environ, PYTHONPATH=SRC)
    done = subprocess.run([sys.executable, "-c", helper, *command], capture_output=True, text=True, env=env, check=True)
    return json.loads(done.stdout)


def best_of(command: list[str], repeats: int) -> dict:
    runs = [measure(command) for _ in range(repeats)]
    return min(runs, key=lambda r: r["wall"])


def bench_many(n_files: int, bins: int, repeats: int) -> None:
    reference, listing, size = generate(n_files, bins)
    floats = n_files * bins * 8
    klcli = best_of([sys.executable, "-m", "klcli", "batch", "-r", reference, "--files-from", listing, "-f", "csv"], repeats)
    loop = best_of([sys.executable, "-c", BASELINE, reference, listing], 1)
    idle = best_of([sys.executable, "-c", "import numpy, scipy.stats"], repeats)
    assert klcli["rc"] == 0 and loop["rc"] == 0
    mib = 1 << 20
    print(f"\n{n_files} files x {bins} bins: {size / mib:.0f} MiB of CSV, {floats / mib:.0f} MiB as float64")
    print(f"{'':34} {'wall s':>8} {'peak RSS MiB':>13}")
    print(f"{'numpy.loadtxt + scipy entropy x4':34} {loop['wall']:8.2f} {loop['rss'] / mib:13.0f}")
    print(f"{'klcli batch -f csv':34} {klcli['wall']:8.2f} {klcli['rss'] / mib:13.0f}")
    print(f"{'python -c import numpy, scipy':34} {idle['wall']:8.2f} {idle['rss'] / mib:13.0f}")
    print(f"speed-up: {loop['wall'] / klcli['wall']:.1f}x (goal >= 10x)")
    print(
        f"peak RSS / float64 data: {klcli['rss'] / floats:.2f} (goal <= 2); "
        f"above an idle interpreter with numpy+scipy: {(klcli['rss'] - idle['rss']) / mib:.0f} MiB"
    )


def bench_pairwise(n: int, bins: int, repeats: int) -> None:
    from klcli.batch import pairwise_divergences

    rng = np.random.default_rng(1)
    p = rng.gamma(2.0, 1.0, (n, bins))
    p /= p.sum(axis=1, keepdims=True)

    def timed(fn) -> float:
        fn()
        best = float("inf")
        for _ in range(repeats):
            t = time.perf_counter()
            fn()
            best = min(best, time.perf_counter() - t)
        return best

    product = timed(lambda: p @ p.T)
    print(f"\npairwise, {n} histograms x {bins} bins ({os.cpu_count()} CPUs)")
    print(f"{'':34} {'s':>8} {'ratio':>7}")
    print(f"{'A @ B.T (float64)':34} {product:8.3f} {1:7.1f}")
    for metric in ("kl_pq", "symmetric_kl", "js"):
        seconds = timed(lambda: pairwise_divergences(p, metric=metric))
        print(f"{'pairwise ' + metric:34} {seconds:8.3f} {seconds / product:7.1f}")
    print("goal: within 3x of the matrix product")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--files", type=int, default=10_000)
    parser.add_argument("--bins", type=int, default=1_000)
    parser.add_argument("--pairwise", type=int, default=2_000)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    sys.path.insert(0, SRC)
    bench_many(args.files, args.bins, args.repeats)
    bench_pairwise(args.pairwise, args.bins, args.repeats)


if __name__ == "__main__":
    main()
