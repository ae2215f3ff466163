"""KL and JS from sampled log-probabilities (``--from sampled-logprobs``).

RL and RLHF trainers (PPO, GRPO, TRPO) log, for each sampled action or token
``xᵢ``, its log-probability under the policy that drew it (the *sampler* S) and
under another policy O (old policy, reference model). The full distributions are
gone; with ``ρᵢ = log O(xᵢ) − log S(xᵢ)`` the draws still give, without bias:

================  =============================================  ============
quantity          estimator (mean over draws from S)             per draw
================  =============================================  ============
KL(S‖O)           k3 (Schulman 2020): unbiased, never negative   ``e^ρ − 1 − ρ``
KL(S‖O)           k1: unbiased, often negative                    ``−ρ``
KL(S‖O)           k2: biased (close for nearby policies)         ``ρ²/2``
KL(O‖S)           importance weights, same control variate       ``ρe^ρ − e^ρ + 1``
JS(S, O)          importance weights on M = (S + O)/2            ``f(ρ) ≥ 0``
================  =============================================  ============

k3 and the other two importance forms rely on ``E_S[e^ρ] = 1``, true when the
draws really come from S and S covers O. The *sampler check* reports
``mean_ratio`` (the mean of ``e^ρ``) with its standard error; many standard
errors from 1 means the logged log-probabilities are not those of the policy
that drew the tokens (generation with another temperature, top-k/top-p, another
model or tokenizer) — the usual root of "KL is negative" reports. The tail of
the weights ``e^ρ`` is checked with PSIS's Pareto k̂.

Sequence level: with group ids, log-ratios are summed within each group first, so
the estimate is the KL between sequence distributions (k3 of a sum is not the sum
of per-token k3).

>>> rng = np.random.default_rng(0)
>>> x = rng.normal(size=100_000)                      # draws from S = N(0, 1)
>>> log_s, log_o = -x**2 / 2, -(x - 0.5)**2 / 2        # O = N(0.5, 1); KL = 0.125 both ways
>>> c = estimate_sampled(log_s, log_o, drawn_from="p")
>>> abs(c.values["kl_pq"] - 0.125) < 4 * c.stderr["kl_pq"], abs(c.values["kl_qp"] - 0.125) < 4 * c.stderr["kl_qp"]
(True, True)
>>> c.info["draws_match_sampler"]
True
"""

from __future__ import annotations

import math
from typing import Any
import numpy as np

from klcli.errors import InputError
from klcli.engines.psis import UNRELIABLE, pareto_k
from klcli.result import Comparison

LN2 = math.log(2.0)

#: ``draws_match_sampler`` is false when ``mean_ratio`` is more than this many
#: standard errors from 1 (a correct sampler crosses it in well under 1% of runs).
SAMPLER_Z = 4.0

DRAWN_FROM = ("p", "q")


def estimate_sampled(
    log_p,
    log_q,
    *,
    drawn_from: str = "p",
    groups=None,
    mask=None,
    reduction: str = "batchmean",
    names: tuple[str, str] = ("P", "Q"),
) -> Comparison:
    """Estimate KL both ways, JS and the k1/k2/k3 estimators from sampled log-probabilities.

    ``log_p[i]``, ``log_q[i]``: log p(xᵢ) and log q(xᵢ) of draws xᵢ taken from P
    (``drawn_from="p"``) or from Q. ``groups`` (sequence ids, one per row) sum the
    log-ratios of a sequence first; ``mask`` (one per row, 0 = padding) drops rows.
    ``reduction="none"`` gives one value per draw (row or group). Values in nats.
    """
    if drawn_from not in DRAWN_FROM:
        raise InputError(f"`--drawn-from` must be p or q, not {drawn_from!r}")
    log_p, log_q = _column(log_p, names[0]), _column(log_q, names[1])
    if log_p.size != log_q.size:
        raise InputError(f"{names[0]} has {log_p.size:,} log-probabilities and {names[1]} {log_q.size:,}: they must be of the same draws")
    keep = None
    if mask is not None:
        mask = _column(mask, "--mask")
        _same_length(mask, log_p, "--mask", names[0])
        if np.isnan(mask).any():
            raise InputError("--mask: NaN in the mask (use 1 to keep a row, 0 to drop it)")
        keep = mask != 0
    sampler, other = (log_p, log_q) if drawn_from == "p" else (log_q, log_p)
    sampler_name, other_name = names if drawn_from == "p" else names[::-1]
    _check_logprobs(sampler, sampler_name, keep, sampler=True)
    _check_logprobs(other, other_name, keep, sampler=False)
    with np.errstate(invalid="ignore"):
        rho = other - sampler  # -inf where the other side gives the draw probability 0
    group_ids = None
    if groups is not None:
        groups = _column(groups, "--group", dtype=None)
        _same_length(groups, log_p, "--group", names[0])
        if groups.dtype.kind not in "iub" and not np.isfinite(groups).all():
            raise InputError("--group: group ids must be finite numbers")
        if keep is not None:
            groups, rho = groups[keep], rho[keep]
        group_ids, rho = group_sums(rho, groups)
    elif keep is not None:
        rho = rho[keep]
    if rho.size < 2:
        raise InputError(f"need at least 2 draws{' (groups)' if groups is not None else ''} to estimate a divergence, got {rho.size}")
    return _comparison(rho, drawn_from, reduction, group_ids)


