"""Divergences between discrete distributions: probability vectors and batches of them.

Everything is float64 and computed in chunks, so memory stays bounded on very
long histograms and the working set stays in cache.

Stable terms
------------
With ``m = (p + q) / 2`` and ``t = (p - q) / (p + q)`` every bin contributes
a non-negative term:

=============  ===================================  ==========================
value          term                                 for ``|t| < 1e-2``
=============  ===================================  ==========================
KL(P‖Q)        ``p·log(p/q) − p + q``               ``2·m·u·(S(u) + t·S1(u))``
KL(Q‖P)        ``q·log(q/p) − q + p``               ``2·m·u·(S(u) − t·S1(u))``
JS             ``½·(p·log(p/m) + q·log(q/m))``      ``½·m·u·J(u)``
=============  ===================================  ==========================

where ``u = t²``, ``S(u) = Σ u^k/(2k+1)`` (so ``log(p/q) = 2·t·S(u)``),
``S1(u) = (S(u) − 1)/u`` and ``J(u) = Σ u^k/((2k+1)(k+1))``. Five terms of
each series are exact to double precision for ``u < 1e-4``.

Outside the series, the direct forms are evaluated with
``|log(p/q)| = log1p(|p − q| / min(p, q))`` and
``log(2·max(p, q)/(p + q)) = log1p(|p − q| / (p + q))``: their arguments are
non-negative and rounded once, so the logarithms are accurate to a few ulps
and a term, which subtracts numbers of size ``m·|t|`` to get one of size
``m·t²``, keeps a relative error of about ``ε/|t|`` (at most 2e-14). The
logarithm of the rounded ratio ``p/q`` would lose ``ε`` absolutely and so
``ε/t²`` relatively, which with sums of terms of both signs is what makes
``scipy.stats.entropy`` inaccurate for nearly identical inputs.

Examples
--------
>>> d = divergences([0.1, 0.4, 0.5], [0.3, 0.3, 0.4])
>>> round(d["kl_pq"], 12), round(d["js"], 12)
(0.116783375771, 0.032529605522)
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, field

import numpy as np

from klcli.errors import InputError, UsageError
from klcli.result import Comparison

#: Elements per chunk: large enough to amortise numpy's per-call cost, small
#: enough that its dozen temporaries stay in cache (L2 and L3). Measured on 20M bins.
CHUNK = 1 << 15

#: Inputs of at least this many entries are split across threads.
PARALLEL_MIN_SIZE = 1 << 20

#: Below this ``|t|`` the series forms are used (see the module docstring).
SERIES_THRESHOLD = 1e-2
#: The same threshold on ``|log(p/q)| = 2·atanh|t|``, which is at hand first.
SERIES_LOG_RATIO = 2 * math.atanh(SERIES_THRESHOLD)
#: Beyond this ``|log(p/q)|`` the ratio may be denormal or overflow.
DENORMAL_LOG_RATIO = 700.0
#: Probabilities at least this large have normal ratios (with margin for unnormalised input).
_TINY = 1e-290
#: Bins set aside for the series are evaluated together once this many wait.
SERIES_BATCH = 1 << 20
#: The summed quantities, in the order of the workspace's term rows.
_TERMS = ("kl_pq", "kl_qp", "js", "entropy_p", "entropy_q")

_LOG2 = math.log(2.0)

# Series coefficients, highest power first (for Horner evaluation).
SERIES_S1 = [1 / 11, 1 / 9, 1 / 7, 1 / 5, 1 / 3]  # Σ u^k / (2k+3)
SERIES_J = [1 / 45, 1 / 28, 1 / 15, 1 / 6, 1.0]  # Σ u^k / ((2k+1)(k+1))

REDUCTIONS = ("batchmean", "sum", "none")


def divergences(p, q, *, entropies: bool = True, log_p=None, log_q=None, exact=None) -> dict:
    """KL both ways, JS and (optionally) the entropies of normalised distributions.

    Parameters
    ----------
    p, q : array_like
        Probability vectors (1-D) or batches of them (2-D, one per row, the
        last axis holding the categories). They must already be normalised.
    entropies : bool
        Also compute ``entropy_p`` and ``entropy_q``.
    log_p, log_q : array_like, optional
        ``log(p)`` and ``log(q)`` when they are known more accurately than
        ``p`` and ``q`` themselves (log-softmax outputs): the log-ratios are
        then taken from them, so bins whose probability underflows keep
        their finite contribution.
    exact : klcli.renormalise.ExactNormalisation, optional
        The raw weights behind ``p`` and ``q``: bins where ``p ≈ q`` then
        take ``p - q`` from the exactly normalised weights, not from the
        rounded quotients.

    Returns
    -------
    dict
        ``kl_pq``, ``kl_qp``, ``js`` (and ``entropy_p``, ``entropy_q``) in
        nats: floats for 1-D inputs, arrays with one entry per row for 2-D
        ones; plus ``inf_pq``/``inf_qp``, the number of bins with ``q = 0 < p``
        (``p = 0 < q``), and ``inf_pq_index``/``inf_qp_index``, the first few
        of their flat indices.

    Examples
    --------
    >>> d = divergences([0.5, 0.5, 0.0], [0.25, 0.25, 0.5])
    >>> round(d["kl_pq"], 12), d["kl_qp"], d["inf_qp"], d["inf_qp_index"]
    (0.69314718056, inf, 1, [2])
    """
    p = np.ascontiguousarray(p, dtype=np.float64)
    q = np.ascontiguousarray(q, dtype=np.float64)
    if p.shape != q.shape:
        raise InputError(f"P and Q have different shapes {p.shape} and {q.shape}")
    if p.ndim not in (1, 2) or p.shape[-1] == 0:
        raise InputError(f"expected a probability vector or a 2-D batch of them, got shape {p.shape}")
    k = p.shape[-1]
    rows_p, rows_q = p.reshape(-1, k), q.reshape(-1, k)
    rows_lp = rows_lq = None
    if log_p is not None:
        exact = None
        rows_lp = np.ascontiguousarray(log_p, dtype=np.float64).reshape(rows_p.shape)
        rows_lq = np.ascontiguousarray(log_q, dtype=np.float64).reshape(rows_p.shape)
    row_block = max(1, CHUNK // k)
    blocks = [
        (slice(r0, min(rows_p.shape[0], r0 + row_block)), slice(c0, min(k, c0 + CHUNK)))
        for r0 in range(0, rows_p.shape[0], row_block)
        for c0 in range(0, k, CHUNK)
    ]
    # Ratios of probabilities in [_TINY, 1] are normal floats: then no block needs the denormal check.
    check_extremes = rows_lp is not None or _smallest_positive(p) < _TINY or _smallest_positive(q) < _TINY

    def run(share: list) -> _Accumulator:
        acc = _Accumulator(rows_p.shape[0], entropies)
        work = _Workspace(len(acc.keys))
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            for block in share:
                logs = None if rows_lp is None or rows_lq is None else (rows_lp[block], rows_lq[block])
                _accumulate_block(acc, work, block[0].start, block[1].start, k, rows_p[block], rows_q[block], logs, check_extremes, exact)
            acc.flush_series()
        return acc

    n_threads = min(_threads(), len(blocks)) if p.size >= PARALLEL_MIN_SIZE else 1
    if n_threads == 1:
        acc = run(blocks)
    else:  # numpy releases the GIL in its loops: contiguous shares of blocks run in parallel
        from concurrent.futures import ThreadPoolExecutor

        bounds = np.linspace(0, len(blocks), n_threads + 1).astype(int)
        with ThreadPoolExecutor(n_threads) as pool:
            partials = list(pool.map(run, [blocks[a:b] for a, b in zip(bounds[:-1], bounds[1:])]))
        acc = partials[0]
        for other in partials[1:]:
            acc.merge(other)
    out = acc.totals()
    if p.ndim == 1:
        out = {key: (float(value[0]) if isinstance(value, np.ndarray) else value) for key, value in out.items()}
    return out


def _smallest_positive(x: np.ndarray) -> float:
    smallest = float(x.min())
    if smallest > 0 or x.size == 0:
        return smallest
    return float(np.min(x, where=x > 0, initial=np.inf))  # zeros present: a slower masked pass


@dataclass
class _Accumulator:
    """Per-row running sums of the stable terms, and the zero-bin bookkeeping.

    Bins with ``p ≈ q`` are set aside by the blocks (their direct terms are
    zeroed) and their series terms computed together in :meth:`flush_series`,
    which costs far less than a small series evaluation in every block.
    """

    n_rows: int
    entropies: bool
    keys: tuple = ()
    sums: np.ndarray = field(init=False)  # set by __post_init__
    inf_pq: int = 0
    inf_qp: int = 0
    inf_pq_index: list = field(default_factory=list)
    inf_qp_index: list = field(default_factory=list)
    series: list = field(default_factory=list)
    series_size: int = 0

    def __post_init__(self):
        self.keys = _TERMS if self.entropies else _TERMS[:3]
        self.sums = np.zeros((len(self.keys), self.n_rows))

    def add(self, r0: int, row_sums: np.ndarray) -> None:
        self.sums[:, r0 : r0 + row_sums.shape[1]] += row_sums

    def defer_series(self, rows: np.ndarray, m: np.ndarray, t: np.ndarray) -> None:
        self.series.append((rows, m, t))
        self.series_size += rows.size
        if self.series_size >= SERIES_BATCH:
            self.flush_series()

    def flush_series(self) -> None:
        """Add the series terms of every bin set aside so far."""
        if not self.series:
            return
        rows, m, t = (np.concatenate(parts) for parts in zip(*self.series))
        for i, terms in enumerate(_series_terms(m, t)):
            if self.n_rows == 1:
                self.sums[i, 0] += terms.sum()
            else:
                self.sums[i] += np.bincount(rows, weights=terms, minlength=self.n_rows)
        self.series.clear()
        self.series_size = 0

    def merge(self, other: "_Accumulator") -> None:
        """Add the sums and zero-bin counts of a later share of blocks."""
        self.sums += other.sums
        for which in ("inf_pq", "inf_qp"):
            setattr(self, which, getattr(self, which) + getattr(other, which))
            listed = getattr(self, which + "_index")
            listed.extend(getattr(other, which + "_index")[: max(0, 10 - len(listed))])

    def note_infinite(self, which: str, flat_index: np.ndarray) -> None:
        setattr(self, which, getattr(self, which) + flat_index.size)
        listed = getattr(self, which + "_index")
        listed.extend(int(i) for i in flat_index[: max(0, 10 - len(listed))])

    def totals(self) -> dict:
        out = dict(zip(self.keys, self.sums))
        out["js"] = 0.5 * out["js"]  # the blocks sum 2·JS terms
        for key in ("entropy_p", "entropy_q"):
            if key in out:
                out[key] = 0.0 - out[key]  # the blocks sum p·log p (0.0 − x: no −0.0)
        out.update(inf_pq=self.inf_pq, inf_qp=self.inf_qp, inf_pq_index=self.inf_pq_index, inf_qp_index=self.inf_qp_index)
        return out


class _Workspace:
    """Scratch buffers of one chunk, reused by every block to avoid allocations.

    ``terms`` holds one row per summed quantity, so one ``sum`` call reduces them all.
    """

    NAMES = ("s", "d", "ad", "a", "b", "low", "scratch")

    def __init__(self, n_terms: int) -> None:
        self.flat = {name: np.empty(CHUNK) for name in self.NAMES}
        self.terms = np.empty((n_terms, CHUNK))
        self._views: dict = {}

    def views(self, shape: tuple) -> tuple[dict, np.ndarray]:
        """Views of the buffers shaped like a block (cached: blocks mostly share a shape)."""
        if shape not in self._views:
            n = shape[0] * shape[1]
            named = {name: buf[:n].reshape(shape) for name, buf in self.flat.items()}
            self._views[shape] = (named, self.terms[:, :n].reshape((-1, *shape)))
        return self._views[shape]


def _threads() -> int:
    """Worker threads for large inputs: the usable cores, at most 8."""
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        cores = os.cpu_count() or 1
    return max(1, min(8, cores))


def _horner(coefficients: list[float], u: np.ndarray) -> np.ndarray:
    out = np.full_like(u, coefficients[0])
    for c in coefficients[1:]:
        out *= u
        out += c
    return out


def _series_terms(m: np.ndarray, t: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """KL(P‖Q), KL(Q‖P) and 2·JS terms for ``|t| < SERIES_THRESHOLD``."""
    u = t * t
    s1 = _horner(SERIES_S1, u)
    s = 1.0 + u * s1
    mu = m * u
    ts1 = t * s1
    return 2.0 * mu * (s + ts1), 2.0 * mu * (s - ts1), mu * _horner(SERIES_J, u)


def _accumulate_block(acc: _Accumulator, work: _Workspace, r0: int, c0: int, k: int, p, q, logs, check_extremes: bool, exact=None) -> None:
    """Add one (rows × columns) block of bins to the running sums.

    With ``d = p − q``, ``s = p + q``, ``|a| = |log(p/q)| = log1p(|d| / min(p, q))``
    and ``L = log(2·max(p, q)/s) = log1p(|d| / s)``, both accurate to a few
    ulps since their arguments are non-negative and rounded once, each bin
    adds ``|p·|a| − |d||`` to KL(P‖Q), ``||d| − q·|a||`` to KL(Q‖P) and
    ``s·L − min(p, q)·|a|`` to 2·JS (each non-negative). Bins with
    ``|t| < SERIES_THRESHOLD`` are set aside for their series; there ``d`` is
    exact (Sterbenz), and ``exact`` (:class:`klcli.renormalise.ExactNormalisation`), when given,
    adds what the rounding of the normalisation took from it.
    """
    w, terms = work.views(p.shape)
    s, d, ad, b, scratch = w["s"], w["d"], w["ad"], w["b"], w["scratch"]
    np.add(p, q, out=s)
    np.subtract(p, q, out=d)
    if logs is None:
        np.abs(d, out=ad)
        low = np.minimum(p, q, out=w["low"])
        abs_a = np.divide(ad, low, out=scratch)
        np.log1p(abs_a, out=abs_a)
        np.divide(ad, s, out=b)
        np.log1p(b, out=b)  # L
        np.multiply(p, abs_a, out=terms[0])
        terms[0] -= ad
        np.abs(terms[0], out=terms[0])
        np.multiply(q, abs_a, out=terms[1])
        np.subtract(ad, terms[1], out=terms[1])
        np.abs(terms[1], out=terms[1])
        np.multiply(s, b, out=terms[2])
        np.multiply(low, abs_a, out=low)
        terms[2] -= low
        if acc.entropies:
            log_p = np.log(p, out=terms[3])
            a = np.copysign(abs_a, d, out=w["a"])
            log_q = np.subtract(log_p, a, out=terms[4])  # log q = log p − log(p/q)
            np.multiply(p, log_p, out=terms[3])
            np.multiply(q, log_q, out=terms[4])
    else:  # log-probabilities given: the ratio comes from them, so underflowed bins keep their share
        a = np.subtract(logs[0], logs[1], out=w["a"])
        np.negative(a, out=b)
        np.logaddexp(0.0, b, out=b)
        np.subtract(_LOG2, b, out=b)  # log(p/m)
        qa = np.multiply(q, a, out=ad)
        np.multiply(p, a, out=terms[0])
        terms[0] -= d
        np.subtract(d, qa, out=terms[1])
        np.multiply(s, b, out=terms[2])
        terms[2] -= qa
        if acc.entropies:
            np.multiply(p, logs[0], out=terms[3])
            np.multiply(q, logs[1], out=terms[4])
        abs_a = np.abs(a, out=scratch)
    if np.fmin.reduce(abs_a, axis=None) < SERIES_LOG_RATIO:  # fmin: a 0/0 bin's NaN must not hide the rest
        small = np.flatnonzero(abs_a < SERIES_LOG_RATIO)  # indices: cheaper than masks when few
        s_small = s.ravel().take(small)
        if logs is not None:
            t = np.tanh(0.5 * a.ravel().take(small))
        elif exact is None:
            t = d.ravel().take(small) / s_small
        else:
            cols = p.shape[1]
            flat = (small // cols + r0) * k + small % cols + c0
            t = (d.ravel().take(small) + exact.lost(flat)) / s_small
        for i in range(3):
            terms[i].ravel().put(small, 0.0)
        acc.defer_series(small // p.shape[1] + r0, 0.5 * s_small, t)
    sums = terms.sum(axis=-1)
    if not np.isfinite(sums).all() or (check_extremes and np.fmax.reduce(abs_a, axis=None) > DENORMAL_LOG_RATIO):
        _fix_zero_bins(acc, r0, c0, k, p, q, dict(zip(acc.keys, terms)), logs, abs_a)
        sums = terms.sum(axis=-1)
    acc.add(r0, sums)


def _fix_zero_bins(acc: _Accumulator, r0: int, c0: int, k: int, p, q, terms: dict, logs, abs_a) -> None:
    """Apply 0·log 0 = 0 and KL = +inf where one side has zero mass.

    Also recomputes, from separate logarithms, the bins whose ratio ``p/q``
    over- or underflowed or fell among the denormals (which carry fewer
    significant bits): that needs a denormal probability on one side.
    ``abs_a`` is the block's ``|log(p/q)|``. Only the affected bins are
    touched (by index), so a block with a few empty bins stays cheap.
    """
    cols = p.shape[1]
    flat_p, flat_q = p.ravel(), q.ravel()
    p_zero = flat_p == 0 if logs is None else np.isneginf(logs[0]).ravel()
    q_zero = flat_q == 0 if logs is None else np.isneginf(logs[1]).ravel()
    suspect = np.flatnonzero(~(abs_a.ravel() <= DENORMAL_LOG_RATIO))  # NaN (0/0), inf and huge ratios
    empty = p_zero.take(suspect) | q_zero.take(suspect)
    extreme, zero = suspect[~empty], suspect[empty]
    named = {key: value.ravel() for key, value in terms.items()}
    if extreme.size:
        pe, qe = flat_p.take(extreme), flat_q.take(extreme)
        if logs is None:
            a = np.log(pe) - np.log(qe)
        else:
            a = logs[0].ravel().take(extreme) - logs[1].ravel().take(extreme)
        named["kl_pq"].put(extreme, pe * a - (pe - qe))
        named["kl_qp"].put(extreme, (pe - qe) - qe * a)
        # p·log(2p/s) + q·log(2q/s), each logarithm from logaddexp: the form s·b − q·a
        # cancels to 0 once |a| > 1e16 (masked logits, -3.4e38), where 2·JS is ln 2 · max(p, q)
        named["js"].put(extreme, pe * (_LOG2 - np.logaddexp(0.0, -a)) + qe * (_LOG2 - np.logaddexp(0.0, a)))
        if "entropy_q" in named and logs is None:  # log q was taken as log p − log(p/q)
            named["entropy_q"].put(extreme, qe * np.log(qe))
    if not zero.size:
        return
    pz, qz = p_zero.take(zero), q_zero.take(zero)
    p0, q0 = flat_p.take(zero), flat_q.take(zero)
    named["kl_pq"].put(zero, np.where(qz & ~pz, np.inf, np.where(pz, q0, 0.0)))
    named["kl_qp"].put(zero, np.where(pz & ~qz, np.inf, np.where(qz, p0, 0.0)))
    named["js"].put(zero, _LOG2 * (p0 + q0))  # one side is 0: ½(0 + q·log 2) each way, doubled
    if "entropy_p" in named:
        named["entropy_p"].put(zero, np.where(pz, 0.0, p0 * (np.log(p0) if logs is None else logs[0].ravel().take(zero))))
        named["entropy_q"].put(zero, np.where(qz, 0.0, q0 * (np.log(q0) if logs is None else logs[1].ravel().take(zero))))
    for which, mask in (("inf_pq", qz & ~pz), ("inf_qp", pz & ~qz)):
        if mask.any():
            flat = zero[mask]
            acc.note_infinite(which, (flat // cols + r0) * k + flat % cols + c0)


# ---------------------------------------------------------------------------
# Preparing inputs


def smooth(p: np.ndarray, eps: float) -> np.ndarray:
    """Additive smoothing of normalised ``p``: ``(p + eps) / (1 + K·eps)``.

    >>> smooth(np.array([0.0, 1.0]), 0.5).tolist()
    [0.25, 0.75]
    """
    if not (math.isfinite(eps) and eps >= 0):
        raise UsageError(f"`--smooth` must be a non-negative number, not {eps!r}")
    k = p.shape[-1]
    return (p + eps) / (1.0 + k * eps)


def log_softmax(x, *, temperature: float = 1.0, axis: int = -1) -> np.ndarray:
    """Float64 ``log_softmax(x / temperature)``, as ``torch.log_softmax``.

    >>> np.exp(log_softmax([0.0, 0.0])).tolist()
    [0.5, 0.5]
    """
    if not (math.isfinite(temperature) and temperature > 0):
        raise UsageError(f"`--temperature` must be a positive number, not {temperature!r}")
    x = np.asarray(x, dtype=np.float64)
    with np.errstate(over="ignore"):
        z = x / temperature
    if np.isnan(z).any() or np.isposinf(z).any():
        if not (np.isnan(x).any() or np.isposinf(x).any()):
            raise InputError(f"logits divided by the temperature {temperature:g} overflow float64; use a larger --temperature")
        raise InputError("logits must be finite numbers or -inf")
    shift = np.max(z, axis=axis, keepdims=True)
    if np.any(np.isneginf(shift)):
        raise InputError("a row of logits is -inf everywhere: it has no probability mass")
    with np.errstate(over="ignore"):  # a logit 1.8e308 below the row's largest is -inf: probability 0, as it should be
        z = z - shift
    with np.errstate(divide="ignore"):
        return z - np.log(np.sum(np.exp(z), axis=axis, keepdims=True))


# ---------------------------------------------------------------------------
# Comparisons


def compare_probabilities(
    p,
    q,
    *,
    reduction: str = "batchmean",
    log_p=None,
    log_q=None,
    labels: list[str] | None = None,
    device: str | None = None,
    exact=None,
) -> Comparison:
    """Compare two normalised distributions (or batches) exactly.

    ``reduction`` combines the rows of a 2-D batch: ``batchmean`` (the mean
    over rows, as ``torch.nn.functional.kl_div(..., reduction="batchmean")``),
    ``sum`` or ``none`` (one value per row). A 1-D input is a single
    distribution and is never reduced. ``labels`` name the bins in notes.
    ``device`` (``auto|cpu|cuda|cuda:N``) computes with torch there instead
    of numpy (:mod:`klcli.engines.discrete_torch`). ``exact`` gives the raw
    weights behind ``p`` and ``q`` (see :func:`divergences`; numpy only).

    >>> c = compare_probabilities([0.2, 0.8], [0.5, 0.5])
    >>> round(c.values["kl_pq"], 12), c.method["kl_pq"]
    (0.192744757022, 'exact')
    """
    if reduction not in REDUCTIONS:
        raise UsageError(f"`--reduction` must be one of {', '.join(REDUCTIONS)}, not {reduction!r}")
    info: dict = {}
    if device is None:
        raw = divergences(p, q, log_p=log_p, log_q=log_q)
        if exact is not None and rounding_may_show(raw):
            raw = divergences(p, q, exact=exact)
    else:
        from klcli.engines.discrete_torch import divergences as divergences_on_device
        from klcli.engines.montecarlo import resolve_device

        raw = divergences_on_device(p, q, device=device, log_p=log_p, log_q=log_q)
        info["backend"] = f"torch:{resolve_device(device).device}"  # the device that ran: auto resolved
    values = {key: raw[key] for key in ("kl_pq", "kl_qp", "js", "entropy_p", "entropy_q")}
    batch = np.ndim(values["kl_pq"]) == 1
    if batch:
        info["rows"] = int(values["kl_pq"].shape[0])
        info["reduction"] = reduction
        if reduction == "batchmean":
            values = {key: float(np.mean(v)) for key, v in values.items()}
        elif reduction == "sum":
            values = {key: float(np.sum(v)) for key, v in values.items()}
    comparison = Comparison.from_nats(values, method="exact", info=info)
    note_zero_bins(comparison, raw, np.shape(p)[-1], labels, batch)
    return comparison


#: The rounding of normalised probabilities (half an ulp each) moves a divergence by at
#: most a few ε in absolute terms (the terms of the bins add up to at most Σ m·|t|·ε ≤ ε),
#: so only divergences below this size are recomputed from the raw weights.
EXACT_RECOMPUTE_BELOW = 1e-3


def rounding_may_show(raw: dict) -> bool:
    """Whether some divergence is small enough for the normalisation's rounding to show at 1e-12."""
    return any(np.min(raw[key]) < EXACT_RECOMPUTE_BELOW for key in ("kl_pq", "kl_qp", "js"))


