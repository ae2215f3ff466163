"""Divergences from samples through a probabilistic classifier (density-ratio estimation).

A classifier that tells P's points from Q's estimates the log density ratio:
with class sizes n and m, log p(x)/q(x) = logit Pr(P | x) − log(n/m). klcli
fits logistic regressions on two bases of the (whitened) coordinates and
keeps the one with the smaller held-out log-loss:

* ``quadratic``: every coordinate and every product of two coordinates, so
  the log ratio of any two Gaussians is inside the model;
* ``rich``: the same, in the coordinates of the eigenvectors of the fitted
  quadratic form (the directions along which P and Q differ most), plus a
  natural cubic spline along each of them (heavier or lighter tails, several
  modes) and the products r_i² r_j of the leading four (curved, banana-shaped
  differences).

Both are *cross-fitted*: the points are split into folds, and each point's
log ratio comes from the model fitted on the other folds, so no point is
scored by a model that saw it. Then

    KL(P‖Q) = mean over P of f(x),   KL(Q‖P) = −mean over Q of f(y),
    JS = ½ mean_P log(2σ(f)) + ½ mean_Q log(2σ(−f)),

with f the estimated log ratio and σ the logistic function. The maximum-
likelihood fit with an intercept is calibrated in the large (its mean
predicted probability is the class share). Where the log ratio is not in the
span of the basis (a banana-shaped density, interactions of higher order)
the estimate is biased, usually low: :mod:`klcli.sample_estimators` reports
the spread against the kNN estimators for that reason.

References
----------
.. [1] X. Nguyen, M. J. Wainwright, M. I. Jordan, "Estimating divergence
   functionals and the likelihood ratio by convex risk minimization", IEEE
   Trans. Inf. Theory 56(11), 2010.
.. [2] M. Sugiyama, T. Suzuki, T. Kanamori, *Density Ratio Estimation in
   Machine Learning*, Cambridge University Press, 2012, ch. 4.
.. [3] V. Chernozhukov et al., "Double/debiased machine learning for
   treatment and structural parameters", Econometrics J. 21(1), 2018 (cross-fitting).
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

#: Number of cross-fitting folds.
FOLDS = 4
#: Interior knots of each coordinate's natural spline (at these quantiles).
SPLINE_QUANTILES = (0.05, 0.275, 0.5, 0.725, 0.95)
#: The model is fitted on at most this many points per fold (memory and time bound).
MAX_TRAIN = 60_000
#: Ridge penalty on the standardised basis (the intercept is not penalised).
RIDGE = 1e-5
#: The leading directions whose products r_i² r_j enter the rich basis.
INTERACTING = 4
#: Above this dimension only the quadratic basis is fitted (the rich one grows too large).
RICH_MAX_DIM = 10


def quadratic_basis(z: np.ndarray) -> np.ndarray:
    """Coordinates and their pairwise products (i ≤ j).

    >>> quadratic_basis(np.array([[1.0, 2.0]])).tolist()
    [[1.0, 2.0, 1.0, 2.0, 4.0]]
    """
    rows, cols = np.triu_indices(z.shape[1])
    return np.concatenate([z, z[:, rows] * z[:, cols]], axis=1)


def _directions(form: np.ndarray, z: np.ndarray, is_p: np.ndarray) -> np.ndarray:
    """Directions for the rich basis (columns): where P and Q differ, then the coordinate axes.

    First the eigenvectors of the fitted quadratic form, largest |eigenvalue|
    first (the :data:`INTERACTING` leading ones also interact); then the two
    leading eigenvectors of the difference of the fourth-moment matrices
    E[|z|² z zᵀ] of P and Q (as in FOBI, Cardoso 1989: they find the directions
    where the two differ beyond the second moments, e.g. a bimodal P against
    a Gaussian Q of equal covariance); then every coordinate axis.
    """
    dim = len(form)
    values, vectors = np.linalg.eigh(form)
    lead = vectors[:, np.argsort(-np.abs(values))[: min(dim, INTERACTING)]]
    fourth = [(a * (a * a).sum(axis=1, keepdims=True)).T @ a / len(a) for a in (z[is_p], z[~is_p])]
    values, vectors = np.linalg.eigh(fourth[0] - fourth[1])
    kurtosis = vectors[:, np.argsort(-np.abs(values))[: min(dim, 2)]]
    return np.concatenate([lead, kurtosis, np.eye(dim)], axis=1) if dim > 1 else np.eye(1)


def rich_basis(r: np.ndarray, knots: np.ndarray, dim: int) -> np.ndarray:
    """Projections ``r`` on the directions of :func:`_directions` → the rich basis.

    :func:`quadratic_basis` of the last ``dim`` columns (the coordinate axes),
    a natural cubic spline along every column, and r_i² r_j for the first
    min(dim, :data:`INTERACTING`) columns. ``knots`` has one row of increasing
    knots per column. The natural spline
    with K knots adds K − 2 columns per coordinate (Hastie, Tibshirani &
    Friedman, *Elements of Statistical Learning*, eq. 5.4–5.5), linear beyond
    the outer knots, so together with the squares the tails stay quadratic.

    >>> rich_basis(np.array([[1.0, 2.0]]), np.array([[0.0, 1, 2], [0.0, 1, 2]]), 2).tolist()
    [[1.0, 2.0, 1.0, 2.0, 4.0, 0.5, 3.0, 2.0, 4.0]]
    """
    parts = [quadratic_basis(r[:, -dim:])]
    for column, xi in zip(r.T, knots):
        cubes = np.maximum(column[:, None] - xi[None, :], 0) ** 3
        d = (cubes[:, :-1] - cubes[:, -1:]) / (xi[-1] - xi[:-1])  # d_k, k = 1..K-1
        parts.append(d[:, :-1] - d[:, -1:])
    lead = min(dim, INTERACTING)
    parts += [(r[:, i] ** 2 * r[:, j])[:, None] for i in range(lead) for j in range(lead) if i != j]
    return np.concatenate(parts, axis=1)


class _Model:
    """A basis, its standardisation on the training points, and fitted weights."""

    def __init__(self, make, train_z: np.ndarray, is_p: np.ndarray) -> None:
        self.make = make
        features = make(train_z)
        self.center, self.scale = features.mean(axis=0), features.std(axis=0)
        self.scale[self.scale == 0] = 1.0
        features -= self.center
        features /= self.scale
        self.w = _fit_logistic(features, is_p)
        self.prior = math.log(is_p.sum() / (~is_p).sum())

    def log_ratio(self, z: np.ndarray) -> np.ndarray:
        """Estimated log p/q at the points z (the class prior removed)."""
        out = np.empty(len(z))
        for chunk in np.array_split(np.arange(len(z)), max(1, len(z) // 20_000)):
            features = (self.make(z[chunk]) - self.center) / self.scale
            out[chunk] = features @ self.w[1:] + self.w[0] - self.prior
        return out

    def quadratic_form(self, dim: int) -> np.ndarray:
        """The symmetric matrix A of the quadratic part zᵀ A z of a quadratic_basis model."""
        rows, cols = np.triu_indices(dim)
        coef = self.w[1 + dim :] / self.scale[dim:]
        a = np.zeros((dim, dim))
        a[rows, cols] += coef / 2
        a[cols, rows] += coef / 2
        return a


def _fit_logistic(features: np.ndarray, is_p: np.ndarray, *, max_steps: int = 50) -> np.ndarray:
    """Ridge-penalised logistic regression (intercept first) by Newton's method.

    Newton steps (iteratively reweighted least squares) with step halving
    converge in about ten steps; each costs one pass forming Fᵀ W F.
    """
    from scipy.special import expit, log_expit

    n, width = features.shape
    target = is_p.astype(np.float64)
    penalty = np.full(width + 1, RIDGE)
    penalty[0] = 0.0

    def scores(w: np.ndarray) -> np.ndarray:
        return features @ w[1:] + w[0]

    def loss(s: np.ndarray, w: np.ndarray) -> float:
        return float(-(log_expit(s[is_p]).sum() + log_expit(-s[~is_p]).sum()) / n + 0.5 * (penalty * w * w).sum())

    w = np.zeros(width + 1)
    s = scores(w)
    current = loss(s, w)
    for _ in range(max_steps):
        prob = expit(s)
        residual = (prob - target) / n
        grad = np.concatenate([[residual.sum()], features.T @ residual]) + penalty * w
        weight = prob * (1 - prob) / n
        weighted = features * weight[:, None]
        hess = np.empty((width + 1, width + 1))
        hess[0, 0] = weight.sum()
        hess[0, 1:] = hess[1:, 0] = weighted.sum(axis=0)
        hess[1:, 1:] = features.T @ weighted
        hess[np.diag_indices_from(hess)] += penalty + 1e-12
        step = np.linalg.solve(hess, grad)
        for _ in range(30):  # halve the step until the loss decreases
            candidate = w - step
            s_new = scores(candidate)
            new = loss(s_new, candidate)
            if new <= current:
                break
            step /= 2
        else:
            break
        w, s = candidate, s_new
        done = current - new < 1e-12 * max(1.0, abs(current))
        current = new
        if done:
            break
    return w


def classifier_point_terms(
    x: np.ndarray,
    y: np.ndarray,
    *,
    rng: np.random.Generator,
    progress: Callable[[int], None] | None = None,
) -> dict[str, np.ndarray]:
    """Per-point terms of the cross-fitted classifier estimates.

    ``x`` (n × d) from P and ``y`` (m × d) from Q, best whitened. Returns
    ``kl_pq`` (f at each point of x), ``kl_qp`` (−f at each point of y) and
    ``js_p``, ``js_q`` with JS = ½ mean(js_p) + ½ mean(js_q).

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> x, y = rng.normal(0, 1, (4000, 1)), rng.normal(0, 2, (4000, 1))
    >>> t = classifier_point_terms(x, y, rng=rng)  # KL(P‖Q) = 0.5(1/4 − 1 + ln 4) = 0.318
    >>> abs(float(t["kl_pq"].mean()) - 0.318) < 0.03
    True
    """
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=1, user_api="blas"):
        return _cross_fit(x, y, rng, progress or (lambda done: None))


def _cross_fit(x, y, rng, advance) -> dict[str, np.ndarray]:
    """The work of :func:`classifier_point_terms`, with BLAS on one thread: the
    products are small enough that a threaded BLAS mostly waits for cores
    (20-40 times slower when other processes keep them busy)."""
    from scipy.special import log_expit

    n, m = len(x), len(y)
    dim = x.shape[1]
    z = np.concatenate([x, y])
    is_p = np.r_[np.ones(n, dtype=bool), np.zeros(m, dtype=bool)]
    fold = np.r_[rng.permutation(n) % FOLDS, rng.permutation(m) % FOLDS]
    fits = {"quadratic": np.empty(n + m)}
    if dim <= RICH_MAX_DIM:
        fits["rich"] = np.empty(n + m)
    for j in range(FOLDS):
        train = np.flatnonzero(fold != j)
        if len(train) > MAX_TRAIN:
            train = np.sort(rng.choice(train, MAX_TRAIN, replace=False))
        held = np.flatnonzero(fold == j)
        quadratic = _Model(quadratic_basis, z[train], is_p[train])
        fits["quadratic"][held] = quadratic.log_ratio(z[held])
        if dim <= RICH_MAX_DIM:
            directions = _directions(quadratic.quadratic_form(dim), z[train], is_p[train])
            knots = np.quantile(z[train] @ directions, SPLINE_QUANTILES, axis=0).T
            knots = np.maximum.accumulate(knots + np.arange(knots.shape[1]) * 1e-9, axis=1)

            def make(points, directions=directions, knots=knots):
                return rich_basis(points @ directions, knots, dim)

            fits["rich"][held] = _Model(make, z[train], is_p[train]).log_ratio(z[held])
        advance(len(held))

    def held_out_loss(f: np.ndarray) -> float:
        prior = math.log(n / m)
        return -float(log_expit(f[:n] + prior).sum() + log_expit(-f[n:] - prior).sum()) / (n + m)

    log_ratio = min(fits.values(), key=held_out_loss)
    fp, fq = log_ratio[:n], log_ratio[n:]
    return {
        "kl_pq": fp,
        "kl_qp": -fq,
        "js_p": math.log(2) + log_expit(fp),
        "js_q": math.log(2) + log_expit(-fq),
    }
