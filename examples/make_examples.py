"""Regenerate the example files in examples/data (fixed seed, so the files are stable).

    python examples/make_examples.py
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

OUT = Path(__file__).parent / "data"


def main() -> None:
    rng = np.random.default_rng(2026)
    OUT.mkdir(exist_ok=True)

    # Request latency histograms (30 bins of 10 ms): counts, one column with a header.
    edges = np.arange(0, 310, 10)
    for name, scale in (("latency_baseline.csv", 60.0), ("latency_today.csv", 68.0)):
        counts, _ = np.histogram(rng.gamma(2.0, scale / 2.0, size=20_000), bins=edges)
        (OUT / name).write_text("count\n" + "\n".join(str(c) for c in counts) + "\n")

    # Browser share, labelled (label,weight) with different label sets.
    baseline = {"chrome": 6120, "safari": 2410, "firefox": 720, "edge": 530, "opera": 120}
    today = {"chrome": 5930, "safari": 2650, "firefox": 610, "edge": 590, "samsung": 95}
    for name, table in (("browsers_baseline.csv", baseline), ("browsers_today.csv", today)):
        (OUT / name).write_text("browser,visits\n" + "".join(f"{k},{v}\n" for k, v in table.items()))

    # Die rolls as JSON lists; token counts as JSON objects.
    (OUT / "die_fair.json").write_text(json.dumps([1 / 6] * 6) + "\n")
    (OUT / "die_rolls.json").write_text(json.dumps(np.bincount(rng.choice(6, 600, p=[0.15, 0.15, 0.15, 0.15, 0.15, 0.25]), minlength=6).tolist()) + "\n")
    (OUT / "tokens_reference.json").write_text(json.dumps({"the": 1210, "of": 640, "and": 590, "to": 520, "a": 470, "in": 400}, indent=1) + "\n")
    (OUT / "tokens_sample.json").write_text(json.dumps({"the": 1150, "of": 610, "and": 640, "to": 515, "a": 480, "in": 380, "is": 60}, indent=1) + "\n")

    # Probability vectors (1-D NPY) and a batch of 8 distributions (2-D NPY, one per row).
    p = rng.dirichlet(np.full(50, 5.0))
    np.save(OUT / "hist_p.npy", p)
    np.save(OUT / "hist_q.npy", rng.dirichlet(p * 500))
    rows = rng.dirichlet(np.full(10, 2.0), size=8)
    np.save(OUT / "batch_p.npy", rows)
    np.save(OUT / "batch_q.npy", np.array([rng.dirichlet(r * 200 + 0.1) for r in rows]))
    np.savez(OUT / "splits.npz", train=rows[0], test=rows[1])

    # Teacher and student logits for knowledge distillation: 16 examples, 10 classes.
    teacher = rng.normal(0, 3, size=(16, 10))
    student = 0.7 * teacher + rng.normal(0, 1, size=(16, 10))
    np.save(OUT / "teacher_logits.npy", teacher.astype(np.float32))
    np.save(OUT / "student_logits.npy", student.astype(np.float32))

    # Raw 2-D observations before and after a change (--from samples): KL is 0.125 nats both ways.
    header = "x,y\n"
    for name, shift in (("samples_before.csv", 0.0), ("samples_after.csv", 0.5)):
        points = rng.normal(0.0, 1.0, size=(3000, 2)) + [shift, 0.0]
        (OUT / name).write_text(header + "".join(f"{x:.6f},{y:.6f}\n" for x, y in points))


if __name__ == "__main__":
    main()
