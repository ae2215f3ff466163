"""Benchmark ``--from logits`` on LLM-sized batches: whole process, time and peak RSS.

Compares, side by side and in one run on this machine:
- ``klcli compare P Q --from logits`` (numpy blocks on every core),
- the same with ``--device cpu`` (torch blocks),
- a plain 256-row chunked torch float64 script computing KL both ways and JS,
- optionally another klcli checkout (``--before SRC``, e.g. the whole-array
  code before streaming), for sizes it can hold,

each as a separate process whose peak RSS is read from ``wait4``. Inputs are
generated on the fly (a "quantised" Q = P + small noise) in a temporary
folder, and deleted afterwards.

    python benchmarks/bench_logits.py --rows 4000 --vocab 32000 --dtype float32
    python benchmarks/bench_logits.py --rows 16000 --vocab 128000 --dtype float16 --repeat 1
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

SRC = str(Path(__file__).resolve().parents[1] / "src")

TORCH_SCRIPT = """
import json, sys
import numpy as np, torch
p_all, q_all = np.load(sys.argv[1], mmap_mode="r"), np.load(sys.argv[2], mmap_mode="r")
chunk = 256
sums = {"kl_pq": 0.0, "kl_qp": 0.0, "js": 0.0}
for r0 in range(0, p_all.shape[0], chunk):
    lp = torch.log_softmax(torch.from_numpy(np.array(p_all[r0:r0 + chunk])).double(), -1)
    lq = torch.log_softmax(torch.from_numpy(np.array(q_all[r0:r0 + chunk])).double(), -1)
    p, q = lp.exp(), lq.exp()
    lm = torch.logaddexp(lp, lq) - np.log(2.0)
    sums["kl_pq"] += float((p * (lp - lq)).sum())
    sums["kl_qp"] += float((q * (lq - lp)).sum())
    sums["js"] += float(0.5 * ((p * (lp - lm)).sum() + (q * (lq - lm)).sum()))
n = p_all.shape[0]
print(json.dumps({key: value / n for key, value in sums.items()}))
"""


def run(command: list[str], src: str = SRC) -> tuple[float, float, float, str]:
    """Wall time (s), CPU time (s), peak RSS (MiB) and stdout of one process (klcli imported from ``src``).

    Linux keeps a process's peak RSS across ``exec``, so this process stays
    small (the inputs are written by a child) lest its own peak be reported.
    """
    env = dict(os.environ, PYTHONPATH=src)
    start = time.perf_counter()
    process = subprocess.Popen(command, stdout=subprocess.PIPE, env=env)
    out = process.stdout.read()
    _, status, usage = os.wait4(process.pid, 0)
    wall = time.perf_counter() - start
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode:
        raise SystemExit(f"{command[:4]} failed with exit code {process.returncode}")
    return wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024, out.decode()


def make_pair(folder: Path, rows: int, vocab: int, dtype: str) -> tuple[Path, Path]:
    """P: logits with a heavy head; Q: P plus noise of 0.05 (a quantised model), written in blocks."""
    rng = np.random.default_rng(0)
    paths = folder / "p.npy", folder / "q.npy"
    arrays = [np.lib.format.open_memmap(path, mode="w+", dtype=dtype, shape=(rows, vocab)) for path in paths]
    step = max(1, (1 << 24) // vocab)
    for r0 in range(0, rows, step):
        r1 = min(rows, r0 + step)
        logits = rng.standard_normal((r1 - r0, vocab), dtype=np.float32) * 3
        arrays[0][r0:r1] = logits
        arrays[1][r0:r1] = logits + 0.05 * rng.standard_normal((r1 - r0, vocab), dtype=np.float32)
    for array in arrays:
        array.flush()
    del arrays
    return paths


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=4000)
    parser.add_argument("--vocab", type=int, default=32000)
    parser.add_argument("--dtype", default="float32", choices=["float16", "float32"])
    parser.add_argument("--repeat", type=int, default=2, help="runs of each command; the best is shown")
    parser.add_argument("--folder", default=None, help="where to write the inputs (default: a temporary folder)")
    parser.add_argument("--skip-torch-device", action="store_true")
    parser.add_argument("--before", default=None, metavar="SRC", help="also time the klcli in this src folder")
    parser.add_argument("--generate", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.generate:
        make_pair(Path(args.generate), args.rows, args.vocab, args.dtype)
        return
    folder = Path(tempfile.mkdtemp(dir=args.folder))
    try:
        p, q = folder / "p.npy", folder / "q.npy"
        subprocess.run(
            [sys.executable, __file__, "--generate", str(folder), "--rows", str(args.rows), "--vocab", str(args.vocab), "--dtype", args.dtype],
            check=True,
        )
        size = p.stat().st_size / 2**20
        print(f"{args.rows:,} x {args.vocab:,} {args.dtype} logits, {size:,.0f} MiB a side; best of {args.repeat}; cores: {os.cpu_count()}")
        klcli = [sys.executable, "-m", "klcli", "compare", str(p), str(q), "--from", "logits", "-f", "json"]
        commands = {"klcli (numpy blocks)": klcli}
        if not args.skip_torch_device:
            commands["klcli --device cpu (torch blocks)"] = klcli + ["--device", "cpu"]
        commands["torch float64, 256-row chunks"] = [sys.executable, "-c", TORCH_SCRIPT, str(p), str(q)]
        if args.before:
            commands["klcli from --before"] = klcli
        for path in (p, q):  # warm the page cache for every contender alike
            with open(path, "rb") as handle:
                while handle.read(1 << 24):
                    pass
        results = {}
        for name, command in commands.items():
            best = None
            for _ in range(args.repeat):
                outcome = run(command, args.before if name == "klcli from --before" else SRC)
                best = outcome if best is None or outcome[0] < best[0] else best
            results[name] = best
        reference = results["torch float64, 256-row chunks"]
        values = {name: json.loads(out) for name, (*_, out) in results.items()}
        print(f"{'':36} {'wall s':>8} {'x torch':>8} {'CPU s':>8} {'peak RSS MiB':>13} {'kl_pq':>14}")
        for name, (wall, cpu, rss, _) in results.items():
            print(f"{name:36} {wall:8.2f} {wall / reference[0]:8.2f} {cpu:8.2f} {rss:13,.0f} {values[name]['kl_pq']:14.10g}")
        ref = values["torch float64, 256-row chunks"]
        for name, got in values.items():
            worst = max(abs(got[k] - ref[k]) / abs(ref[k]) for k in ("kl_pq", "kl_qp", "js"))
            print(f"{name}: largest relative difference from the torch script in kl_pq, kl_qp, js: {worst:.1e}")
    finally:
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
