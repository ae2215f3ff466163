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
    (OUT / "die_rolls.json").write_text(
        json.dumps(np.bincount(rng.choice(6, 600, p=[0.15, 0.15, 0.15, 0.15, 0.15, 0.25]), minlength=6).tolist()) + "\n"
    )
    (OUT / "tokens_reference.json").write_text(json.dumps({"the": 1210, "of": 640, "and": 590, "to": 520, "a": 470, "in": 400}, indent=1) + "\n")
    (OUT / "tokens_sample.json").write_text(
        json.dumps({"the": 1150, "of": 610, "and": 640, "to": 515, "a": 480, "in": 380, "is": 60}, indent=1) + "\n"
    )

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

    language_model_outputs()


def language_model_outputs() -> None:
    """Next-token logits of a model (float16) and of its quantised copy (bfloat16) in one safetensors file.

    Two sequences of 24 positions over a 64-token vocabulary; the second is padded after 18 positions
    (``lm_mask.npy``), and ``lm_targets.npy`` holds the observed tokens (-100 on padding).
    """
    rng = np.random.default_rng(19)
    base = rng.normal(0, 2.5, size=(2, 24, 64)).astype(np.float32)
    quantised = base + rng.normal(0, 0.15, size=base.shape).astype(np.float32)
    bits = quantised.view(np.uint32)
    bfloat16 = ((bits + 0x7FFF + ((bits >> 16) & 1)) >> 16).astype("<u2")  # round to nearest even
    mask = np.ones((2, 24), dtype=bool)
    mask[1, 18:] = False
    targets = np.where(mask, np.argmax(base + rng.gumbel(size=base.shape), axis=-1), -100)
    tensors = {"base": ("F16", base.astype("<f2")), "quantised": ("BF16", bfloat16)}
    header, offset = {}, 0
    for name, (dtype, array) in tensors.items():
        header[name] = {"dtype": dtype, "shape": list(array.shape), "data_offsets": [offset, offset + array.nbytes]}
        offset += array.nbytes
    text = json.dumps(header).encode()
    text += b" " * (-len(text) % 8)
    data = b"".join(array.tobytes() for _, array in tensors.values())
    (OUT / "lm_logits.safetensors").write_bytes(len(text).to_bytes(8, "little") + text + data)
    np.save(OUT / "lm_mask.npy", mask)
    np.save(OUT / "lm_targets.npy", targets.astype(np.int64))


if __name__ == "__main__":
    main()