def _column(values, name: str, dtype=float) -> np.ndarray:
    array = np.asarray(values, dtype=dtype)
    if array.ndim == 2 and 1 in array.shape:
        array = array.ravel()
    if array.ndim != 1:
        raise InputError(f"{name}: expected one column of numbers (one per draw), got an array of shape {array.shape}")
    return array


def _same_length(values: np.ndarray, reference: np.ndarray, name: str, reference_name: str) -> None:
    if values.size != reference.size:
        raise InputError(f"{name} has {values.size:,} rows but {reference_name} has {reference.size:,}: one per draw")


def _check_logprobs(values: np.ndarray, name: str, keep, *, sampler: bool) -> None:
    """NaN and +inf are never log-probabilities; -inf is impossible for the sampler's own draws."""
    if np.isfinite(values).all():  # the common case, one pass
        return
    checked = values if keep is None else np.where(keep, values, 0.0)
    bad = np.isnan(checked) | np.isposinf(checked)
    if sampler:
        bad |= np.isneginf(checked)
    if bad.any():
        row = int(np.argmax(bad))
        value = values[row]
        why = "a draw cannot have probability 0 under the policy that drew it" if np.isneginf(value) else "log-probabilities must be finite"
        raise InputError(f"{name}: row {row + 1}: log-probability {value} ({why})")


