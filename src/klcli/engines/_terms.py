"""Non-negative divergence terms shared by the engines.

With ``d = log p - log q``, ``KL(P‖Q) = E_P[d] = E_P[d + expm1(-d)]`` because
``E_P[q / p] = 1`` (when Q's support contains P's). The second form has
non-negative terms (``u + e^-u - 1 >= 0``), so sums of them never come out
negative and nearly identical distributions lose no digits.
"""

from __future__ import annotations

import numpy as np


def ratio_terms(log_p: np.ndarray, log_q: np.ndarray) -> np.ndarray:
    """``d + expm1(-d)`` with ``d = log_p - log_q``: the integrand of E_P (inf where q = 0 < p)."""
    with np.errstate(invalid="ignore", over="ignore"):
        d = log_p - log_q
        terms = d + np.expm1(-d)
    return np.where(np.isposinf(log_q) | np.isneginf(log_p), 0.0, np.where(np.isneginf(log_q), np.inf, terms))


def weighted_terms(log_p: np.ndarray, log_q: np.ndarray) -> np.ndarray:
    """``p (d + expm1(-d)) = p log(p/q) - p + q``, the summand over a support (``q`` where p = 0).

    Where ``p < q / e`` the product form would overflow, and ``p d + q - p`` is used
    instead (no cancellation there, since ``q - p`` dominates).
    """
    with np.errstate(invalid="ignore", over="ignore", under="ignore"):
        p, q = np.exp(log_p), np.exp(log_q)
        d = log_p - log_q
        near = p * ratio_terms(log_p, log_q)
        far = p * d + (q - p)
    terms = np.where(d < -1, far, near)
    return np.where(np.isneginf(log_p), q, terms)
