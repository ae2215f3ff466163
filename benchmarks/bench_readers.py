"""Benchmark klcli's readers against the scripts people write instead, side by side in one run.

    PYTHONPATH=src python benchmarks/bench_readers.py [--tokens 1000000] [--lines 20000000] [--files 10000] [--repeats 3]

Every figure is a whole process (start-up, reading, computing, printing):
wall time (best of ``--repeats``) and peak resident memory, measured by a
fresh helper process. Data are written once into benchmarks/data/ (ignored by git).

1. A labelled pair: two CSV files of ``--tokens`` ``token,count`` rows (the
   same tokens in another order, a few on one side only), ``klcli compare``
   against a pandas script: ``read_csv`` both, an outer merge on the token,
   ``scipy.special.rel_entr`` both ways (goal: ratio <= 1, aim 0.5).
2. One float per line, ``--lines`` lines, compared with itself from the file
   and from standard input, against ``pyarrow.csv.read_csv`` of both plus
   :func:`klcli.discrete.divergences` (goal: within 2x; peak RSS <= 2x the
   bytes read). The same with ``--device cpu`` (goal: peak <= 3x the input).
3. ``batch`` of ``--files`` files (benchmarks/bench_batch.py; goal >= 10x a
   loadtxt + scipy entropy loop, peak RSS <= 2x the data).
4. ``drift`` on CSV tables of 5 float columns at each of ``--drift-rows``: peak
   RSS of the largest within 1.5x of the smallest (flat, as on Parquet).

The load average is printed before and after: on a shared machine, compare
ratios from the same run, not absolute times.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
DATA = os.path.join(HERE, "data")
SRC = os.path.join(HERE, os.pardir, "src")
MIB = 1 << 20

PANDAS = """
import sys
import pandas as pd
from scipy.special import rel_entr
p, q = pd.read_csv(sys.argv[1]), pd.read_csv(sys.argv[2])
both = p.merge(q, on="token", how="outer", suffixes=("_p", "_q")).fillna(0)
a, b = both["count_p"].to_numpy(float), both["count_q"].to_numpy(float)
a, b = a / a.sum(), b / b.sum()
print(rel_entr(a, b).sum(), rel_entr(b, a).sum())
"""

PYARROW = """
import sys
import pyarrow as pa, pyarrow.csv as csv
from klcli import discrete
def read(path):
    options = csv.ReadOptions(column_names=["x"])
    table = csv.read_csv(path, read_options=options, convert_options=csv.ConvertOptions(column_types={"x": pa.float64()}))
    values = table.column(0).to_numpy()
    return values / values.sum()
