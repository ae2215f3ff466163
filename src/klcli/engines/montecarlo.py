"""Monte Carlo estimates of KL and JS divergences, with numpy or torch.

``KL(P‖Q) = E_P[d]`` with ``d = log p - log q`` is estimated from ``samples``
draws of P (and ``KL(Q‖P)`` from draws of Q). When P's support covers Q's, the
likelihood ratio ``r = q/p = exp(-d)`` has the known mean ``E_P[r] = 1`` and can
serve as a control variate: the estimate is ``mean(d) - b (mean(r) - 1)`` with
the variance-minimising ``b = Cov(d, r) / Var(r)`` fitted on the same draws (for
nearby distributions ``b ≈ -1``: zero variance when P = Q). It is used only where
its assumptions hold: the tails prove ``E_P[r²] < inf``
(:func:`klcli.tails.ratio_square_integrable`; a ratio with infinite variance, as
normal/laplace under a normal, gives a biased value with a tiny standard error),
and the draws bear it out: ``mean(r)`` lies within 3 standard errors of 1, no
draw holds more than 1% of ``sum(r^2)``, and the Pareto k̂ of ``r`` is below 0.5.
Elsewhere (mixtures, multivariate and bounded families) the plain mean is used.

JS is ``E_M[h(p/m)]`` with ``m = (p + q)/2`` and ``h(w) = ½(w log w + (2 - w) log(2 - w))``,
estimated from the draws of both sides (``E_M = ½E_P + ½E_Q``); ``h`` lies in
``[0, ln 2]``, so the average of bounded terms has an honest standard error
whatever the tails (``h = ln 2 - H(σ(d))``, a series near ``d = 0``).

A mixture is sampled by strata: each component gets its share of the draws
(at least 2), and the estimate is ``Σ w_i mean_i`` with the stratified standard
error ``sqrt(Σ w_i² var_i / n_i)``.

Every KL value carries the Pareto k̂ of its terms' heavier tail (:mod:`.psis`):
above 0.7 the standard error cannot be trusted, above 1 the mean is probably
infinite. A draw whose own log density is not finite (a gamma(0.001) draw that
underflows to 0) is counted in ``dropped``, never silently ignored.

Draws come from ``numpy.random.default_rng(seed)`` in batches of bounded
size, so a seed gives the same estimate on every run and every device; with a
``device`` the log densities and the per-batch moments are computed by torch
there, in float64, and only a few numbers per batch come back.

>>> from klcli.families import Normal, StudentT
>>> result = estimate(Normal(0, 1), StudentT(5), samples=20_000, seed=1)
>>> abs(result.values["kl_pq"] - 0.0333767) < 4 * result.stderr["kl_pq"]
True
>>> result.pareto_k["kl_pq"] < 0.5
True
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from klcli import tails
from klcli.engines.psis import pareto_k, tail_size
from klcli.errors import EngineUnavailable, UsageError
from klcli.families import Distribution, Mixture
from klcli.families._ops import NUMPY, TorchOps

#: about this many float64 numbers per draw batch (bounded memory)
BATCH_NUMBERS = 1 << 18
#: the control variate is dropped when one draw holds more than this share of sum(r^2)
HEAVY_TAIL_SHARE = 0.01
#: ... or when mean(r) is further than this many standard errors from its known mean 1
CONTROL_MEAN_Z = 3.0
#: ... or when the Pareto k̂ of r says its variance is infinite
CONTROL_MAX_K = 0.5
#: no Monte Carlo value claims more than 9 significant digits: its standard error is at least
#: this share of the value (rare events no finite sample sees, rounding of the log densities)
RELATIVE_ERROR_FLOOR = 1e-9
#: most draws per side (and per ``--samples``): beyond, a run would take hours
MAX_SAMPLES = 1_000_000_000
#: below |tanh(d/2)| < this, ln 2 - H(σ(d)) is summed as a series
JS_SERIES = 0.1
LOG_2 = math.log(2.0)
KEYS = ("kl_pq", "kl_qp", "js")


@dataclass
class MonteCarloResult:
    """Estimates (nats), their standard errors, and how they were obtained.

    ``pareto_k`` holds the tail diagnostic of each KL value (when it could be
    fitted); ``dropped`` the number of draws left out of each value, by key.
    """

    values: dict[str, float]
    stderr: dict[str, float]
    samples: int
    seed: int
    backend: str
    control_variate: dict[str, bool] = field(default_factory=dict)
    pareto_k: dict[str, float] = field(default_factory=dict)
    dropped: dict[str, int] = field(default_factory=dict)


@dataclass
class _Moments:
    """Running means and co-moments of (d, r), merged batch by batch (Chan et al.)."""

    count: int = 0
    mean_d: float = 0.0
    mean_r: float = 0.0
    m_dd: float = 0.0
    m_rr: float = 0.0
    m_dr: float = 0.0
    sum_r2: float = 0.0
    max_r2: float = 0.0
    infinite: bool = False

    def add(self, d: Any, r: Any | None) -> None:
        """Merge a batch of ``d`` (and ``r``): numpy arrays or torch tensors, on any device."""
        n = len(d)
        if n == 0:
            return
        if bool((d == math.inf).any()):
            self.infinite = True  # a draw of P where q = 0: KL(P‖Q) is infinite
            return
        mean_d = float(d.mean())
        dev_d = d - mean_d
        batch_dd = float(dev_d @ dev_d)
        if r is None:
            mean_r, batch_rr, batch_dr = 1.0, 0.0, 0.0
        else:
            mean_r = float(r.mean())
            dev_r = r - mean_r
            batch_rr, batch_dr = float(dev_r @ dev_r), float(dev_d @ dev_r)
            self.sum_r2 += float(r @ r)
            largest = float(r.max())
            self.max_r2 = max(self.max_r2, largest * largest)  # float product: inf, not OverflowError
        total = self.count + n
        delta_d, delta_r = mean_d - self.mean_d, mean_r - self.mean_r
        weight = self.count * n / total
        self.m_dd += batch_dd + delta_d * delta_d * weight
        self.m_rr += batch_rr + delta_r * delta_r * weight
        self.m_dr += batch_dr + delta_d * delta_r * weight
        self.mean_d += delta_d * n / total
        self.mean_r += delta_r * n / total
        self.count = total

    def control_variate_holds(self, k_ratio: float | None) -> bool:
        """Whether the draws bear out ``E[r] = 1`` with a finite variance (see the module docstring)."""
        if not (self.count > 1 and self.m_rr > 0 and math.isfinite(self.m_rr) and math.isfinite(self.m_dr)):
            return False
        stderr_r = math.sqrt(self.m_rr / (self.count - 1) / self.count)
        return (
            self.max_r2 <= HEAVY_TAIL_SHARE * self.sum_r2
            and abs(self.mean_r - 1) <= CONTROL_MEAN_Z * stderr_r
            and (k_ratio is None or k_ratio < CONTROL_MAX_K)
        )

    def result(self, control_variate: bool = False) -> tuple[float, float]:
        """Estimate of E[d] (with the control variate if asked) and its standard error."""
        if self.infinite:
            return math.inf, 0.0
        if self.count < 2:
            raise EngineUnavailable("Monte Carlo kept fewer than 2 usable draws")
        slope = self.m_dr / self.m_rr if control_variate else 0.0
        residual = self.m_dd - slope * self.m_dr
        value = self.mean_d - slope * (self.mean_r - 1)
        if math.isnan(value):
            raise EngineUnavailable("Monte Carlo terms overflow float64 (log densities beyond ±1e308)")
        if not residual < math.inf:  # the terms' squares overflow: no finite error can be claimed
            return value, math.inf
        return value, math.sqrt(max(residual, 0.0) / (self.count - 1) / self.count)


class _Largest:
    """The ``size`` largest values seen so far (numpy arrays or torch tensors in; numpy kept)."""

    def __init__(self, size: int) -> None:
        self.size = size
        self.values = np.empty(0)

    def add(self, values: Any) -> None:
        if len(values) == 0:
            return
        if hasattr(values, "topk"):  # a torch tensor: select on its device
            values = values.topk(min(self.size, len(values))).values.cpu().numpy()
        joined = np.concatenate([self.values, np.asarray(values, dtype=np.float64)])
        if joined.size > self.size:
            joined = np.partition(joined, joined.size - self.size)[-self.size :]
        self.values = joined


class _Side:
    """What the draws of one side feed: its KL terms by stratum, its JS terms by stratum, tails, drops."""

    def __init__(self, strata: int, n: int) -> None:
        self.kl = [_Moments() for _ in range(strata)]
        self.js = [_Moments() for _ in range(strata)]
        self.top_d = _Largest(tail_size(n) + 1)
        self.bottom_d = _Largest(tail_size(n) + 1)  # the largest of -d
        self.top_r = _Largest(tail_size(n) + 1)
        self.dropped_kl = 0
        self.dropped_js = 0


def check_device_name(device: str) -> str:
    """``device`` normalised, or a UsageError unless it is ``auto|cpu|cuda|cuda:N|mps`` (torch is not imported)."""
    text = str(device).strip().lower()
    if not (text in ("auto", "cpu", "cuda", "mps") or (text.startswith("cuda:") and text[5:].isdigit())):
        raise UsageError(f"`--device` must be auto, cpu, cuda, cuda:N or mps, not {device!r}")
    return text


def resolve_device(device: str) -> TorchOps:
    """Torch operations on ``device`` (``auto|cpu|cuda|cuda:N|mps``).

    Raises
    ------
    EngineUnavailable
        If torch is not installed or the device is not present.
    UsageError
        If ``device`` is not one of the accepted names.
    """
    text = check_device_name(device)
    try:
        import torch
    except ImportError:
        raise EngineUnavailable(
            f"--device {device} needs torch, which is not installed (install the torch extra: pip install 'klcli[torch]')"
        ) from None
    if text == "auto":
        text = "cuda" if torch.cuda.is_available() else "cpu"
    if text.startswith("cuda"):
        if not torch.cuda.is_available():
            raise EngineUnavailable(f"--device {device}: no CUDA device is available to torch; use --device cpu")
        index = int(text[5:]) if ":" in text else 0
        if index >= torch.cuda.device_count():
            raise EngineUnavailable(f"--device {device}: torch sees {torch.cuda.device_count()} CUDA device(s), numbered from 0")
    if text == "mps":
        if not (hasattr(torch.backends, "mps") and torch.backends.mps.is_available()):
            raise EngineUnavailable(f"--device {device}: no MPS device is available to torch; use --device cpu")
        raise EngineUnavailable("--device mps: MPS has no float64 support, which klcli computes in; use --device cpu")
    return TorchOps(torch, torch.device(text))


def _covers(p: Distribution, q: Distribution) -> bool:
    """Whether P's support surely contains Q's (continuous families; conservative)."""
    if p.is_discrete or q.is_discrete:
        return False
    if isinstance(p, Mixture):
        return any(_covers(component, q) for component in p.components)
    return p.support.contains(q.support)


def strata(distribution: Distribution, n: int) -> list[tuple[float, Distribution, int]]:
    """``(weight, component, draws)`` for each stratum: a mixture's components get their share of ``n``.

    Each component gets ``floor(n w_i)`` draws, at least 2, and the rest of ``n``
    goes to the largest remainders (so small components are never left out).

    >>> from klcli.families import Normal
    >>> [(w, k) for w, _, k in strata(Mixture([1, 3], [Normal(0, 1), Normal(5, 1)]), 10)]
    [(0.25, 3), (0.75, 7)]
    """
    if not isinstance(distribution, Mixture):
        return [(1.0, distribution, int(n))]
    weights = distribution.weights
    exact = weights * n
    counts = np.maximum(np.floor(exact).astype(np.int64), 2)
    rest = int(n - counts.sum())
    if rest > 0:
        order = np.argsort(-(exact - np.floor(exact)), kind="stable")
        counts[order[np.arange(rest) % order.size]] += 1
    return [(float(w), c, int(k)) for w, c, k in zip(weights, distribution.components, counts)]


def _js_terms(d: Any, ops: Any) -> Any:
    """``ln 2 - H(σ(d))`` (binary entropy in nats): the JS integrand ``h(p/m)`` at a draw, in [0, ln 2].

    With ``s = tanh(d/2)`` it is ``½((1+s) log(1+s) + (1-s) log(1-s)) = Σ s^2k / (2k (2k-1))``.
    """
    s = ops.tanh(0.5 * d)
    u = s * s
    series = u * (1 / 2 + u * (1 / 12 + u * (1 / 30 + u * (1 / 56 + u * (1 / 90 + u * (1 / 132 + u * (1 / 182 + u / 240)))))))
    direct = 0.5 * (ops.xlog1py(1 + s, s) + ops.xlog1py(1 - s, -s))
    return ops.where(ops.abs(s) < JS_SERIES, series, direct)


def check_samples(samples: Any) -> int:
    """``samples`` as an int, or a UsageError unless it is an integer in ``[2, MAX_SAMPLES]``."""
    if isinstance(samples, bool) or not isinstance(samples, (int, np.integer)) or samples < 2:
        raise UsageError(f"`--samples` must be an integer of at least 2, not {samples!r}")
    if samples > MAX_SAMPLES:
        raise UsageError(
            f"`--samples` must be at most {MAX_SAMPLES:,} (about an hour of work per side), not {samples:,}; "
            "the standard error falls only as 1/sqrt(samples)"
        )
    return int(samples)


def estimate(
    p: Distribution,
    q: Distribution,
    *,
    samples: int = 100_000,
    seed: int | None = 0,
    device: str | None = None,
    keys: tuple[str, ...] = KEYS,
) -> MonteCarloResult:
    """Monte Carlo estimates of ``keys`` (among ``kl_pq``, ``kl_qp``, ``js``).

    Parameters
    ----------
    p, q : Distribution
        P and the reference Q, of the same dimension.
    samples : int
        Number of draws from each of P and Q (at most :data:`MAX_SAMPLES`).
    seed : int or None
        Seed of ``numpy.random.default_rng``; ``None`` picks one (and reports it).
    device : str or None
        ``None`` evaluates with numpy; otherwise a torch device (see :func:`resolve_device`).
    """
    samples = check_samples(samples)
    if seed is None:
        seed = int(np.random.SeedSequence().generate_state(1)[0])
    ops = NUMPY if device is None else resolve_device(device)
    rng = np.random.default_rng(seed)
    need = {"p": "kl_pq" in keys or "js" in keys, "q": "kl_qp" in keys or "js" in keys}
    layout = {"p": strata(p, samples), "q": strata(q, samples)}
    sides = {name: _Side(len(layout[name]), samples) for name in ("p", "q")}
    control = {
        name: _covers(own, other) and len(layout[name]) == 1 and tails.ratio_square_integrable(own, other)
        for name, own, other in (("p", p, q), ("q", q, p))
    }
    batch = max(1, min(samples, BATCH_NUMBERS // max(p.dim, 1)))
    with np.errstate(divide="ignore", invalid="ignore", over="ignore", under="ignore"):
        for name, own, other, kl_key in (("p", p, q, "kl_pq"), ("q", q, p, "kl_qp")):
            if not need[name]:
                continue
            side = sides[name]
            for index, (_, component, count) in enumerate(layout[name]):
                done = 0
                while done < count:
                    size = min(batch, count - done)
                    draws = ops.asarray(component.sample(size, rng))
                    log_own, log_other = own.log_prob(draws, ops), other.log_prob(draws, ops)
                    usable = ops.isfinite(log_own) & (log_other < math.inf)  # NaN compares False
                    if not bool(usable.all()):
                        log_own, log_other = log_own[usable], log_other[usable]
                    d = log_own - log_other
                    dropped = size - len(d)
                    if kl_key in keys:
                        r = ops.exp(-d) if control[name] else None
                        side.kl[index].add(d, r)
                        side.top_d.add(d)
                        side.bottom_d.add(-d)
                        if r is not None:
                            side.top_r.add(r)
                        side.dropped_kl += dropped
                    if "js" in keys:
                        side.js[index].add(_js_terms(d, ops), None)
                        side.dropped_js += dropped
                    done += size
    return _collect(sides, layout, control, keys, samples, seed, ops.name)


def _collect(sides, layout, control, keys, samples, seed, backend) -> MonteCarloResult:
    """Combine strata and sides into the values, errors and diagnostics of each key."""
    values, stderr, used, tail_k, dropped = {}, {}, {}, {}, {}
    for name, key in (("p", "kl_pq"), ("q", "kl_qp")):
        if key not in keys:
            continue
        side = sides[name]
        k_ratio = pareto_k(side.top_r.values, side.kl[0].count) if control[name] else None
        use = control[name] and side.kl[0].control_variate_holds(k_ratio)
        value, error = _stratified(side.kl, layout[name], use)
        values[key], stderr[key], used[key] = value, _floored(error, value), use
        # discrete draws repeat values: a generalised Pareto fit to ties says nothing (and every
        # discrete family's log-ratio has light tails)
        own = layout[name][0][1]
        count = sum(m.count for m in side.kl)
        tail_fits = [] if own.is_discrete else [pareto_k(side.top_d.values, count), pareto_k(side.bottom_d.values, count)]
        fits = [k for k in tail_fits if k is not None]
        k = max(fits) if fits else None
        if k is not None and math.isfinite(value):
            tail_k[key] = k
        if side.dropped_kl:
            dropped[key] = side.dropped_kl
    if "js" in keys:
        half_p, error_p = _stratified(sides["p"].js, layout["p"], False)
        half_q, error_q = _stratified(sides["q"].js, layout["q"], False)
        values["js"] = 0.5 * (half_p + half_q)
        stderr["js"] = _floored(0.5 * math.hypot(error_p, error_q), values["js"])
        used["js"] = False
        if sides["p"].dropped_js + sides["q"].dropped_js:
            dropped["js"] = sides["p"].dropped_js + sides["q"].dropped_js
    return MonteCarloResult(values, stderr, samples, seed, backend, used, tail_k, dropped)


def _floored(error: float, value: float) -> float:
    """The standard error, at least :data:`RELATIVE_ERROR_FLOOR` of the value."""
    return max(error, RELATIVE_ERROR_FLOOR * abs(value)) if math.isfinite(value) else error


def _stratified(moments: list[_Moments], layout, control_variate: bool) -> tuple[float, float]:
    """``Σ w_i mean_i`` and ``sqrt(Σ w_i² se_i²)`` over strata (one stratum: its own result)."""
    if len(moments) == 1:
        return moments[0].result(control_variate)
    value = variance = 0.0
    for m, (weight, _, _) in zip(moments, layout):
        mean, error = m.result()
        value += weight * mean
        variance += (weight * error) * (weight * error)
    return value, math.sqrt(variance)
