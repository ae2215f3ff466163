"""``wishart(df, covariance_matrix=...)`` (or ``precision_matrix``/``scale_tril``): positive definite p x p matrices.

Torch's parametrisation: ``df > p - 1`` degrees of freedom and the scale matrix
``V`` (``covariance_matrix``); a draw is ``L A Aᵀ Lᵀ`` with ``L L^T = V`` and
Bartlett's lower-triangular ``A`` (``A_ii² ~ chi2(df - i)``, ``A_ij ~ N(0, 1)``).

>>> w = Wishart(4, covariance_matrix=[[1, 0], [0, 1]])
>>> round(float(w.log_prob([[[1.0, 0.0], [0.0, 1.0]]])[0]), 10)
-4.2241714275
"""

from __future__ import annotations

import math

import numpy as np
from scipy import special

from klcli.errors import InputError
from klcli.families.base import INF, REAL, Distribution, Support
from klcli.families.multivariate import SQUARE_MATRIX, MultivariateNormal

NEG_INF = -INF


def multivariate_gammaln(a: np.ndarray, p: int) -> np.ndarray:
    """``log Γ_p(a) = p(p-1)/4 log π + Σ_{j=1..p} log Γ(a + (1 - j)/2)``."""
    a = np.asarray(a, dtype=np.float64)
    return p * (p - 1) / 4 * math.log(math.pi) + sum(special.gammaln(a + (1 - j) / 2) for j in range(1, p + 1))


def multivariate_digamma(a: np.ndarray, p: int) -> np.ndarray:
    """``ψ_p(a) = Σ_{j=1..p} ψ(a + (1 - j)/2)``, the derivative of :func:`multivariate_gammaln`."""
    a = np.asarray(a, dtype=np.float64)
    return sum(special.digamma(a + (1 - j) / 2) for j in range(1, p + 1))


class Wishart(Distribution):
    """Wishart ``wishart(df, covariance_matrix=V)`` on p x p positive definite matrices (mean ``df V``)."""

    name = "wishart"
    arguments = ("df", "covariance_matrix", "precision_matrix", "scale_tril")
    one_of = ("covariance_matrix", "precision_matrix", "scale_tril")
    constraints = {"df": REAL, "covariance_matrix": SQUARE_MATRIX, "precision_matrix": SQUARE_MATRIX, "scale_tril": SQUARE_MATRIX}
    parameter_ndim = {"df": 0, "covariance_matrix": 2, "precision_matrix": 2, "scale_tril": 2}
    support_text = "positive definite matrices"

    def _setup(self, params):
        df = params.pop("df")
        (key,) = params
        # the scale matrix is validated and factorised as an mvn's covariance is
        normal = MultivariateNormal(0.0, **{key: params[key]})
        self.batch_shape = np.broadcast_shapes(normal.batch_shape, df.shape)
        p = normal.event_shape[0]
        bad = ~(df > p - 1)
        if np.any(bad):
            found = df[tuple(np.argwhere(bad)[0])] if df.ndim else df
            raise InputError(f"Expected parameter df of wishart(...) to be greater than {p - 1} (the dimension - 1), but found {float(found):g}")
        self.df = np.broadcast_to(df, self.batch_shape)
        self.scale_tril = np.broadcast_to(normal.scale_tril, self.batch_shape + (p, p))
        self.log_diagonal = np.log(np.diagonal(self.scale_tril, axis1=-2, axis2=-1))
        self.event_shape = (p, p)
        self._given_matrix = (key, np.broadcast_to(params[key], self.batch_shape + (p, p)))

    def _batched_parameters(self):
        key, matrix = self._given_matrix
        return {"df": self.df, key: matrix}

    @property
    def p(self) -> int:
        return self.event_shape[0]

    def _log_prob_arrays(self):
        return {}

    def _log_prob(self, x, ops, a):
        x_np = ops.to_numpy(x) if ops.name != "numpy" else np.asarray(x, dtype=np.float64)
        p, n = self.p, float(self.df)
        with np.errstate(invalid="ignore"):
            sign, log_det = np.linalg.slogdet(x_np)
            whitened = np.linalg.solve(self.scale_tril, x_np)  # L^-1 X
            trace = np.trace(np.linalg.solve(self.scale_tril, np.swapaxes(whitened, -1, -2)), axis1=-2, axis2=-1)
        half_log_det_v = self.log_diagonal.sum()
        value = 0.5 * (n - p - 1) * log_det - 0.5 * trace - 0.5 * n * p * math.log(2) - n * half_log_det_v - multivariate_gammaln(0.5 * n, p)
        symmetric = np.all(np.abs(x_np - np.swapaxes(x_np, -1, -2)) <= 1e-12 * np.abs(x_np).max(axis=(-2, -1), keepdims=True), axis=(-2, -1))
        return ops.asarray(np.where((sign > 0) & symmetric, value, NEG_INF))

    def sample(self, n, rng):
        p = self.p
        a = np.tril(rng.standard_normal((int(n), p, p)), -1)
        chi2 = rng.chisquare(float(self.df) - np.arange(p), size=(int(n), p))
        a[:, np.arange(p), np.arange(p)] = np.sqrt(chi2)
        la = self.scale_tril @ a
        return la @ np.swapaxes(la, -1, -2)

    @property
    def support(self):
        p = self.p
        return Support(np.full((p, p), NEG_INF), np.full((p, p), INF), self.support_text)

    def entropy(self):
        p, n = self.p, float(self.df)
        log_det_v = 2 * float(self.log_diagonal.sum())
        return float(
            0.5 * (p + 1) * log_det_v
            + 0.5 * p * (p + 1) * math.log(2)
            + multivariate_gammaln(0.5 * n, p)
            - 0.5 * (n - p - 1) * multivariate_digamma(0.5 * n, p)
            + 0.5 * n * p
        )


MATRIX_FAMILIES = (Wishart,)
