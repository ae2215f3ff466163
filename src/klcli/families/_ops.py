"""Array operations shared by the numpy and torch evaluations of log densities.

Every ``log_prob`` formula in :mod:`klcli.families` is written once against an
``ops`` object; :data:`NUMPY` evaluates it with numpy and scipy.special, and
:class:`TorchOps` evaluates the same formula with torch on a device, in float64.
Normalising constants that need special functions of the *parameters* are
computed once in numpy when a distribution is built, so the per-sample part
only needs the elementary functions listed here.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from scipy import special


class NumpyOps:
    """numpy/scipy.special implementation of the operations (float64)."""

    name = "numpy"
    log = staticmethod(np.log)
    log1p = staticmethod(np.log1p)
    exp = staticmethod(np.exp)
    expm1 = staticmethod(np.expm1)
    tanh = staticmethod(np.tanh)
    abs = staticmethod(np.abs)
    isfinite = staticmethod(np.isfinite)
    cos = staticmethod(np.cos)
    square = staticmethod(np.square)
    where = staticmethod(np.where)
    logaddexp = staticmethod(np.logaddexp)
    gammaln = staticmethod(special.gammaln)
    xlogy = staticmethod(special.xlogy)
    xlog1py = staticmethod(special.xlog1py)

    def asarray(self, value: Any) -> np.ndarray:
        return np.asarray(value, dtype=np.float64)

    def sum(self, value: np.ndarray, axis: int) -> np.ndarray:
        return np.sum(value, axis=axis)

    def logsumexp(self, value: np.ndarray, axis: int) -> np.ndarray:
        return special.logsumexp(value, axis=axis)

    def take(self, table: np.ndarray, index: np.ndarray) -> np.ndarray:
        return np.take(table, index)

    def clip_index(self, x: np.ndarray, high: int) -> np.ndarray:
        """``x`` clipped to ``[0, high]`` as integers (for table look-ups)."""
        return np.clip(x, 0, high).astype(np.int64)

    def solve_lower(self, tril: np.ndarray, rhs: np.ndarray) -> np.ndarray:
        """Solve ``tril @ X = rhs`` for a lower-triangular ``tril`` (``rhs`` may be overwritten)."""
        from scipy.linalg import solve_triangular

        return solve_triangular(tril, rhs, lower=True, check_finite=False, overwrite_b=True)

    def squared_column_norms(self, matrix: np.ndarray) -> np.ndarray:
        return np.einsum("ij,ij->j", matrix, matrix)

    def to_numpy(self, value: np.ndarray) -> np.ndarray:
        return value


class TorchOps:
    """torch implementation of the operations on ``device`` (float64)."""

    def __init__(self, torch: Any, device: Any) -> None:
        self.torch = torch
        self.device = device
        self.name = f"torch:{device}"
        self.log = torch.log
        self.log1p = torch.log1p
        self.exp = torch.exp
        self.expm1 = torch.expm1
        self.tanh = torch.tanh
        self.abs = torch.abs
        self.isfinite = torch.isfinite
        self.cos = torch.cos
        self.square = torch.square
        self.logaddexp = torch.logaddexp
        self.gammaln = torch.lgamma
        self.xlogy = torch.special.xlogy
        self.xlog1py = torch.special.xlog1py

    def asarray(self, value: Any) -> Any:
        return self.torch.as_tensor(value, dtype=self.torch.float64, device=self.device)

    def where(self, condition: Any, a: Any, b: Any) -> Any:
        return self.torch.where(condition, a, b)

    def sum(self, value: Any, axis: int) -> Any:
        return value.sum(dim=axis)

    def logsumexp(self, value: Any, axis: int) -> Any:
        return self.torch.logsumexp(value, dim=axis)

    def take(self, table: Any, index: Any) -> Any:
        return table[index]

    def clip_index(self, x: Any, high: int) -> Any:
        return x.clamp(0, high).long()

    def solve_lower(self, tril: Any, rhs: Any) -> Any:
        return self.torch.linalg.solve_triangular(tril, rhs, upper=False)

    def squared_column_norms(self, matrix: Any) -> Any:
        return (matrix * matrix).sum(dim=0)

    def to_numpy(self, value: Any) -> np.ndarray:
        return value.detach().cpu().numpy()


NUMPY = NumpyOps()

LOG_2PI = math.log(2 * math.pi)
LOG_2 = math.log(2.0)
