"""Exact renormalisation: what rounding ``p = w / sum(w)`` took from ``p - q``, from the raw weights.

Dividing weights by their sum rounds each probability by half an ulp; for nearly
equal histograms (a KL of 1e-27) that moves the divergence by 1e-6 relative. The
discrete core (:func:`klcli.discrete.divergences`) takes an
:class:`ExactNormalisation` and, in the bins where ``p ≈ q``, adds back what the
rounding lost, so the result is the divergence of the exactly normalised weights.

>>> hi, lo = exact_sums(np.array([1.0, 1e-17, 1e-17]))
>>> float(hi), float(lo)
(1.0, 2e-17)
"""

from __future__ import annotations

import threading

import numpy as np

#: Up to this many entries per side the raw weights are kept beside the probabilities,
#: so that nearly equal bins get the divergence of the exactly normalised weights
#: (:class:`ExactNormalisation`); beyond, each probability keeps its rounding (half an ulp)
#: and the weights are normalised in place.
EXACT_NORMALISATION_MAX = 1 << 22

_SPLIT = 134217729.0  # 2^27 + 1: Dekker's splitting constant


def exact_sums(weights: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Row sums (last axis) as unevaluated pairs ``hi + lo``, accurate to about ε² of the sum.

    A pairwise tree of error-free additions (Knuth's TwoSum); the errors are added
    up separately. Weights are non-negative, so ``lo`` is tiny against ``hi``.
    """
    hi = np.asarray(weights, dtype=np.float64)
    lo = np.zeros(hi.shape[:-1])
    while hi.shape[-1] > 1:
        if hi.shape[-1] % 2:
            hi = np.concatenate([hi, np.zeros(hi.shape[:-1] + (1,))], axis=-1)
        a, b = hi[..., 0::2], hi[..., 1::2]
        total = a + b
        b_virtual = total - a
        lo = lo + ((a - (total - b_virtual)) + (b - b_virtual)).sum(axis=-1)
        hi = total
    return hi[..., 0], lo


def _two_product(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``a·b`` as ``hi + lo`` exactly (Dekker's product, no fused multiply-add needed)."""
    product = a * b
    c = _SPLIT * a
    a_hi = c - (c - a)
    a_lo = a - a_hi
    c = _SPLIT * b
    b_hi = c - (c - b)
    b_lo = b - b_hi
    return product, ((a_hi * b_hi - product) + a_hi * b_lo + a_lo * b_hi) + a_lo * b_lo


class ExactNormalisation:
    """What the rounding of ``p = w / sum(w)`` took from ``p - q``, bin by bin, on demand.

    ``weights_p``/``weights_q`` are the raw weights, ``p``/``q`` the normalised
    arrays handed to :func:`divergences` (``w / totals``, with ``totals`` the
    plain row sums, kept as a last axis); 1-D sides broadcast against 2-D
    batches. :meth:`lost` gives ``(p_exact - p) - (q_exact - q)`` at flat bin
    indices: the exact row sums (:func:`exact_sums`) are formed the first time
    it is called, and ``w - p·total`` without rounding (Dekker's product), so
    only the bins that need it (those with ``p ≈ q``) pay.

    >>> w, v = np.array([1.0, 2.0]), np.array([1.0, 2.0 + 2**-40])
    >>> exact = ExactNormalisation(w, v, w / w.sum(), v / v.sum(), w.sum(-1, keepdims=True), v.sum(-1, keepdims=True))
    >>> float(exact.lost(np.array([0]))[0]) != 0
    True
    """

    def __init__(self, weights_p, weights_q, p, q, totals_p, totals_q) -> None:
        self.sides = [(weights_p, p, totals_p), (weights_q, q, totals_q)]
        self.k = np.shape(p)[-1]
        self._low: list | None = None
        self._lock = threading.Lock()  # the core's threads share one instance

    def lost(self, flat: np.ndarray) -> np.ndarray:
        with self._lock:
            if self._low is None:  # exact sum - plain sum, per row (once)
                self._low = [
                    (hi - totals[..., 0]) + lo
                    for (hi, lo), (_, _, totals) in ((exact_sums(weights), side) for side in self.sides for weights in side[:1])
                ]
        rows, cols = np.divmod(flat, self.k)
        out = []
        for (weights, probs, totals), low in zip(self.sides, self._low):
            at = (cols,) if weights.ndim == 1 else (rows, cols)
            w, p = weights[at], probs[(rows, cols) if probs.ndim == 2 else (cols,)]
            total = totals.ravel()[0] if weights.ndim == 1 else totals[rows, 0]
            low_here = low if weights.ndim == 1 else low[rows]
            product, error = _two_product(p, np.broadcast_to(total, p.shape))
            out.append(((w - product) - error - p * low_here) / total)  # w - product is exact (within an ulp)
        return out[0] - out[1]
