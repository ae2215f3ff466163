"""k-nearest-neighbour estimators of KL and Jensen–Shannon divergence from samples.

The core is the estimator of Wang, Kulkarni & Verdú (2009) and Pérez-Cruz
(2008): for samples ``x`` (n points from P) and ``y`` (m points from Q) in
d dimensions,

    D̂(P‖Q) = (d/n) Σ_i log(ν_k(i) / ρ_k(i)) + log(m / (n − 1)),

where ρ_k(i) is the distance from x_i to its k-th nearest neighbour among the
other x's and ν_k(i) the distance to its k-th nearest neighbour among the y's.
It is the sample mean of log p̂(x_i) − log q̂(x_i) for the k-NN density
estimates p̂ and q̂, and it is consistent for every fixed k.

Duplicate points (ties) would make ρ or ν zero. Nothing is perturbed or
dropped; instead the orders become per-point, as in the adaptive estimator of
Wang et al. (their eq. 17): with orders l_i (for ρ) and k_i (for ν),

    D̂ = (d/n) Σ_i log(ν_{k_i}(i) / ρ_{l_i}(i)) + (1/n) Σ_i [ψ(l_i) − ψ(k_i)] + log(m / (n − 1)).

When a set of distances contains a zero, the radius used for a tied point is
its first positive distance, and the order of *every* point of that query is
the number of other points in the closed ball of its radius (never below k).
Counting the whole ball, not just k, matters for rounded data, where many
points sit at the same distance: on 2-D Gaussians rounded to 0.1 it keeps the
estimate where the unrounded data puts it. With no zero distances the orders
are all k and the digamma terms cancel. Exactly repeated observations (atoms)
are not densities, and no kNN estimator recovers a continuous KL from them.

References
----------
.. [1] Q. Wang, S. R. Kulkarni, S. Verdú, "Divergence estimation for
   multidimensional densities via k-nearest-neighbor distances",
   IEEE Trans. Inf. Theory 55(5), 2392–2405, 2009.
.. [2] F. Pérez-Cruz, "Kullback-Leibler divergence estimation of continuous
   distributions", IEEE ISIT 2008, 1666–1670.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:  # scipy.spatial takes a noticeable time to import: load it on use
    from scipy.spatial import cKDTree

#: Default neighbour order; see :func:`knn_divergences` (Notes) for the choice.
DEFAULT_K = 3


@dataclass(frozen=True)
class NeighbourTerms:
    """Per-point log-distance terms of one sample against one reference set.

    ``log_dist`` is log of the distance to the ``order``-th nearest distinct
    neighbour (self excluded); ``order`` is k, or larger where ties forced it;
    ``log_ref`` is log of the number of reference points other than the point
    itself. ``ties`` counts the points whose k-th distance was zero.
    """

    log_dist: np.ndarray
    order: np.ndarray
    log_ref: np.ndarray
    ties: int


def neighbour_terms(tree: cKDTree, points: np.ndarray, k: int, is_member: np.ndarray | bool) -> NeighbourTerms:
    """Distance from each point to its k-th neighbour in ``tree``, self excluded.

    ``is_member`` says (per point, or for all) whether the point is itself one
    of the tree's points; such a point does not count as its own neighbour.
    Where that distance is zero for some point (duplicates), such a point
    uses its first positive distance instead, and every point's ``order``
    becomes the number of other points within its radius (at least k); see
    the module docstring.

    Examples
    --------
    >>> from scipy.spatial import cKDTree
    >>> x = np.array([[0.0], [0.0], [1.0], [3.0]])
    >>> t = neighbour_terms(cKDTree(x), x, 1, True)
    >>> np.exp(t.log_dist).tolist(), t.order.tolist(), t.ties
    ([1.0, 1.0, 1.0, 2.0], [2, 2, 2, 1], 2)
    """
    member = np.broadcast_to(np.asarray(is_member, dtype=bool), (len(points),))
    if member.all():
        dist = tree.query(points, k=[k + 1], workers=-1)[0][:, 0]
    elif not member.any():
        dist = tree.query(points, k=[k], workers=-1)[0][:, 0]
    else:
        both = tree.query(points, k=[k, k + 1], workers=-1)[0]
        dist = np.where(member, both[:, 1], both[:, 0])
    order = np.full(len(points), k, dtype=np.int64)
    tied = np.flatnonzero(dist == 0)
    if tied.size:
        # Identical points have identical distances: work on distinct rows.
        rows, inverse = np.unique(points[tied], axis=0, return_inverse=True)
        coincident = np.asarray(tree.query_ball_point(rows, r=0.0, return_length=True, workers=-1))
        first_positive = np.empty(len(rows))
        for c in np.unique(coincident):
            group = coincident == c
            # the (c+1)-th neighbour is the nearest one at a positive distance
            first_positive[group] = tree.query(rows[group], k=[int(c) + 1], workers=-1)[0][:, 0]
        dist[tied] = first_positive[inverse.ravel()]
        inside = tree.query_ball_point(points, r=dist * (1 + 1e-12), return_length=True, workers=-1)
        order = np.maximum(np.asarray(inside) - member, order)
    log_ref = np.log(tree.n - member.astype(np.float64))
    return NeighbourTerms(np.log(dist), order, log_ref, int(tied.size))


def kl_from_terms(own: NeighbourTerms, other: NeighbourTerms, dim: int) -> float:
    """KL(P‖Q) from the terms of P's points against P (``own``) and Q (``other``).

    The mean over P's points of log p̂ − log q̂ with digamma-corrected k-NN
    density estimates; with equal orders it is Wang et al.'s eq. (5).
    """
    from scipy.special import digamma

    terms = (
        dim * (other.log_dist - own.log_dist)
        + digamma(own.order)
        - digamma(other.order)
        + other.log_ref
        - own.log_ref
    )
    return float(np.mean(terms))


def knn_divergences(
    x: np.ndarray,
    y: np.ndarray,
    k: int = DEFAULT_K,
    *,
    js: bool = True,
    rng: np.random.Generator | None = None,
) -> tuple[dict[str, float], int]:
    """Estimate KL(P‖Q), KL(Q‖P) and JS(P, Q) in nats from samples ``x`` ~ P, ``y`` ~ Q.

    Parameters
    ----------
    x, y : ndarray of shape (n, d) and (m, d)
        Samples, float64, with no NaN; each set must hold at least k+1
        points that are not all identical (callers validate this).
    k : int
        Neighbour order.
    js : bool
        Also estimate the Jensen–Shannon divergence (one more tree).
    rng : numpy.random.Generator, optional
        Draws the mixture sample when ``n != m`` (see Notes).

    Returns
    -------
    values : dict
        ``kl_pq``, ``kl_qp`` and, with ``js``, ``js`` (nats).
    ties : int
        Number of (point, reference set) pairs whose k-th distance was zero.

    Notes
    -----
    Choice of k: k = 1 already gives a consistent estimator, but its variance
    is large (the log of the 1-NN distance has variance ψ'(1) ≈ 1.64 per point,
    against ψ'(3) ≈ 0.39 for k = 3); a larger k smooths the density estimates
    and adds bias where the density changes quickly, which grows with the
    dimension. Wang et al. (2009) use a small fixed k (or k growing slowly
    with n); Kraskov et al. (2004) advise 2–4 for the related mutual
    information estimator (scikit-learn uses 3). Square-root rules (k ≈ √n)
    are tuned for pointwise density estimation, not for a mean of log ratios,
    and cost O(n√n). ``DEFAULT_K = 3``: on Gaussian pairs in 1, 2 and 10
    dimensions (n = 10³–10⁴) it was the best compromise; k = 5–10 was better
    in 1-D but clearly more biased in 2-D and 10-D, k = 1 noisier.

    JS estimator: JS = ½ KL(P‖M) + ½ KL(Q‖M) with M = ½(P + Q). A sample of M
    is the pooled sample when n = m; otherwise the larger set is subsampled
    (without replacement, with ``rng``) to the size of the smaller one, so the
    mixture has equal weights. Each KL(·‖M) is estimated with the k-NN
    estimator above, a point of the mixture sample not counting as its own
    neighbour. Being a mean of log-density ratios, it has the same (small,
    smoothing) bias as the KL estimator, not the downward bias of plugging
    noisy ratios into the concave JS integrand; the result is clipped to
    [0, ln 2], so for identical distributions its mean is slightly positive.
    Measured on Gaussian pairs against the exact JS: bias within ±0.003 nats
    in 1-D and 2-D at n = 10⁴, but −0.05 nats (true 0.124) in 10-D at
    n = 5000, where it shares the KL estimator's downward bias.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> x, y = rng.normal(0, 1, (4000, 1)), rng.normal(1, 1, (4000, 1))
    >>> values, ties = knn_divergences(x, y, rng=rng)
    >>> abs(values["kl_pq"] - 0.5) < 0.1, ties
    (True, 0)
    """
    from scipy.spatial import cKDTree

    dim = x.shape[1]
    tree_x, tree_y = cKDTree(x), cKDTree(y)
    # The estimates are means over points, so their order is free: querying in
    # the trees' leaf order keeps neighbouring queries in cache (2-3x faster).
    x, y = x[tree_x.indices], y[tree_y.indices]
    xx = neighbour_terms(tree_x, x, k, True)
    xy = neighbour_terms(tree_y, x, k, False)
    yy = neighbour_terms(tree_y, y, k, True)
    yx = neighbour_terms(tree_x, y, k, False)
    values = {"kl_pq": kl_from_terms(xx, xy, dim), "kl_qp": kl_from_terms(yy, yx, dim)}
    ties = xx.ties + xy.ties + yy.ties + yx.ties
    if js:
        size = min(len(x), len(y))
        in_x = _subset_mask(len(x), size, rng)
        in_y = _subset_mask(len(y), size, rng)
        tree_m = cKDTree(np.concatenate([x[in_x], y[in_y]]))
        xm = neighbour_terms(tree_m, x, k, in_x)
        ym = neighbour_terms(tree_m, y, k, in_y)
        estimate = 0.5 * kl_from_terms(xx, xm, dim) + 0.5 * kl_from_terms(yy, ym, dim)
        values["js"] = min(max(estimate, 0.0), math.log(2.0))
        ties += xm.ties + ym.ties
    return values, ties


def _subset_mask(n: int, size: int, rng: np.random.Generator | None) -> np.ndarray:
    """Boolean mask choosing ``size`` of ``n`` items uniformly (all when equal)."""
    mask = np.zeros(n, dtype=bool)
    if size == n:
        mask[:] = True
    else:
        mask[(rng or np.random.default_rng()).choice(n, size, replace=False)] = True
    return mask
