"""Multivariate families: ``dirichlet`` and ``mvn`` (multivariate normal)."""

from __future__ import annotations

from typing import ClassVar

import numpy as np
from scipy import special

from klcli.errors import InputError
from klcli.families._ops import LOG_2PI
from klcli.families.base import INF, POSITIVE, REAL, Constraint, Distribution, Support

NEG_INF = -INF


class Dirichlet(Distribution):
    """Dirichlet ``dirichlet(concentration)`` on the probability simplex.

    >>> Dirichlet([1, 1, 1]).event_shape
    (3,)
    """

    name = "dirichlet"
    arguments = ("concentration",)
    constraints = {"concentration": POSITIVE}
    parameter_ndim = {"concentration": 1}
    support_text = "simplex"

    def _setup(self, params):
        self.concentration = params["concentration"]
        if self.concentration.ndim < 1 or self.concentration.shape[-1] < 2:
            raise InputError("Expected parameter concentration of dirichlet(...) to be a list of at least 2 numbers")
        self.event_shape = self.concentration.shape[-1:]
        self.batch_shape = self.concentration.shape[:-1]
        self._log_norm = special.gammaln(self.concentration.sum(axis=-1)) - special.gammaln(self.concentration).sum(axis=-1)

    def _batched_parameters(self):
        return {"concentration": self.concentration}

    def _log_prob_arrays(self):
        return {"c": self.concentration, "log_norm": self._log_norm}

    def _log_prob(self, x, ops, a):
        inside = a["log_norm"] + ops.sum(ops.xlogy(a["c"] - 1, x), axis=-1)
        on_simplex = ops.sum(ops.where(x >= 0, 0.0, 1.0), axis=-1) == 0
        return ops.where(on_simplex, inside, NEG_INF)

    def sample(self, n, rng):
        return rng.dirichlet(self.concentration, int(n))

    @property
    def support(self):
        shape = self.event_shape
        return Support(np.zeros(shape), np.ones(shape), self.support_text)

    def entropy(self):
        c = self.concentration
        total = c.sum()
        return float(-self._log_norm + (total - c.size) * special.digamma(total) - np.sum((c - 1) * special.digamma(c)))


SQUARE_MATRIX = Constraint("a finite real matrix", np.isfinite)


class MultivariateNormal(Distribution):
    """Multivariate normal ``mvn(loc, covariance_matrix=...)`` (or ``scale_tril``/``precision_matrix``).

    The scale is kept as the lower Cholesky factor ``scale_tril``; densities
    and divergences use triangular solves and its log-diagonal, never an
    explicit inverse or determinant.

    >>> d = MultivariateNormal([0, 0], covariance_matrix=[[4, 0], [0, 1]])
    >>> d.scale_tril.tolist()
    [[2.0, 0.0], [0.0, 1.0]]
    """

    name = "mvn"
    arguments: ClassVar[tuple[str, ...]] = ("loc", "covariance_matrix", "precision_matrix", "scale_tril")
    one_of: ClassVar[tuple[str, ...]] = ("covariance_matrix", "precision_matrix", "scale_tril")
    constraints = {"loc": REAL, "covariance_matrix": SQUARE_MATRIX, "precision_matrix": SQUARE_MATRIX, "scale_tril": SQUARE_MATRIX}
    parameter_ndim = {"loc": 0, "covariance_matrix": 2, "precision_matrix": 2, "scale_tril": 2}
    support_text = "R^d"

    def _setup(self, params):
        (key,) = [k for k in MultivariateNormal.one_of if k in params]
        matrix = params[key]
        if matrix.ndim < 2 or matrix.shape[-2] != matrix.shape[-1]:
            raise InputError(f"Expected parameter {key} of mvn(...) to be a square matrix, but found shape {matrix.shape}")
        size = matrix.shape[-1]
        loc = params["loc"]
        if loc.ndim == 0:
            loc = np.full(size, float(loc))
        if loc.shape[-1] != size:
            raise InputError(f"parameters of mvn(...) do not match: loc has {loc.shape[-1]} entries but {key} is {size}x{size}")
        try:
            batch = np.broadcast_shapes(loc.shape[:-1], matrix.shape[:-2])
        except ValueError:
            raise InputError(f"parameter shapes of mvn(...) do not broadcast: loc {_shape(loc.shape)}, {key} {_shape(matrix.shape)}") from None
        self.batch_shape = batch
        self.event_shape = (size,)
        self.loc = np.broadcast_to(loc, batch + (size,))
        self._given_matrix = (key, np.broadcast_to(matrix, batch + (size, size)))
        if batch:
            self.scale_tril = _batched_scale_tril(key, self._given_matrix[1])
            self.log_diagonal = np.log(np.diagonal(self.scale_tril, axis1=-2, axis2=-1))
            return
        if key == "scale_tril":
            if np.any(np.triu(matrix, 1) != 0):
                raise InputError("Expected parameter scale_tril of mvn(...) to be lower triangular, but it has entries above the diagonal")
            if not np.all(np.diag(matrix) > 0):
                raise InputError(f"Expected parameter scale_tril of mvn(...) to have a positive diagonal, but found {np.diag(matrix).min():g}")
            self.scale_tril = matrix
        else:
            asymmetry = np.max(np.abs(matrix - matrix.T))
            if asymmetry > 1e-12 * np.max(np.abs(matrix)):
                raise InputError(f"Expected parameter {key} of mvn(...) to be symmetric, but |A - A^T| reaches {asymmetry:g}")
            if key == "covariance_matrix":
                self.scale_tril = _cholesky(key, matrix)
            else:
                self.scale_tril = _precision_to_scale_tril(matrix)
        self.log_diagonal = np.log(np.diag(self.scale_tril))

    def _batched_parameters(self):
        key, matrix = self._given_matrix
        return {"loc": self.loc, key: matrix}

    def _log_prob_arrays(self):
        return {"loc": self.loc, "tril": self.scale_tril, "half_log_det": self.log_diagonal.sum()}

    def _log_prob(self, x, ops, a):
        whitened = ops.solve_lower(a["tril"], (x - a["loc"]).T)  # a fresh array: may be overwritten
        mahalanobis = ops.squared_column_norms(whitened)
        return -0.5 * (self.dim * LOG_2PI + mahalanobis) - a["half_log_det"]

    def sample(self, n, rng):
        return self.loc + rng.standard_normal((int(n), self.dim)) @ self.scale_tril.T

    @property
    def support(self):
        return Support(np.full(self.dim, NEG_INF), np.full(self.dim, INF), self.support_text)

    def entropy(self):
        return float(0.5 * self.dim * (1 + LOG_2PI) + self.log_diagonal.sum())