def group_sums(values: np.ndarray, groups: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The distinct group ids (sorted) and the sum of ``values`` in each.

    Ids that are small non-negative integers (the usual sequence index) are
    summed with one ``bincount``; others are sorted first. A sum with a -inf
    term is -inf.

    >>> group_sums(np.array([1.0, 2.0, 4.0]), np.array([5, 3, 5]))
    (array([3, 5]), array([2., 5.]))
    """
    if groups.size and groups.min() >= 0 and groups.max() <= 2 * groups.size + 1_000_000 and np.all(groups == np.floor(groups)):
        ids = groups.astype(np.int64)
        present = np.bincount(ids) > 0
        return np.flatnonzero(present), np.bincount(ids, weights=values)[present]
    group_ids, inverse = np.unique(groups, return_inverse=True)
    return group_ids, np.bincount(inverse, weights=values, minlength=group_ids.size)


def _terms(rho: np.ndarray) -> dict[str, np.ndarray]:
    """Per-draw terms of every estimator (see the module table)."""
    with np.errstate(over="ignore", invalid="ignore"):
        w = np.exp(rho)
        small = np.abs(rho) < 1e-4
        k3 = np.where(small, rho**2 / 2 + rho**3 / 6 + rho**4 / 24, np.expm1(rho) - rho)
        # ρe^ρ − e^ρ + 1 = e^ρ(ρ − 1) + 1; 0·(−inf) at ρ = −inf is the limit 1
        reverse = np.where(np.isneginf(rho), 1.0, np.where(small, rho**2 / 2 + rho**3 / 3 + rho**4 / 8, w * (rho - 1) + 1))
        # JS per draw from S: ½(ln2 − softplus(ρ)) + ½e^ρ(ln2 − softplus(−ρ)), both halves ≥ 0 in sum
        js = 0.5 * (LN2 - np.logaddexp(0.0, rho)) + np.where(np.isneginf(rho), 0.0, 0.5 * w * (LN2 - np.logaddexp(0.0, -rho)))
    return {"k1": -rho, "k2": rho**2 / 2, "k3": np.maximum(k3, 0.0), "reverse": np.maximum(reverse, 0.0), "js": np.maximum(js, 0.0), "ratio": w}


def _mean_and_stderr(values: np.ndarray) -> tuple[float, float]:
    if np.isposinf(values).any():
        return float("inf"), float("inf")
    with np.errstate(over="ignore", invalid="ignore"):
        mean = float(values.mean())
        stderr = float(values.std(ddof=1) / math.sqrt(values.size))
    return mean, (stderr if math.isfinite(stderr) else float("inf"))


def _comparison(rho: np.ndarray, drawn_from: str, reduction: str, group_ids) -> Comparison:
    terms = _terms(rho)
    n = rho.size
    direct, reverse = ("kl_pq", "kl_qp") if drawn_from == "p" else ("kl_qp", "kl_pq")
    sampler, other = ("P", "Q") if drawn_from == "p" else ("Q", "P")
    direction = f"KL({sampler}‖{other})"
    estimators: dict[str, dict[str, Any]] = {}
    for name, how in (
        ("k1", "unbiased, can be negative"),
        ("k2", "biased: ½E[ρ²], close when the policies are near"),
        ("k3", "unbiased, never negative"),
    ):
        value, error = _mean_and_stderr(terms[name])
        estimators[name] = {"value": value, "stderr": error, "estimates": direct, "direction": direction, "property": how}
    mean_ratio, ratio_stderr = _mean_and_stderr(terms["ratio"])
    finite = rho[np.isfinite(rho)]
    khat = pareto_k(np.exp(finite - finite.max())) if finite.size else None  # k̂ of the weights e^ρ
    z = abs(mean_ratio - 1) / ratio_stderr if ratio_stderr > 0 else (0.0 if mean_ratio == 1 else float("inf"))
    matches = bool(z <= SAMPLER_Z)
    notes = [
        f"draws from {sampler}: {direct} by k3 (k1 {_fmt(estimators['k1']['value'])}, k2 {_fmt(estimators['k2']['value'])}); "
        f"{reverse} and JS by importance weights {other}/{sampler}"
    ]
    notes.append(
        f"sampler check: mean {other.lower()}/{sampler.lower()} = {_fmt(mean_ratio)} ± {_fmt(ratio_stderr)} over {n:,} draws "
        f"({'consistent with 1: the draws match the sampler' if matches else 'not 1'})"
    )
    if group_ids is not None:
        notes.append(f"{n:,} sequences: log-ratios summed within each --group before estimating")
    if not matches:
        notes.append(
            f"draws_match_sampler false: E[{other.lower()}/{sampler.lower()}] over draws from {sampler} should be 1, but mean_ratio is "
            f"{_fmt(mean_ratio)} ± {_fmt(ratio_stderr)} ({z:.1f} standard errors away): the logged log-probabilities of {sampler} are not "
            f"those of the policy that drew the samples (generation temperature, top-k/top-p, another model or tokenizer), or {other} has "
            f"mass where {sampler} has none; every estimate here is then biased and k1 can go negative"
        )
    if khat is not None and khat >= UNRELIABLE:
        notes.append(
            f"unreliable: the importance weights {other}/{sampler} are heavy-tailed (Pareto k̂ = {_fmt(khat)} ≥ {UNRELIABLE}): "
            f"the standard errors of {reverse}, JS and mean_ratio understate the error"
        )
    if estimators["k1"]["value"] < 0:
        notes.append(f"k1 is negative ({_fmt(estimators['k1']['value'])}): it is unbiased but noisy; k3 is the value to use")
    info: dict[str, Any] = {
        "draws": n,
        "drawn_from": drawn_from,
        "estimators": estimators,
        "mean_ratio": mean_ratio,
        "mean_ratio_stderr": ratio_stderr,
        "draws_match_sampler": matches,
        "pareto_k": khat,
    }
    if group_ids is not None:
        info["groups"] = n
    method = {direct: "k3", reverse: "importance", "js": "importance"}
    per_draw = {direct: terms["k3"], reverse: terms["reverse"], "js": terms["js"]}
    values: dict[str, Any] = {}
    stderr: dict[str, Any] = {}
    if reduction == "none":
        if group_ids is not None:
            info["group_ids"] = group_ids
        values = {direct: per_draw[direct], reverse: per_draw[reverse]}
        notes.append(
            f"--reduction none: one single-draw estimate per {'sequence' if group_ids is not None else 'row'} (their mean is the "
            "batchmean estimate); JS is left out, since its single-draw terms are not bounded by ln 2"
        )
    else:
        scale = n if reduction == "sum" else 1
        for key, column in per_draw.items():
            mean, err = _mean_and_stderr(column)
            values[key], stderr[key] = mean * scale, err * scale
        for name in estimators:
            estimators[name]["value"] *= scale
            estimators[name]["stderr"] *= scale
        info.update(reduction=reduction, rows=n)  # a sum of n JS terms is bounded by n ln 2 (Comparison.from_nats)
    method["symmetric_kl"] = "importance"
    return Comparison.from_nats(values, method, stderr, info=info, notes=notes)


def _fmt(value: float) -> str:
    return f"{value:.4g}"
