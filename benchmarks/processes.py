"""Whole-process measurements shared by the benchmarks: best wall time and peak RSS of a command."""

from __future__ import annotations

import subprocess
import time


def best_of(command: list[str], repeats: int = 3) -> tuple[float, float]:
    """Best wall time (s) of ``repeats`` runs of ``command`` and the largest peak RSS (MiB), by GNU time."""
    best, peak = float("inf"), 0.0
    for _ in range(repeats):
        start = time.perf_counter()
        done = subprocess.run(["/usr/bin/time", "-f", "%M", *command], capture_output=True, text=True)
        elapsed = time.perf_counter() - start
        if done.returncode != 0:
            raise SystemExit(done.stderr)
        best = min(best, elapsed)
        peak = max(peak, int(done.stderr.strip().splitlines()[-1]) / 1024)
    return best, peak
