"""Batches of parametric distributions: one comparison per member, combined by ``--reduction``.

The batch rule (the same as for histogram batches): the leading axes of the
parameters are a batch, the last axis is the event; P and Q are broadcast to one
batch shape first (:func:`klcli.parametric.broadcast_pair`). Each member is one
comparison; ``batchmean`` averages the members, ``sum`` adds them, ``none``
keeps one value per member (row-major order).

KL values with a registered closed form are computed for the whole batch at
once; every other value (JS, pairs without a closed form) member by member
with the engine the router would use for that member alone.

Examples
--------
>>> from klcli.specs import parse_spec
>>> p = parse_spec("categorical(probs=[[0.1, 0.2, 0.3], [0.5, 0.3, 0.2]])")
>>> q = parse_spec("categorical(probs=[[0.4, 0.3, 0.3], [0.2, 0.7, 0.1]])")
>>> c = compare_batch(p, q, reduction="none", engine="closed")
>>> c.values["kl_pq"].round(5).tolist()
[0.14462, 0.34259]
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from klcli import closed_form
from klcli.discrete import REDUCTIONS
from klcli.errors import EngineUnavailable, UsageError
from klcli.families import Distribution, Univariate
from klcli.result import Comparison

_KEYS = ("kl_pq", "kl_qp", "js", "entropy_p", "entropy_q")
_RANK = {"exact": 0, "closed_form": 1, "quadrature": 2, "monte_carlo": 3}


def compare_batch(
    p: Distribution,
    q: Distribution,
    *,
    engine: str = "auto",
    samples: int = 100_000,
    seed: int | None = 0,
    device: str | None = None,
    reduction: str = "batchmean",
) -> Comparison:
    """Compare two distributions of one batch shape member by member (nats), then reduce.

    Monte Carlo members get seeds ``seed, seed + 1, ...`` in row-major order, so
    their errors are independent and the reported standard error of a mean is
    ``sqrt(sum se²) / n``.
    """
    from klcli.parametric import _check_pair, compare_distributions

    if reduction not in REDUCTIONS:
        raise UsageError(f"`--reduction` must be one of {', '.join(REDUCTIONS)}, not {reduction!r}")
    first = (0,) * len(p.batch_shape)
    _check_pair(p.element(first), q.element(first))
    n = int(np.prod(p.batch_shape))
    columns: dict[str, np.ndarray] = {}
    methods: dict[str, list[str]] = {}
    errors: dict[str, np.ndarray] = {}
    notes: list[str] = []
    info: dict[str, Any] = {}
    reasons: dict[str, str] = {}
    if engine in ("auto", "closed"):
        for key, a, b in (("kl_pq", p, q), ("kl_qp", q, p)):
            try:
                columns[key] = closed_form.kl_values(a, b).ravel()
                methods[key] = ["closed_form"]
            except closed_form.NoClosedForm as reason:
                reasons[key] = str(reason)
        for key, side in (("entropy_p", p), ("entropy_q", q)):
            values = side.entropy_values()
            if values is not None:
                columns[key] = np.asarray(values, dtype=np.float64).ravel()
                methods[key] = ["closed_form"]
    wanted = [key for key in ("kl_pq", "kl_qp", "js") if key not in columns]
    if engine == "closed":
        if "js" in wanted:
            notes.append("js has no closed form and is left out; use --engine quad, mc or auto for it")
            wanted.remove("js")
        if wanted:
            raise EngineUnavailable(f"--engine closed: {reasons[wanted[0]]}; use --engine quad, mc or auto")
    elif wanted:
        pooled = n > POOLED_MEMBERS and engine in ("auto", "mc")
        if "js" in wanted and pooled and isinstance(p, Univariate) and isinstance(q, Univariate):
            wanted.remove("js")
            if reduction != "none":
                _pooled_js(p, q, n, samples, seed, columns, methods, errors, notes, info)
            else:
                notes.append(
                    f"js left out: each of the {n:,} members would need a Monte Carlo of its own; --reduction batchmean or sum gives their mean"
                )
    if wanted and engine != "closed":
        _member_by_member(
            p,
            q,
            list(np.ndindex(*p.batch_shape)),
            wanted,
            columns,
            methods,
            errors,
            notes,
            info,
            compare=lambda a, b, s: compare_distributions(a, b, engine=engine, samples=samples, seed=s, device=device),
            seed=seed,
        )
    return _reduce(columns, methods, errors, notes, info, n, reduction)


#: Above this many members, the batch mean of JS between products of scalar families is one
#: Monte Carlo over the whole batch instead of one comparison per member (and ``--reduction none``
#: leaves JS out rather than run that many engines).
POOLED_MEMBERS = 64

#: Draws evaluated at once by the pooled Monte Carlo (bounds its memory: a few arrays of this × d).
POOLED_CHUNK = 1 << 15


def _pooled_js(p: Univariate, q: Univariate, n: int, samples: int, seed, columns, methods, errors, notes, info) -> None:
    """Batch mean of JS by one Monte Carlo over the members, with its standard error.

    JS̄ = (1/n) Σᵢ JS(Pᵢ, Qᵢ) = E over a uniform member i of E_{x~Pᵢ, y~Qᵢ}[½ log(pᵢ/mᵢ)(x) + ½ log(qᵢ/mᵢ)(y)],
    so each of ``samples`` draws picks a member (every member equally often, the
    remainder at random), then one x from it and one y from its reference. The
    draws are independent: the standard error is the terms' standard deviation / √samples.
    """
    rng = np.random.default_rng(seed)
    members = np.concatenate([np.repeat(np.arange(n), samples // n), rng.choice(n, samples % n, replace=False)])
    rng.shuffle(members)
    flat_p, flat_q = _flat_members(p, n), _flat_members(q, n)
    total, total_sq = 0.0, 0.0
    for start in range(0, samples, POOLED_CHUNK):
        pick = members[start : start + POOLED_CHUNK]
        a, b = _gather(p, flat_p, pick), _gather(q, flat_q, pick)
        x, y = a._draw(rng, a.shape), b._draw(rng, b.shape)
        with np.errstate(over="ignore", under="ignore", divide="ignore", invalid="ignore"):
            terms = 0.5 * _log_mixture_ratio(a.log_prob(x), b.log_prob(x)) + 0.5 * _log_mixture_ratio(b.log_prob(y), a.log_prob(y))
        if not np.all(np.isfinite(terms)):
            raise EngineUnavailable("the pooled Monte Carlo of JS met a draw with no density under its own distribution; use --reduction none")
        total += float(terms.sum())
        total_sq += float(np.square(terms).sum())
    mean = total / samples
    variance = max(total_sq / samples - mean**2, 0.0) * samples / max(samples - 1, 1)
    # one value per member, all equal to the pooled mean: every reduction then reads right,
    # and the error of the batch mean is that of the pooled estimate
    columns["js"] = np.full(n, mean)
    methods["js"] = ["monte_carlo"]
    errors["js"] = np.full(n, math.sqrt(variance / samples) * math.sqrt(n))
    info.update(samples=samples, seed=seed, backend="numpy")
    notes.append(
        f"js by one Monte Carlo over the {n:,} members ({samples:,} draws, each from a member picked evenly): the batch mean with its standard error"
    )


def _log_mixture_ratio(log_own: np.ndarray, log_other: np.ndarray) -> np.ndarray:
    """log(own / m) with m = (own + other) / 2, from log densities."""
    return math.log(2.0) - np.logaddexp(0.0, log_other - log_own)


def _flat_members(d: Distribution, n: int) -> dict[str, np.ndarray]:
    """Parameters with the batch flattened to one axis: shape (n, d)."""
    return {key: np.broadcast_to(getattr(d, key), d.shape).reshape(n, -1) for key in d.given}


def _gather(d: Univariate, flat: dict[str, np.ndarray], pick: np.ndarray) -> Univariate:
    return type(d)(**{key: value[pick] for key, value in flat.items()})


def per_dimension(p: Distribution, q: Distribution) -> dict[str, np.ndarray]:
    """Mean KL over the batch, per event dimension, both ways (products of scalar families).

    The KL of a product is the sum over its dimensions; this keeps the terms apart,
    which shows the inactive latent dimensions of a VAE (mean KL to the prior ~ 0).

    >>> from klcli.specs import parse_spec
    >>> d = per_dimension(parse_spec("normal(loc=[[0, 1], [0, 3]])"), parse_spec("normal(0, 1)"))
    >>> d["kl_pq"].tolist()
    [0.0, 2.5]
    """
    from klcli.parametric import broadcast_pair

    if not (isinstance(p, Univariate) and isinstance(q, Univariate)):
        raise UsageError("--per-dimension applies to products of scalar families, such as batches of diagonal Gaussians")
    p, q = broadcast_pair(p, q)

    def by_dimension(d: Distribution) -> Distribution:  # each dimension its own batch member
        return type(d)(**{key: np.asarray(getattr(d, key))[..., None] for key in d.given})

    a, b = by_dimension(p), by_dimension(q)
    means = {}
    for key, x, y in (("kl_pq", a, b), ("kl_qp", b, a)):
        try:
            values = closed_form.kl_values(x, y)
        except closed_form.NoClosedForm as reason:
            raise UsageError(f"--per-dimension needs closed forms: {reason}") from None
        means[key] = values.reshape(-1, values.shape[-1]).mean(axis=0)
    return means


def _member_by_member(p, q, indices, wanted, columns, methods, errors, notes, info, *, compare, seed) -> None:
    """Fill ``wanted`` values by comparing each member alone."""
    values = {key: np.empty(len(indices)) for key in wanted}
    stderr = {key: np.zeros(len(indices)) for key in wanted}
    used: dict[str, list[str]] = {key: [] for key in wanted}
    for flat, index in enumerate(indices):
        member_seed = None if seed is None else seed + flat
        result = compare(p.element(index), q.element(index), member_seed)
        for key in wanted:
            values[key][flat] = result.values[key]
            used[key].append(result.method[key])
            stderr[key][flat] = result.stderr.get(key, 0.0)
        for note in result.notes:
            if note not in notes:
                notes.append(note)
        if "samples" in result.info:
            info.update(samples=result.info["samples"], seed=seed if seed is not None else result.info["seed"])
            info.setdefault("backend", result.info.get("backend"))
    for key in wanted:
        columns[key] = values[key]
        methods[key] = used[key]
        if any(method == "monte_carlo" for method in used[key]):
            errors[key] = stderr[key]


def _reduce(columns, methods, errors, notes, info, n: int, reduction: str) -> Comparison:
    values: dict[str, Any] = {}
    stderr: dict[str, Any] = {}
    method: dict[str, str] = {}
    for key in _KEYS:
        if key not in columns:
            continue
        column = columns[key]
        kinds = sorted(set(methods[key]), key=lambda m: _RANK.get(m, 4))
        method[key] = kinds[-1]
        if len(kinds) > 1:
            counts = ", ".join(f"{methods[key].count(m)} by {m.replace('_', ' ')}" for m in kinds)
            notes.append(f"{key}: members computed differently ({counts})")
        error = errors.get(key)
        if reduction == "none":
            values[key] = column
            if error is not None:
                stderr[key] = error
        else:
            scale = 1.0 / n if reduction == "batchmean" else 1.0
            values[key] = float(np.sum(column)) * scale
            if error is not None:
                stderr[key] = float(math.sqrt(np.sum(error**2)) * scale)
    info.update(rows=n, reduction=reduction)
    info = {k: v for k, v in info.items() if v is not None}
    return Comparison.from_nats(values, method=method, stderr=stderr, info=info, notes=notes)