print(discrete.divergences(read(sys.argv[1]), read(sys.argv[2]))["kl_pq"])
"""


def measure(command: list[str], stdin: str | None = None) -> dict:
    """Wall time and peak RSS of ``command``, run by a fresh helper process."""
    helper = (
        "import json, resource, subprocess, sys, time\n"
        "stdin = open(sys.argv[1], 'rb') if sys.argv[1] else None\n"
        "t = time.perf_counter()\n"
        "rc = subprocess.run(sys.argv[2:], stdin=stdin, stdout=subprocess.DEVNULL).returncode\n"
        "wall = time.perf_counter() - t\n"
        "rss = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024\n"
        "print(json.dumps({'rc': rc, 'wall': wall, 'rss': rss}))\n"
    )
    env = dict(os.environ, PYTHONPATH=SRC)
    done = subprocess.run([sys.executable, "-c", helper, stdin or "", *command], capture_output=True, text=True, env=env, check=True)
    result = json.loads(done.stdout)
    assert result["rc"] == 0, command
    return result


def best_of(command: list[str], repeats: int, stdin: str | None = None) -> dict:
    return min((measure(command, stdin) for _ in range(repeats)), key=lambda r: r["wall"])


def labelled_pair(tokens: int) -> tuple[str, str]:
    paths = [os.path.join(DATA, f"tokens_{tokens}_{side}.csv") for side in "pq"]
    rng = np.random.default_rng(0)
    for side, path in enumerate(paths):
        if os.path.exists(path):
            continue
        counts = rng.poisson(rng.gamma(2.0, 1.0, tokens) * 20 + 1)
        order = rng.permutation(tokens) + side * (tokens // 1000)  # 0.1% of the tokens on one side only
        with open(path + ".tmp", "w") as handle:
            handle.write("token,count\n")
            handle.writelines(f"tok{i},{c}\n" for i, c in zip(order.tolist(), counts.tolist()))
        os.replace(path + ".tmp", path)
    return paths[0], paths[1]


def float_lines(lines: int) -> str:
    path = os.path.join(DATA, f"floats_{lines}.csv")
    if not os.path.exists(path):
        rng = np.random.default_rng(0)
        with open(path + ".tmp", "w") as handle:
            for start in range(0, lines, 1_000_000):
                handle.write("\n".join(map(repr, rng.random(min(1_000_000, lines - start)).tolist())) + "\n")
        os.replace(path + ".tmp", path)
    return path


def row(name: str, result: dict, baseline: dict | None, size: int) -> None:
    ratio = f"{result['wall'] / baseline['wall']:7.2f}" if baseline else f"{'1':>7}"
    print(f"{name:44} {result['wall']:8.2f} {ratio} {result['rss'] / MIB:9.0f} {result['rss'] / size:9.2f}")


def header(title: str) -> None:
    print(f"\n{title}")
    print(f"{'':44} {'wall s':>8} {'ratio':>7} {'peak MiB':>9} {'RSS/read':>9}")


def bench_labelled(tokens: int, repeats: int) -> None:
    p, q = labelled_pair(tokens)
    size = os.path.getsize(p) + os.path.getsize(q)
    header(f"labelled pair: 2 x {tokens:,} token,count rows, {size / MIB:.0f} MiB read")
    pandas = best_of([sys.executable, "-c", PANDAS, p, q], repeats)
    klcli = best_of([sys.executable, "-m", "klcli", "compare", p, q, "-f", "json"], repeats)
    row("pandas read_csv + merge + rel_entr", pandas, None, size)
    row("klcli compare P Q", klcli, pandas, size)
    print(f"goal: ratio <= 1.0 (aim 0.5): {klcli['wall'] / pandas['wall']:.2f}")


def bench_floats(lines: int, repeats: int, device: bool) -> None:
    path = float_lines(lines)
    size = 2 * os.path.getsize(path)
    header(f"one float per line: {lines:,} lines compared with itself, {size / MIB:.0f} MiB read ({2 * lines * 8 / MIB:.0f} MiB as float64)")
    arrow = best_of([sys.executable, "-c", PYARROW, path, path], repeats)
    klcli = best_of([sys.executable, "-m", "klcli", "compare", path, path, "-f", "json"], repeats)
    stdin = best_of([sys.executable, "-m", "klcli", "compare", "-", path, "-f", "json"], repeats, stdin=path)
    row("pyarrow.csv.read_csv x2 + klcli.discrete", arrow, None, size)
    row("klcli compare FILE FILE", klcli, arrow, size)
    row("klcli compare - FILE < FILE", stdin, arrow, size)
    print(f"goal: within 2x ({klcli['wall'] / arrow['wall']:.2f}, stdin {stdin['wall'] / arrow['wall']:.2f}); peak RSS <= 2x the bytes read")
    if device:
        cpu = best_of([sys.executable, "-m", "klcli", "compare", path, path, "-f", "json", "--device", "cpu"], 1)
        row("klcli compare FILE FILE --device cpu", cpu, arrow, size)
        print(f"--device cpu peak: {cpu['rss'] / size:.2f}x the bytes read, {cpu['rss'] / (2 * lines * 8):.2f}x the float64 input (goal <= 3x)")


def drift_tables(rows: int) -> tuple[str, str]:
    import pyarrow as pa
    import pyarrow.csv as pv

    paths = [os.path.join(DATA, f"drift_{rows}_{side}.csv") for side in ("ref", "cur")]
    for shift, path in zip((0.0, 0.1), paths):
        if not os.path.exists(path):
            rng = np.random.default_rng(rows + int(shift * 10))
            table = pa.table({f"x{i}": rng.normal(shift if i == 0 else 0.0, 1.0, rows) for i in range(5)})
            pv.write_csv(table, path + ".tmp")
            os.replace(path + ".tmp", path)
    return paths[0], paths[1]


def bench_drift_csv(sizes: list[int], repeats: int) -> None:
    header("drift on CSV: 5 float columns, reference and current")
    first = None
    for rows in sizes:
        reference, current = drift_tables(rows)
        size = os.path.getsize(reference) + os.path.getsize(current)
        result = best_of([sys.executable, "-m", "klcli", "drift", reference, current, "-f", "json"], repeats)
        row(f"klcli drift, {rows:,} rows", result, first, size)
        first = first or result
    print(f"goal: peak RSS of the largest within 1.5x of the smallest: {result['rss'] / first['rss']:.2f}x (ratio column: time)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tokens", type=int, default=1_000_000)
    parser.add_argument("--lines", type=int, default=20_000_000)
    parser.add_argument("--files", type=int, default=10_000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--no-device", action="store_true", help="skip the --device cpu run (needs torch)")
    parser.add_argument("--drift-rows", default="1000000,4000000", help="comma-separated table sizes for drift on CSV")
    parser.add_argument("--only", choices=("labelled", "floats", "batch", "drift"), help="run one part")
    args = parser.parse_args()
    os.makedirs(DATA, exist_ok=True)
    print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
    if args.only in (None, "labelled"):
        bench_labelled(args.tokens, args.repeats)
    if args.only in (None, "floats"):
        bench_floats(args.lines, args.repeats, not args.no_device)
    if args.only in (None, "batch"):
        sys.path.insert(0, HERE)
        from bench_batch import bench_many

        bench_many(args.files, 1_000, args.repeats)
    if args.only in (None, "drift"):
        bench_drift_csv([int(n) for n in args.drift_rows.split(",")], args.repeats)
    print(f"\nload average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")


if __name__ == "__main__":
    main()
