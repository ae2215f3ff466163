"""Monte Carlo throughput: numpy engine, torch engine and torch.distributions.

Two measurements per case (normal vs studentt, two 10-d MVNs) and per value
(KL, JS), in samples per second:

* ``evaluate``: the log densities of P and Q and the per-draw terms on draws
  made beforehand; the same draws for the three back ends (numpy formulas,
  the same formulas on torch, ``torch.distributions`` ``log_prob``).
* ``end to end``: :func:`klcli.engines.montecarlo.estimate`, draws included.

Run: ``PYTHONPATH=src python benchmarks/bench_montecarlo.py [--samples N]``. Thread
counts matter on small machines: compare with ``OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1``.
A CUDA column is added when ``torch.cuda.is_available()``.
"""

from __future__ import annotations

import argparse
import math
import time

import numpy as np
import torch

from klcli.engines import montecarlo
from klcli.families._ops import NUMPY, TorchOps
from klcli.specs import parse_spec

LOG_2 = math.log(2.0)


def cases():
    rng = np.random.default_rng(0)
    a, b = rng.normal(size=(10, 10)), rng.normal(size=(10, 10))
    cov_p, cov_q = a @ a.T / 10 + np.eye(10), b @ b.T / 10 + np.eye(10)
    mvn_p = parse_spec(f"mvn(loc={np.zeros(10).tolist()}, covariance_matrix={cov_p.tolist()})")
    mvn_q = parse_spec(f"mvn(loc={np.full(10, 0.1).tolist()}, covariance_matrix={cov_q.tolist()})")
    return [
        ("normal vs studentt", parse_spec("normal(0, 1)"), parse_spec("studentt(3)"), 1),
        ("mvn 10-d vs mvn 10-d", mvn_p, mvn_q, 10),
    ]


def torch_distribution(d):
    t = lambda v: torch.as_tensor(np.asarray(v, dtype=np.float64))
    if d.name == "normal":
        return torch.distributions.Normal(t(d.loc), t(d.scale), validate_args=False)
    if d.name == "studentt":
        return torch.distributions.StudentT(t(d.df), t(d.loc), t(d.scale), validate_args=False)
    return torch.distributions.MultivariateNormal(t(d.loc), scale_tril=t(d.scale_tril), validate_args=False)


def best_of(function, repeat=5):
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return min(times)


def evaluate_with_ops(p, q, x_p, x_q, ops, value):
    lp, lq = p.log_prob(x_p, ops), q.log_prob(x_p, ops)
    if value == "KL":
        return float((lp - lq).mean())
    lp_q, lq_q = p.log_prob(x_q, ops), q.log_prob(x_q, ops)
    half_p = lp - (ops.logaddexp(lp, lq) - LOG_2)
    half_q = lq_q - (ops.logaddexp(lp_q, lq_q) - LOG_2)
    return 0.5 * float(half_p.mean() + half_q.mean())


def evaluate_with_torch_distributions(tp, tq, x_p, x_q, value):
    lp, lq = tp.log_prob(x_p), tq.log_prob(x_p)
    if value == "KL":
        return float((lp - lq).mean())
    lp_q, lq_q = tp.log_prob(x_q), tq.log_prob(x_q)
    half_p = lp - (torch.logaddexp(lp, lq) - LOG_2)
    half_q = lq_q - (torch.logaddexp(lp_q, lq_q) - LOG_2)
    return 0.5 * float(half_p.mean() + half_q.mean())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=1_000_000)
    args = parser.parse_args()
    cpu = TorchOps(torch, torch.device("cpu"))
    cuda = TorchOps(torch, torch.device("cuda")) if torch.cuda.is_available() else None
    header = f"{'case':22} {'value':5} {'stage':10} {'numpy':>10} {'torch cpu':>10} {'torch.dist':>10} {'cpu/np':>9} {'cpu/td':>9}"
    if cuda:
        header += f" {'torch cuda':>11}"
    print(f"samples/s (millions); torch {torch.__version__}, {torch.get_num_threads()} threads; numpy {np.__version__}")
    print("cpu/np: speed of the torch cpu engine over the numpy engine (goal <= 1.5); cpu/td: over torch.distributions (goal >= 1)")
    print(header)
    print("-" * len(header))
    for name, p, q, dim in cases():
        n = args.samples if dim == 1 else args.samples // 5
        rng = np.random.default_rng(1)
        x_p, x_q = p.sample(n, rng), q.sample(n, rng)
        t_p, t_q = cpu.asarray(x_p), cpu.asarray(x_q)
        tp, tq = torch_distribution(p), torch_distribution(q)
        for value in ("KL", "JS"):
            reference = evaluate_with_ops(p, q, x_p, x_q, NUMPY, value)
            assert abs(evaluate_with_ops(p, q, t_p, t_q, cpu, value) - reference) < 1e-9
            assert abs(evaluate_with_torch_distributions(tp, tq, t_p, t_q, value) - reference) < 1e-9
            rates = [
                n / best_of(lambda: evaluate_with_ops(p, q, x_p, x_q, NUMPY, value)),
                n / best_of(lambda: evaluate_with_ops(p, q, t_p, t_q, cpu, value)),
                n / best_of(lambda: evaluate_with_torch_distributions(tp, tq, t_p, t_q, value)),
            ]
            extra = ""
            if cuda:
                g_p, g_q = cuda.asarray(x_p), cuda.asarray(x_q)
                evaluate_with_ops(p, q, g_p, g_q, cuda, value)  # warm-up
                extra = f" {n / best_of(lambda: evaluate_with_ops(p, q, g_p, g_q, cuda, value)) / 1e6:11.2f}"
            print(
                f"{name:22} {value:5} {'evaluate':10} {rates[0] / 1e6:10.2f} {rates[1] / 1e6:10.2f} {rates[2] / 1e6:10.2f} "
                f"{rates[1] / rates[0]:9.2f} {rates[1] / rates[2]:9.2f}{extra}"
            )
            keys = ("kl_pq",) if value == "KL" else ("js",)
            end_to_end = [
                n / best_of(lambda: montecarlo.estimate(p, q, samples=n, seed=0, keys=keys), repeat=2),
                n / best_of(lambda: montecarlo.estimate(p, q, samples=n, seed=0, keys=keys, device="cpu"), repeat=2),
            ]
            extra = ""
            if cuda:
                extra = f" {n / best_of(lambda: montecarlo.estimate(p, q, samples=n, seed=0, keys=keys, device='cuda'), repeat=2) / 1e6:11.2f}"
            print(
                f"{name:22} {value:5} {'end to end':10} {end_to_end[0] / 1e6:10.2f} {end_to_end[1] / 1e6:10.2f} {'':>10} "
                f"{end_to_end[1] / end_to_end[0]:9.2f} {'':>9}{extra}"
            )


if __name__ == "__main__":
    main()
