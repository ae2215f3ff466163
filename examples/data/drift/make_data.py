"""Write reference.csv and current.csv, the example tables of ``klcli drift``.

A fixed seed makes the files reproducible. Of the six columns, two drift in
current.csv: ``session_minutes`` (its mean moves by one standard deviation)
and ``plan`` (a changed mix, and a category, ``enterprise``, that the
reference never had). ``age``, ``country``, ``visits`` and ``mobile`` are fresh
samples of the same distributions, with ``age`` missing in about 2% of rows
on both sides.

    python examples/data/drift/make_data.py
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent
ROWS = 4000
SEED = 20240601


def table(rng: np.random.Generator, *, drifted: bool) -> pd.DataFrame:
    age = rng.normal(41, 12, ROWS).round().clip(18, 90)
    age[rng.random(ROWS) < 0.02] = np.nan
    plans = ["free", "pro", "team"] + (["enterprise"] if drifted else [])
    mix = [0.45, 0.30, 0.15, 0.10] if drifted else [0.60, 0.30, 0.10]
    return pd.DataFrame(
        {
            "age": age,
            "session_minutes": rng.lognormal(2.0 + (0.8 if drifted else 0.0), 0.8, ROWS).round(2),
            "country": rng.choice(["DE", "FR", "US", "IN", "BR"], ROWS, p=[0.25, 0.15, 0.3, 0.2, 0.1]),
            "plan": rng.choice(plans, ROWS, p=mix),
            "visits": rng.poisson(3, ROWS),
            "mobile": rng.random(ROWS) < 0.55,
        }
    )


def main() -> None:
    rng = np.random.default_rng(SEED)
    table(rng, drifted=False).to_csv(HERE / "reference.csv", index=False)
    table(rng, drifted=True).to_csv(HERE / "current.csv", index=False)


if __name__ == "__main__":
    main()
