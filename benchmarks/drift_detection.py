"""How often ``klcli drift`` flags a column, by table size and size of the change (its defaults).

Each trial checks a numeric column (standard normal; the current one shifted
by ``shift`` standard deviations) and a categorical one (six categories; the
first one's share raised by ``tilt``) together, as ``tests/test_drift_simulation.py``
does: the reference rows are drawn and binned as ``klcli drift`` bins them,
the current table's counts on those bins are drawn from the multinomial of
the true bin probabilities. Prints a Markdown table of the share of trials in
which the numeric column (shifts) or the categorical one (tilts) drifted, and
the false-drift rate of the whole table (no change, either column flagged).

Usage::

    python benchmarks/drift_detection.py              # 100 trials per cell
    python benchmarks/drift_detection.py --trials 30  # quicker
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from test_drift_simulation import SIZES, trial  # noqa: E402

SHIFTS = (0.1, 0.25, 0.5, 1.0)
TILTS = (0.05, 0.1, 0.2)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=100)
    args = parser.parse_args()
    rng = np.random.default_rng(11)
    header = ["rows (each table)", "false drift (no change)"] + [f"shift {s}σ" for s in SHIFTS] + [f"share +{t}" for t in TILTS]
    print("| " + " | ".join(header) + " |")
    print("| " + " | ".join(["---:"] * len(header)) + " |")
    started = time.perf_counter()
    for size in SIZES:
        cells = [f"{size:,}", f"{np.mean([trial(rng, size, size).drifted for _ in range(args.trials)]):.0%}"]
        cells += [f"{np.mean([trial(rng, size, size, shift=s).columns[0].drifted for _ in range(args.trials)]):.0%}" for s in SHIFTS]
        cells += [f"{np.mean([trial(rng, size, size, tilt=t).columns[1].drifted for _ in range(args.trials)]):.0%}" for t in TILTS]
        print("| " + " | ".join(cells) + " |", flush=True)
    print(f"\n{args.trials} trials per cell, {time.perf_counter() - started:.0f} s", file=sys.stderr)


if __name__ == "__main__":
    main()