def _batched_scale_tril(key: str, matrices: np.ndarray) -> np.ndarray:
    """Lower factors of a batch of matrices; an error names the first bad member."""
    if key == "covariance_matrix":
        symmetric = np.max(np.abs(matrices - np.swapaxes(matrices, -1, -2))) <= 1e-12 * np.max(np.abs(matrices))
        if symmetric:
            try:
                return np.linalg.cholesky(matrices)
            except np.linalg.LinAlgError:
                pass
    batch = matrices.shape[:-2]
    factors = np.empty(matrices.shape)
    for index in np.ndindex(*batch):
        try:
            factors[index] = MultivariateNormal(0.0, **{key: matrices[index]}).scale_tril
        except InputError as error:
            where = index[0] if len(index) == 1 else index
            raise InputError(f"{error} (in row {where})") from None
    return factors


def _shape(shape: tuple[int, ...]) -> str:
    return "x".join(map(str, shape)) if shape else "scalar"


def _cholesky(key: str, matrix: np.ndarray) -> np.ndarray:
    """Lower Cholesky factor, or an InputError naming the failing leading minor."""
    try:
        return np.linalg.cholesky(matrix)
    except np.linalg.LinAlgError:
        pass
    eigenvalues = np.linalg.eigvalsh(matrix)
    raise InputError(f"Expected parameter {key} of mvn(...) to be positive definite, but its smallest eigenvalue is {eigenvalues.min():g}")


def _precision_to_scale_tril(precision: np.ndarray) -> np.ndarray:
    """Lower factor L with L L^T = P^-1, by a Cholesky factor and a triangular solve.

    With J the exchange matrix, Cholesky of J P J = F F^T gives P = U U^T for
    the upper-triangular U = J F J, so P^-1 = U^-T U^-1 and L = U^-T is lower
    triangular with a positive diagonal (torch's ``_precision_to_scale_tril``).
    """
    from scipy.linalg import solve_triangular

    flipped = _cholesky("precision_matrix", precision[::-1, ::-1])
    upper_transposed = flipped[::-1, ::-1].T
    return solve_triangular(upper_transposed, np.eye(precision.shape[0]), lower=True, check_finite=False)


MULTIVARIATE_FAMILIES = (Dirichlet, MultivariateNormal)
