"""Divergences between two parametric distributions: engine choice and routing.

``engine="auto"`` takes, for each value, the most accurate engine that can
serve it: a registered closed form (:mod:`klcli.closed_form`), then 1-D
quadrature or summation (:mod:`klcli.engines.quadrature`), then Monte Carlo
(:mod:`klcli.engines.montecarlo`). ``closed``, ``quad`` and ``mc`` force one
engine; one that cannot serve raises :class:`~klcli.errors.EngineUnavailable`
naming what would work, except that ``closed`` computes the directions that
have a closed form and names those that do not.

Whatever the engine, :func:`klcli.tails.kl_verdict` is asked first: KL(P‖Q) is
infinite when P has mass outside Q's support or when P's tail outweighs what Q's
log density can integrate (``cauchy‖laplace``, ``studentt(2)‖normal``). A Monte
Carlo KL carries the Pareto k̂ of its terms (``pareto_k``); above 0.7 the value is
listed in ``unreliable`` and a note says why.

Examples
--------
>>> from klcli.specs import parse_spec
>>> c = compare_distributions(parse_spec("normal(0, 1)"), parse_spec("normal(1, 2)"))
>>> round(c.values["kl_pq"], 10), c.method["kl_pq"], c.method["js"]
(0.4431471806, 'closed_form', 'quadrature')
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from klcli import closed_form, tails
from klcli.engines import montecarlo, psis, quadrature
from klcli.errors import EngineUnavailable, InputError, UsageError
from klcli.families import Distribution, Univariate
from klcli.families.discrete import Categorical
from klcli.result import Comparison

ENGINES = ("auto", "closed", "quad", "mc")
KEYS_ORDER = ("kl_pq", "kl_qp", "js")


def compare_distributions(
    p: Distribution,
    q: Distribution,
    *,
    engine: str = "auto",
    samples: int = 100_000,
    seed: int | None = 0,
    device: str | None = None,
    reduction: str = "batchmean",
) -> Comparison:
    """KL(P‖Q), KL(Q‖P) and JS of two distributions (Q is the reference), in nats.

    Parameters
    ----------
    p, q : Distribution
        Distributions of the same dimension and the same kind (both discrete or both continuous).
    engine : {"auto", "closed", "quad", "mc"}
        ``auto``: per value, closed form, then quadrature, then Monte Carlo.
        The others force one engine. ``closed`` leaves out JS, which has no closed form.
    samples, seed : int
        Monte Carlo draws from each distribution, and the seed (``None``: a fresh seed, reported in ``info``).
    device : str, optional
        Run Monte Carlo with torch on ``auto|cpu|cuda|cuda:N|mps``.
    reduction : {"batchmean", "sum", "none"}
        How the members of a batch combine (leading parameter axes are a batch,
        broadcast like torch; see :func:`broadcast_pair`): their mean, their
        sum, or one value per member (flattened in row-major order).

    Returns
    -------
    Comparison
        ``method`` names each value's engine; ``stderr`` holds the Monte Carlo standard errors;
        ``info`` the sample count and seed when Monte Carlo ran; ``notes`` says where ``auto`` fell through.

    Examples
    --------
    >>> from klcli.specs import parse_spec
    >>> c = compare_distributions(parse_spec("studentt(df=3)"), parse_spec("normal(0, 1)"))
    >>> c.method["kl_pq"], c.notes[0]
    ('quadrature', 'no closed form for studentt‖normal: KL by quadrature')
    """
    _check_options(engine, samples, seed)
    if device is not None:
        montecarlo.check_device_name(device)
    _check_kinds(p, q)
    p, q = broadcast_pair(p, q)
    if p.batch_shape:
        from klcli.parametric_batch import compare_batch

        return compare_batch(p, q, engine=engine, samples=samples, seed=seed, device=device, reduction=reduction)
    _check_pair(p, q)
    router = _Router(p, q, engine, samples, seed, device)
    router.kl("kl_pq", p, q)
    router.kl("kl_qp", q, p)
    if engine == "closed" and not router.values:
        raise EngineUnavailable(f"--engine closed: no closed form for {p.name}‖{q.name} in either direction; use --engine quad, mc or auto")
    router.js()
    router.monte_carlo()
    router.entropies()
    return Comparison.from_nats(router.values, method=router.method, stderr=router.stderr, info=router.info, notes=router.notes)


def _check_options(engine: str, samples: Any, seed: Any) -> None:
    if engine == "exact":
        raise EngineUnavailable("--engine exact is for histograms; for distributions use auto, closed, quad or mc")
    if engine not in ENGINES:
        raise UsageError(f"`--engine` must be one of {', '.join(ENGINES)}, not {engine!r}")
    montecarlo.check_samples(samples)
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int) or seed < 0):
        raise UsageError(f"`--seed` must be a non-negative integer, not {seed!r}")


def broadcast_pair(p: Distribution, q: Distribution) -> tuple[Distribution, Distribution]:
    """P and Q broadcast to one batch shape, like torch broadcasts parameters.

    Two scalar families broadcast their whole parameter shapes, so
    ``normal(0, 1)`` against a batch of ``normal(loc=N x d)`` is the N(0, I)
    prior of each member. Otherwise the batch shapes broadcast and the events
    must agree. Shapes that do not broadcast are an :class:`InputError`.

    >>> from klcli.specs import parse_spec
    >>> p, q = broadcast_pair(parse_spec("normal(loc=[[0, 1], [2, 3]])"), parse_spec("normal(0, 1)"))
    >>> q.batch_shape, q.event_shape
    ((2,), (2,))
    """
    if isinstance(p, Univariate) and isinstance(q, Univariate):
        if p.shape == q.shape:
            return p, q
        try:
            shape = np.broadcast_shapes(p.shape, q.shape)
        except ValueError:
            raise _no_broadcast(p, q) from None
        return p.broadcast_to(shape), q.broadcast_to(shape)
    if p.batch_shape == q.batch_shape:
        return p, q
    try:
        batch = np.broadcast_shapes(p.batch_shape, q.batch_shape)
    except ValueError:
        raise _no_broadcast(p, q) from None
    return p.expand(batch), q.expand(batch)


def _no_broadcast(p: Distribution, q: Distribution) -> InputError:
    return InputError(
        f"the shapes of P and Q do not broadcast: {p.name}(...) has {_describe_batch(p)} but {q.name}(...) has "
        f"{_describe_batch(q)} (leading parameter axes are a batch, the last axis is the event)"
    )


def _describe_batch(distribution: Distribution) -> str:
    batch = "x".join(map(str, distribution.batch_shape))
    event = _describe_shape(distribution)
    if distribution.name == "categorical":
        assert isinstance(distribution, Categorical), "the family named categorical"
        event = f"{distribution.probs.shape[-1]} categories"
    return f"a batch of {batch} with {event} each" if batch else event


def _check_kinds(p: Distribution, q: Distribution) -> None:
    if p.is_discrete != q.is_discrete:
        discrete, continuous = (p, q) if p.is_discrete else (q, p)
        raise InputError(
            f"cannot compare the discrete {_short(discrete)} with the continuous {_short(continuous)}: "
            "a mass function and a density share no reference measure (KL is infinite, JS is ln 2); "
            "compare two discrete or two continuous distributions"
        )


def _short(distribution: Distribution) -> str:
    """The spec of one distribution; a batch (possibly read from files) is named by its family and shape."""
    if not distribution.batch_shape:
        return distribution.spec()
    return f"{distribution.name}(...) ({_describe_batch(distribution)})"


def _check_pair(p: Distribution, q: Distribution) -> None:
    _check_kinds(p, q)
    if p.event_shape != q.event_shape:
        raise InputError(f"P and Q differ in dimension: {p.spec()} has {_describe_shape(p)} but {q.spec()} has {_describe_shape(q)}")


def _describe_shape(distribution: Distribution) -> str:
    return "1 dimension" if distribution.dim == 1 else f"{distribution.dim} dimensions"


class _Router:
    """Fills values, methods, errors and notes one value at a time."""

    def __init__(self, p, q, engine, samples, seed, device) -> None:
        self.p, self.q, self.engine = p, q, engine
        self.samples, self.seed, self.device = samples, seed, device
        self.values: dict[str, float] = {}
        self.method: dict[str, str] = {}
        self.stderr: dict[str, float] = {}
        self.info: dict[str, Any] = {}
        self.notes: list[str] = []
        self.pending: list[str] = []
        self.verdicts: dict[str, tails.Verdict | None] = {}

    def _set(self, key: str, value: float, method: str) -> None:
        self.values[key] = value
        self.method[key] = method

    def kl(self, key: str, a: Distribution, b: Distribution) -> None:
        pair = f"{a.name}‖{b.name}"
        verdict = tails.kl_verdict(a, b)
        self.verdicts[key] = verdict
        if verdict is not None and verdict.infinite:
            self._set(key, math.inf, "closed_form")
            self.notes.append(f"{key} is infinite: {verdict.reason}")
            return
        if self.engine in ("auto", "closed"):
            try:
                self._set(key, closed_form.kl_divergence(a, b), "closed_form")
                return
            except closed_form.NoClosedForm as reason:
                if self.engine == "closed":
                    self.notes.append(f"{key} is left out: {reason}; use --engine quad, mc or auto for it")
                    return
                fallback = str(reason)
        if self.engine in ("auto", "quad"):
            try:
                estimate = quadrature.kl(a, b)
            except quadrature.NotIntegrable as reason:
                if self.engine == "quad":
                    raise EngineUnavailable(f"--engine quad cannot compute KL of {pair}: {reason}; use --engine mc or auto") from None
                self.notes.append(f"{fallback}, and quadrature cannot serve it ({reason}): KL by Monte Carlo")
            else:
                self._set(key, estimate.value, "quadrature")
                self.info.setdefault("quadrature_error", {})[key] = estimate.error
                if self.engine == "auto":
                    self.notes.append(f"{fallback}: KL by quadrature")
                if estimate.note:
                    self.notes.append(f"{key}: {estimate.note}")
                return
        self.pending.append(key)

    def js(self) -> None:
        if self.engine == "closed":
            self.notes.append("js has no closed form and is left out; use --engine quad, mc or auto for it")
            return
        if self.engine in ("auto", "quad"):
            try:
                estimate = quadrature.js(self.p, self.q)
            except quadrature.NotIntegrable as reason:
                if self.engine == "quad":
                    raise EngineUnavailable(
                        f"--engine quad cannot compute JS of {self.p.name}‖{self.q.name}: {reason}; use --engine mc or auto"
                    ) from None
                self.notes.append(f"js by Monte Carlo: quadrature cannot serve it ({reason})")
            else:
                self._set("js", estimate.value, "quadrature")
                self.info.setdefault("quadrature_error", {})["js"] = estimate.error
                return
        self.pending.append("js")

    def entropies(self) -> None:
        if self.engine not in ("auto", "closed"):
            return
        for key, distribution in (("entropy_p", self.p), ("entropy_q", self.q)):
            value = distribution.entropy()
            if value is not None:
                self._set(key, value, "closed_form")

    def monte_carlo(self) -> None:
        """One Monte Carlo run for every value the other engines left."""
        keys: tuple[str, ...] = tuple(key for key in ("kl_pq", "kl_qp", "js") if key in self.pending)
        if not keys:
            return
        result = montecarlo.estimate(self.p, self.q, samples=self.samples, seed=self.seed, device=self.device, keys=keys)
        for key in keys:
            self._set(key, result.values[key], "monte_carlo")
            self.stderr[key] = result.stderr[key]
        self.info.update(samples=result.samples, seed=result.seed, backend=result.backend)
        if result.pareto_k:
            self.info["pareto_k"] = dict(result.pareto_k)
        unreliable = [key for key, k in result.pareto_k.items() if k >= psis.UNRELIABLE]
        for key in unreliable:
            k = result.pareto_k[key]
            if k >= psis.INFINITE_MEAN and self.verdicts.get(key) is None:
                why = "the divergence is probably infinite"
            else:
                why = "its standard error cannot be trusted"
            self.notes.append(f"{key}: the Monte Carlo terms are heavy tailed (Pareto k̂ = {k:.2f} ≥ {psis.UNRELIABLE}): {why}")
        for key, k in result.pareto_k.items():
            if psis.INFINITE_VARIANCE <= k < psis.UNRELIABLE:
                self.notes.append(
                    f"{key}: the Monte Carlo terms probably have an infinite variance (Pareto k̂ = {k:.2f} ≥ "
                    f"{psis.INFINITE_VARIANCE}): the value converges slowly and its standard error is optimistic"
                )
        if result.dropped:
            self.info["dropped_draws"] = dict(result.dropped)
            for key, count in result.dropped.items():
                unreliable.append(key)
                self.notes.append(
                    f"{key}: {count:,} of {result.samples:,} draws per side have a log density that is not finite "
                    "(they underflow at the edge of the support) and are left out: the estimate is biased and cannot be trusted"
                )
        if unreliable:
            self.info["unreliable"] = sorted(set(unreliable), key=KEYS_ORDER.index)
