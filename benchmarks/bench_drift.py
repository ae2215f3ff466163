"""Benchmark ``klcli drift`` against a plain pandas + numpy.histogram + scipy script.

Generates two Parquet tables of ROWS x COLUMNS float64 columns into
``benchmarks/data/`` (git-ignored; reused when present), then runs, each in its
own process under ``/usr/bin/time -v``:

* ``klcli drift reference.parquet current.parquet --format json``
  (streams both tables in batches);
* the baseline below: ``pandas.read_parquet`` of both tables, deciles of the
  reference with ``np.quantile``, ``np.histogram`` on the same edges with
  overflow bins and ``scipy.spatial.distance.jensenshannon`` per column;

checks that both give the same JS distances, and prints wall time, CPU time
(user + system, which other processes on a shared machine disturb less than
wall time) and peak resident memory, with ratios.

Usage::

    python benchmarks/bench_drift.py                 # 10 million rows x 10 columns
    python benchmarks/bench_drift.py --rows 1000000  # a quicker run
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
DATA = os.path.join(HERE, "data")


def generate(rows: int, columns: int, path: str, *, shift: float, seed: int) -> None:
    """Write a Parquet table of normal columns in row groups of 1M rows; column 0 shifted by ``shift``."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.parquet as pq

    rng = np.random.default_rng(seed)
    names = [f"x{i}" for i in range(columns)]
    schema = pa.schema([(name, pa.float64()) for name in names])
    with pq.ParquetWriter(path, schema) as writer:
        for start in range(0, rows, 1 << 20):
            n = min(1 << 20, rows - start)
            arrays = [pa.array(rng.standard_normal(n) + (shift if i == 0 else 0.0) + i) for i in range(columns)]
            writer.write_table(pa.Table.from_arrays(arrays, names=names))


def baseline(reference: str, current: str) -> None:
    """The straightforward script: whole tables in memory, one column at a time."""
    import numpy as np
    import pandas as pd
    from scipy.spatial.distance import jensenshannon

    ref = pd.read_parquet(reference)
    cur = pd.read_parquet(current)
    out = {}
    for column in ref.columns:
        r = ref[column].to_numpy()
        c = cur[column].to_numpy()
        inner = np.quantile(r[~np.isnan(r)], np.linspace(0, 1, 11))
        inner[-1] = np.nextafter(inner[-1], np.inf)
        edges = np.concatenate([[-np.inf], np.unique(inner), [np.inf]])
        r_counts = np.append(np.histogram(r, bins=edges)[0], np.isnan(r).sum())
        c_counts = np.append(np.histogram(c, bins=edges)[0], np.isnan(c).sum())
        out[column] = float(jensenshannon(c_counts, r_counts, base=2))
    print(json.dumps(out))


def timed(command: list[str]) -> tuple[float, float, float, str]:
    """Wall seconds, CPU seconds (user + system), peak RSS in MiB and stdout of a command run under /usr/bin/time -v."""
    start = time.perf_counter()
    done = subprocess.run(
        ["/usr/bin/time", "-v", *command], capture_output=True, text=True, env={**os.environ, "PYTHONPATH": os.path.join(ROOT, "src")}
    )
    wall = time.perf_counter() - start
    if done.returncode not in (0, 1):
        sys.exit(f"{' '.join(command)} failed:\n{done.stderr}")

    def field(label: str) -> float:
        return float(re.search(rf"{label}: ([\d.]+)", done.stderr).group(1))

    cpu = field(r"User time \(seconds\)") + field(r"System time \(seconds\)")
    return wall, cpu, field(r"Maximum resident set size \(kbytes\)") / 1024, done.stdout


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--columns", type=int, default=10)
    parser.add_argument("--repeat", type=int, default=3, help="runs of each command; the fastest is reported")
    parser.add_argument("--baseline", nargs=2, metavar=("REFERENCE", "CURRENT"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.baseline:
        return baseline(*args.baseline)
    os.makedirs(DATA, exist_ok=True)
    reference = os.path.join(DATA, f"reference_{args.rows}x{args.columns}.parquet")
    current = os.path.join(DATA, f"current_{args.rows}x{args.columns}.parquet")
    for path, shift, seed in ((reference, 0.0, 1), (current, 0.5, 2)):
        if not os.path.exists(path):
            start = time.perf_counter()
            generate(args.rows, args.columns, path, shift=shift, seed=seed)
            print(f"generated {path} ({os.path.getsize(path) / 2**20:.0f} MiB) in {time.perf_counter() - start:.1f} s", file=sys.stderr)

    runs = {
        "klcli drift": [sys.executable, "-m", "klcli", "drift", reference, current, "--format", "json"],
        "pandas + np.histogram + scipy": [sys.executable, os.path.abspath(__file__), "--baseline", reference, current],
    }
    for path in (reference, current):  # warm the page cache, so that neither side pays for the disk
        with open(path, "rb") as handle:
            while handle.read(1 << 24):
                pass
    results = {name: min((timed(command) for _ in range(args.repeat)), key=lambda r: r[0]) for name, command in runs.items()}
    ours = {c["column"]: c["value"] for c in json.loads(results["klcli drift"][-1])["columns"]}
    theirs = json.loads(results["pandas + np.histogram + scipy"][-1])
    largest_gap = max(abs(ours[k] - theirs[k]) for k in theirs)

    wall0, cpu0, peak0, _ = results["klcli drift"]
    print(f"\n{args.rows:,} rows x {args.columns} float64 columns, Parquet; {os.cpu_count()} CPUs; load average {os.getloadavg()[0]:.1f}")
    print(f"{'':30} {'wall (s)':>9} {'CPU (s)':>8} {'peak RSS (MiB)':>15} {'wall ratio':>11} {'CPU ratio':>10} {'memory ratio':>13}")
    for name, (wall, cpu, peak, _) in results.items():
        print(f"{name:30} {wall:9.2f} {cpu:8.2f} {peak:15.0f} {wall / wall0:10.2f}x {cpu / cpu0:9.2f}x {peak / peak0:12.2f}x")
    print(f"largest difference between the JS distances: {largest_gap:.2e} (deciles from a sample vs exact)")


if __name__ == "__main__":
    main()