def zero_bins(p, q, log_p=None, log_q=None) -> dict:
    """Count and locate the bins of one distribution that make a KL infinite.

    Returns ``inf_pq``/``inf_qp`` (bins where ``q = 0 < p`` / ``p = 0 < q``)
    and ``inf_pq_index``/``inf_qp_index`` (the first ten), as
    :func:`divergences` does; zero means ``log = -inf`` when logs are given.

    >>> zero_bins(np.array([0.5, 0.5, 0.0]), np.array([0.5, 0.0, 0.5]))["inf_pq_index"]
    [1]
    """
    p_zero = p == 0 if log_p is None else np.isneginf(log_p)
    q_zero = q == 0 if log_q is None else np.isneginf(log_q)
    out: dict = {}
    for which, mask in (("inf_pq", q_zero & ~p_zero), ("inf_qp", p_zero & ~q_zero)):
        index = np.flatnonzero(mask)
        out[which] = int(index.size)
        out[which + "_index"] = index[:10].tolist()
    return out


def note_zero_bins(comparison: Comparison, raw: dict, k: int, labels, batch: bool) -> None:
    """Say in ``comparison``'s notes and info which bins make a KL infinite."""
    for which, side, other in (("inf_pq", "Q", "P"), ("inf_qp", "P", "Q")):
        if raw[which]:
            where = _describe_bins(raw[which + "_index"], raw[which], k, labels, batch)
            comparison.notes.append(f"KL({other}‖{side}) is infinite: {raw[which]} bin(s) where {side} = 0 < {other} ({where})")
            comparison.info[f"zero_bins_{side.lower()}"] = raw[which]


def _describe_bins(flat: list[int], count: int, k: int, labels, batch: bool) -> str:
    names = []
    for i in flat:
        row, col = divmod(i, k)
        name = labels[col] if labels else str(col)
        names.append(f"row {row}: {name}" if batch else name)
    more = f", and {count - len(names)} more" if count > len(names) else ""
    return ("labels " if labels and not batch else "" if batch else "indices ") + ", ".join(names) + more


def kl_terms(p, q) -> np.ndarray:
    """Each bin's share of KL(P‖Q) in nats: ``p log(p/q) - p + q``, never negative.

    The terms sum to KL(P‖Q) (the ``- p + q`` parts cancel for normalised
    P and Q); a bin where ``q = 0 < p`` is infinite, ``p = 0`` gives ``q``.

    >>> kl_terms(np.array([0.5, 0.5, 0.0]), np.array([0.25, 0.5, 0.25])).round(6).tolist()
    [0.096574, 0.0, 0.25]
    """
    p, q = np.asarray(p, dtype=float), np.asarray(q, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        terms = p * np.log(p / q) - p + q
    terms[p == 0] = q[p == 0]
    terms[(q == 0) & (p > 0)] = np.inf
    return np.maximum(terms, 0.0)
