"""Discrete divergences with torch on a chosen device (``--device``), for large batches.

The same float64 terms as :mod:`klcli.discrete`, evaluated for whole blocks of
rows with ``torch.where`` instead of index lists (which suits a GPU): the
series where ``|t| < SERIES_THRESHOLD``, ``log1p`` of non-negative ratios
elsewhere, 0·log 0 = 0 and +inf where the reference has no mass. The result
has the same keys as :func:`klcli.discrete.divergences`; ``tests/test_discrete_torch.py``
checks it against that function on the CPU device.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from klcli.discrete import DENORMAL_LOG_RATIO, SERIES_J, SERIES_LOG_RATIO, SERIES_S1, zero_bins

#: Elements per step on the device: its temporaries (about 25 arrays of a step) stay near 200 MiB.
STEP_ELEMENTS = 1 << 20

_LOG2 = math.log(2.0)


def divergences(p, q, *, device: str, entropies: bool = True, log_p=None, log_q=None) -> dict:
    """KL both ways, JS and entropies of normalised rows, computed with torch on ``device``.

    ``p`` and ``q`` are 1-D or 2-D arrays (rows are distributions); ``log_p``
    and ``log_q`` are their logarithms when known more accurately (logits).
    Raises :class:`~klcli.errors.EngineUnavailable` when torch or the device
    is missing.
    """
    from klcli.engines.montecarlo import resolve_device

    ops = resolve_device(device)
    torch, where = ops.torch, ops.device
    p = np.asarray(p, dtype=np.float64)
    q = np.asarray(q, dtype=np.float64)
    one_d = p.ndim == 1
    k = p.shape[-1]
    rows_p, rows_q = p.reshape(-1, k), q.reshape(-1, k)
    logs = None if log_p is None else (np.asarray(log_p, np.float64).reshape(rows_p.shape), np.asarray(log_q, np.float64).reshape(rows_p.shape))
    step = max(1, STEP_ELEMENTS // k)
    columns = min(k, STEP_ELEMENTS)  # a row longer than a step is summed a piece at a time
    keys = ("kl_pq", "kl_qp", "js", "entropy_p", "entropy_q") if entropies else ("kl_pq", "kl_qp", "js")
    sums: dict[str, list[np.ndarray]] = {key: [] for key in keys}
    for r0 in range(0, rows_p.shape[0], step):
        totals: dict = {}
        for c0 in range(0, k, columns):
            block = (slice(r0, r0 + step), slice(c0, c0 + columns))
            as_tensor = lambda a: torch.as_tensor(a[block], dtype=torch.float64, device=where)  # noqa: E731, B023 (called in this iteration)
            lp_lq = None if logs is None else (as_tensor(logs[0]), as_tensor(logs[1]))
            for key, value in _block_sums(torch, as_tensor(rows_p), as_tensor(rows_q), lp_lq, entropies).items():
                totals[key] = value if key not in totals else totals[key] + value
        for key, value in totals.items():
            sums[key].append(value.cpu().numpy())
    out: dict[str, Any] = {key: np.concatenate(parts) for key, parts in sums.items()}  # arrays, then counts and index lists
    out["js"] = 0.5 * out["js"]
    for key in ("entropy_p", "entropy_q"):
        if key in out:
            out[key] = 0.0 - out[key]
    infinite = np.isinf(out["kl_pq"]) | np.isinf(out["kl_qp"])
    counts: dict[str, Any] = {"inf_pq": 0, "inf_qp": 0, "inf_pq_index": [], "inf_qp_index": []}
    for row in np.flatnonzero(infinite):  # only rows with an infinite KL are searched for their zero bins
        found = zero_bins(rows_p[row], rows_q[row], *((logs[0][row], logs[1][row]) if logs else (None, None)))
        for which in ("inf_pq", "inf_qp"):
            counts[which] += found[which]
            listed = counts[which + "_index"]
            listed.extend(row * k + i for i in found[which + "_index"][: max(0, 10 - len(listed))])
    out.update(counts)
    if one_d:
        out = {key: (float(value[0]) if isinstance(value, np.ndarray) else value) for key, value in out.items()}
    return out


def _horner(coefficients, u):
    out = coefficients[0] + 0.0 * u
    for c in coefficients[1:]:
        out = out * u + c
    return out


def _block_sums(torch, p, q, logs, entropies: bool) -> dict:
    """Row sums of the terms for one block of rows (tensors on the device)."""
    s = p + q
    d = p - q
    p_zero = p == 0 if logs is None else torch.isneginf(logs[0])
    q_zero = q == 0 if logs is None else torch.isneginf(logs[1])
    if logs is None:
        ad = d.abs()
        low = torch.minimum(p, q)
        abs_a = torch.log1p(ad / low)
        ell = torch.log1p(ad / s)
        kl_pq = (p * abs_a - ad).abs()
        kl_qp = (ad - q * abs_a).abs()
        js2 = s * ell - low * abs_a
        t = d / s
    else:
        a = logs[0] - logs[1]
        b = _LOG2 - torch.logaddexp(torch.zeros_like(a), -a)
        qa = q * a
        kl_pq, kl_qp, js2 = p * a - d, d - qa, s * b - qa
        abs_a = a.abs()
        t = torch.tanh(0.5 * a)
    # bins whose ratio over- or underflowed, or is denormal: separate logarithms
    extreme = (abs_a > DENORMAL_LOG_RATIO) & ~(p_zero | q_zero)
    if bool(extreme.any()):
        a_e = torch.log(p) - torch.log(q) if logs is None else logs[0] - logs[1]
        b_e = _LOG2 - torch.logaddexp(torch.zeros_like(a_e), -a_e)
        kl_pq = torch.where(extreme, p * a_e - d, kl_pq)
        kl_qp = torch.where(extreme, d - q * a_e, kl_qp)
        js2 = torch.where(extreme, s * b_e - q * a_e, js2)
    # nearly equal bins: the series
    u = t * t
    s1 = _horner(SERIES_S1, u)
    big_s = 1.0 + u * s1
    mu = 0.5 * s * u
    small = abs_a < SERIES_LOG_RATIO
    kl_pq = torch.where(small, 2.0 * mu * (big_s + t * s1), kl_pq)
    kl_qp = torch.where(small, 2.0 * mu * (big_s - t * s1), kl_qp)
    js2 = torch.where(small, mu * _horner(SERIES_J, u), js2)
    # empty bins: 0·log 0 = 0, KL = +inf where the reference has none, JS finite
    inf = torch.full_like(p, math.inf)
    kl_pq = torch.where(q_zero & ~p_zero, inf, torch.where(p_zero, q, kl_pq))
    kl_qp = torch.where(p_zero & ~q_zero, inf, torch.where(q_zero, p, kl_qp))
    js2 = torch.where(p_zero, _LOG2 * q, torch.where(q_zero, _LOG2 * p, js2))
    out = {"kl_pq": kl_pq.sum(-1), "kl_qp": kl_qp.sum(-1), "js": js2.sum(-1)}
    if entropies:
        log_p = torch.log(p) if logs is None else logs[0]
        log_q = torch.log(q) if logs is None else logs[1]
        out["entropy_p"] = torch.where(p_zero, torch.zeros_like(p), p * log_p).sum(-1)
        out["entropy_q"] = torch.where(q_zero, torch.zeros_like(q), q * log_q).sum(-1)
    return out
