"""The drift metrics between two count vectors over the same bins.

With ``p`` the current shares and ``q`` the reference shares:

================  ========================================  =====  =========
metric            value                                     unit   threshold
================  ========================================  =====  =========
``js_distance``   ``sqrt(JS(p, q))``, in [0, 1]             bits   0.1
``js``            ``JS(p, q)``, in [0, 1]                   bits   0.01
``kl``            ``KL(p‖q)`` on floored shares              nats   0.05
``kl_reverse``    ``KL(q‖p)`` on floored shares              nats   0.05
``symmetric_kl``  ``KL(p‖q) + KL(q‖p)`` on floored shares    nats   0.1
``psi``           ``Σ (p − q)·ln(p/q)`` on floored shares    nats   0.2
================  ========================================  =====  =========

JS needs no floor: a bin empty on one side adds a finite amount, a bin empty on
both adds nothing. The KL-type metrics floor every share at
:data:`SHARE_FLOOR` (1e-4, as common PSI tools do) and renormalise, so they stay
finite; ``psi`` is therefore exactly ``symmetric_kl``, under its customary name
and threshold (0.1 moderate, 0.2 significant shift).
"""

from __future__ import annotations

import math

import numpy as np

from klcli.discrete import divergences

METRICS = ("js_distance", "js", "kl", "kl_reverse", "symmetric_kl", "psi")
DEFAULT_METRIC = "js_distance"
DEFAULT_THRESHOLDS = {"js_distance": 0.1, "js": 0.01, "kl": 0.05, "kl_reverse": 0.05, "symmetric_kl": 0.1, "psi": 0.2}
UNITS = {"js_distance": "bits", "js": "bits", "kl": "nats", "kl_reverse": "nats", "symmetric_kl": "nats", "psi": "nats"}
#: Smallest share a bin gets in the KL-type metrics (then renormalised).
SHARE_FLOOR = 1e-4


def metric_terms(metric: str, current: np.ndarray, reference: np.ndarray) -> tuple[float, np.ndarray]:
    """The metric between two count vectors over the same bins, and each bin's share of it.

    Returns ``(value, contributions)``: ``contributions`` are non-negative
    and sum to 1 (all zero when the value is 0).

    >>> value, parts = metric_terms("js_distance", np.array([50, 50]), np.array([90, 10]))
    >>> round(value, 6), parts.round(3).tolist()
    (0.383136, [0.285, 0.715])
    """
    p = current / current.sum()
    q = reference / reference.sum()
    with np.errstate(divide="ignore", invalid="ignore"):
        if metric in ("js", "js_distance"):
            m = 0.5 * (p + q)
            terms = 0.5 * (np.where(p > 0, p * np.log(p / m), 0.0) + np.where(q > 0, q * np.log(q / m), 0.0))
            js_bits = divergences(p, q, entropies=False)["js"] / math.log(2.0)
            value = math.sqrt(max(js_bits, 0.0)) if metric == "js_distance" else js_bits
        else:
            p, q = _floored(p), _floored(q)
            log_ratio = np.log(p / q)
            kl_pq = p * log_ratio - p + q
            kl_qp = q * -log_ratio - q + p
            terms = {"kl": kl_pq, "kl_reverse": kl_qp}.get(metric, kl_pq + kl_qp)
            exact = divergences(p, q, entropies=False)
            value = {"kl": exact["kl_pq"], "kl_reverse": exact["kl_qp"]}.get(metric, exact["kl_pq"] + exact["kl_qp"])
    terms = np.clip(terms, 0.0, None)
    total = terms.sum()
    return float(value), (terms / total if total > 0 else np.zeros_like(terms))


def _floored(shares: np.ndarray) -> np.ndarray:
    floored = np.maximum(shares, SHARE_FLOOR)
    return floored / floored.sum()
