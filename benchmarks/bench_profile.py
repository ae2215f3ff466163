"""Benchmark drift from tables, from profiles, from merged partition profiles, in Spark, and a pandas script.

Generates (into ``benchmarks/data/``, git-ignored, reused when present) a
reference and a current table of ROWS x (10 float64 + 2 text categorical
columns): ``ref.parquet``, the current table as one file ``cur.parquet`` and
the same rows split into 8 files ``cur-parts/part-N.parquet``. Then runs,
each command in its own process, measuring wall time and the peak resident
memory of its whole process tree (polled from /proc every 50 ms, so the JVM
of Spark counts):

(a) ``klcli drift ref.parquet cur.parquet``;
(b) ``klcli profile ref.parquet -o ref.json`` once, then ``klcli drift ref.json cur.parquet``;
(c) ``klcli profile part-N.parquet --edges-from ref.json`` for each of the 8 parts,
    ``klcli profile merge``, ``klcli drift ref.json merged.json`` (must equal (a) exactly);
(d) ``klcli drift ref.parquet cur-parts --engine spark --spark-master local[2]``;
(e) a pandas + numpy + scipy script: both tables in memory, deciles, ``np.histogram``,
    ``value_counts``, ``jensenshannon``.

Usage::

    python benchmarks/bench_profile.py                  # 10 million rows
    python benchmarks/bench_profile.py --rows 1000000   # quicker
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
DATA = os.path.join(HERE, "data")
NUMERIC, PARTS = 10, 8
CATEGORIES = {"country": 12, "device": 30}


def generate(rows: int, folder: str) -> None:
    """ref.parquet, cur.parquet and cur-parts/part-N.parquet (the same rows as cur.parquet); column x0 and country drift."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.parquet as pq

    os.makedirs(os.path.join(folder, "cur-parts"), exist_ok=True)
    names = [f"x{i}" for i in range(NUMERIC)] + list(CATEGORIES)
    schema = pa.schema([(n, pa.float64()) for n in names[:NUMERIC]] + [(n, pa.string()) for n in CATEGORIES])
    block = 1 << 20
    for table, seed, shift in (("ref", 1, 0.0), ("cur", 2, 0.5)):
        rng = np.random.default_rng(seed)
        writers = [pq.ParquetWriter(os.path.join(folder, f"{table}.parquet"), schema)]
        if table == "cur":
            writers += [pq.ParquetWriter(os.path.join(folder, "cur-parts", f"part-{i}.parquet"), schema) for i in range(PARTS)]
        per_part = -(-rows // PARTS)
        for start in range(0, rows, block):
            n = min(block, rows - start)
            arrays = [pa.array(rng.standard_normal(n) + i + (shift if i == 0 else 0.0)) for i in range(NUMERIC)]
            for name, k in CATEGORIES.items():
                weights = np.arange(k, 0, -1.0) ** (1.5 if (name == "country" and shift) else 1.0)
                labels = np.array([f"{name}-{j}" for j in range(k)], dtype=object)
                arrays.append(pa.array(labels[rng.choice(k, n, p=weights / weights.sum())], pa.string()))
            batch = pa.Table.from_arrays(arrays, schema=schema)
            writers[0].write_table(batch)
            for i in range(1, len(writers)):  # the slice of this block that falls in part i-1
                lo, hi = max((i - 1) * per_part - start, 0), min(i * per_part - start, n)
                if lo < hi:
                    writers[i].write_table(batch.slice(lo, hi - lo))
        for writer in writers:
            writer.close()


def baseline(reference: str, current: str) -> None:
    """The straightforward script: both tables in memory, one column at a time."""
    import numpy as np
    import pandas as pd
    from scipy.spatial.distance import jensenshannon

    ref, cur = pd.read_parquet(reference), pd.read_parquet(current)
    out = {}
    for column in ref.columns:
        if column in CATEGORIES:
            r, c = ref[column].value_counts(dropna=False), cur[column].value_counts(dropna=False)
            labels = r.index.union(c.index)
            out[column] = float(jensenshannon(c.reindex(labels, fill_value=0).to_numpy(), r.reindex(labels, fill_value=0).to_numpy(), base=2))
            continue
        r, c = ref[column].to_numpy(), cur[column].to_numpy()
        inner = np.quantile(r[~np.isnan(r)], np.linspace(0, 1, 11))
        inner[-1] = np.nextafter(inner[-1], np.inf)
        edges = np.concatenate([[-np.inf], np.unique(inner), [np.inf]])
        r_counts = np.append(np.histogram(r, bins=edges)[0], np.isnan(r).sum())
        c_counts = np.append(np.histogram(c, bins=edges)[0], np.isnan(c).sum())
        out[column] = float(jensenshannon(c_counts, r_counts, base=2))
    print(json.dumps(out))


def tree_rss(pid: int) -> int:
    """Resident bytes of a process and all its descendants (from /proc)."""
    children: dict[int, list[int]] = {}
    rss: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as handle:
                fields = handle.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        children.setdefault(int(fields[1]), []).append(int(entry))
        rss[int(entry)] = int(fields[21]) * os.sysconf("SC_PAGE_SIZE")
    total, stack = 0, [pid]
    while stack:
        p = stack.pop()
        total += rss.get(p, 0)
        stack.extend(children.get(p, []))
    return total


def timed(command: list[str]) -> tuple[float, float, str]:
    """Wall seconds, peak RSS of the process tree in MiB, and stdout."""
    env = {**os.environ, "PYTHONPATH": os.path.join(ROOT, "src")}
    start = time.perf_counter()
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    peak = [0]

    def poll() -> None:
        while process.poll() is None:
            peak[0] = max(peak[0], tree_rss(process.pid))
            time.sleep(0.05)

    poller = threading.Thread(target=poll, daemon=True)
    poller.start()
    out, err = process.communicate()
    wall = time.perf_counter() - start
    poller.join()
    if process.returncode not in (0, 1):
        sys.exit(f"{' '.join(command)} failed:\n{err}")
    return wall, peak[0] / 2**20, out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--no-spark", action="store_true", help="leave out (d)")
    parser.add_argument("--baseline", nargs=2, metavar=("REFERENCE", "CURRENT"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.baseline:
        return baseline(*args.baseline)
    folder = os.path.join(DATA, f"profile_{args.rows}")
    if not os.path.exists(os.path.join(folder, "cur-parts", f"part-{PARTS - 1}.parquet")):
        start = time.perf_counter()
        generate(args.rows, folder)
        print(f"generated {folder} in {time.perf_counter() - start:.1f} s", file=sys.stderr)
    for name in ("ref.parquet", "cur.parquet", *[f"cur-parts/part-{i}.parquet" for i in range(PARTS)]):
        with open(os.path.join(folder, name), "rb") as handle:  # warm the page cache
            while handle.read(1 << 24):
                pass
    klcli = [sys.executable, "-m", "klcli"]
    path = lambda name: os.path.join(folder, name)  # noqa: E731
    rows = {}
    print(f"{'':40} {'wall (s)':>9} {'peak RSS (MiB)':>15}", flush=True)

    def timed_row(name: str, command: list[str]):
        rows[name] = result = timed(command)
        print(f"{name:40} {result[0]:9.2f} {result[1]:15.0f}", flush=True)
        return result

    a = timed_row("(a) drift ref.parquet cur.parquet", [*klcli, "drift", path("ref.parquet"), path("cur.parquet"), "-f", "json"])
    timed_row("(b) profile ref.parquet (once)", [*klcli, "profile", path("ref.parquet"), "-o", path("ref.json")])
    b = timed_row("(b) drift ref.json cur.parquet", [*klcli, "drift", path("ref.json"), path("cur.parquet"), "-f", "json"])
    parts = [
        timed([*klcli, "profile", path(f"cur-parts/part-{i}.parquet"), "--edges-from", path("ref.json"), "-o", path(f"part-{i}.json")])
        for i in range(PARTS)
    ]
    rows[f"(c) profile {PARTS} parts, one by one"] = (sum(p[0] for p in parts), max(p[1] for p in parts), "")
    print(f"{f'(c) profile {PARTS} parts, one by one':40} {sum(p[0] for p in parts):9.2f} {max(p[1] for p in parts):15.0f}", flush=True)
    timed_row("(c) profile merge", [*klcli, "profile", "merge", *[path(f"part-{i}.json") for i in range(PARTS)], "-o", path("merged.json")])
    c = timed_row("(c) drift ref.json merged.json", [*klcli, "drift", path("ref.json"), path("merged.json"), "-f", "json"])
    if not args.no_spark:
        d = timed_row(
            "(d) drift --engine spark, local[2]",
            [*klcli, "drift", path("ref.parquet"), path("cur-parts"), "-f", "json", "--engine", "spark", "--spark-master", "local[2]"],
        )
    e = timed_row("(e) pandas + numpy + scipy", [sys.executable, os.path.abspath(__file__), "--baseline", path("ref.parquet"), path("cur.parquet")])

    print(
        f"\n{args.rows:,} rows x ({NUMERIC} float64 + {len(CATEGORIES)} text) columns, Parquet, current in {PARTS} files; "
        f"{os.cpu_count()} CPUs; load average {os.getloadavg()[0]:.1f}"
    )
    print(f"{'':40} {'wall (s)':>9} {'peak RSS (MiB)':>15} {'wall / (a)':>11}")
    for name, (wall, peak, _) in rows.items():
        print(f"{name:40} {wall:9.2f} {peak:15.0f} {wall / a[0]:10.2f}x")
    print(f"(b)'s drift step is {a[0] / b[0]:.2f}x faster than (a) (goal >= 2x)")
    print(f"(b) equals (a) exactly: {b[2] == a[2]}; (c) equals (a) exactly: {c[2] == a[2]}")
    ours = {col["column"]: col["value"] for col in json.loads(a[2])["columns"]}
    verdicts = {col["column"]: col["drifted"] for col in json.loads(a[2])["columns"]}
    if not args.no_spark:
        spark = json.loads(d[2])["columns"]
        print(
            f"(d) Spark: same verdicts {all(col['drifted'] == verdicts[col['column']] for col in spark)}, "
            f"largest difference {max(abs(col['value'] - ours[col['column']]) for col in spark):.1e} (approxQuantile edges vs a sample's)"
        )
    theirs = json.loads(e[2])
    print(f"(e) script: largest difference {max(abs(ours[k] - theirs[k]) for k in theirs):.1e}")


if __name__ == "__main__":
    main()
