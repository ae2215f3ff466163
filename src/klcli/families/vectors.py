"""Vector-valued families: ``onehotcategorical``, ``multinomial``, ``lowrankmvn`` (torch's names and arguments).

A draw of ``onehotcategorical(probs)`` is a one-hot vector of K entries, one of
``multinomial(total_count, probs)`` a vector of K counts summing to
``total_count``; ``lowrankmvn(loc, cov_factor, cov_diag)`` is the normal with
covariance ``cov_factor @ cov_factor.T + diag(cov_diag)`` (the usual
variational posterior). Each follows the batch rule: leading axes are a batch.

>>> Multinomial(3, [0.5, 0.5]).log_prob([[1.0, 2.0]]).round(6).tolist()
[-0.980829]
"""

from __future__ import annotations

import numpy as np
from scipy import special

from klcli.errors import InputError
from klcli.families.base import INF, NONNEGATIVE_INTEGER, POSITIVE, REAL, Support
from klcli.families.discrete import Categorical
from klcli.families.multivariate import MultivariateNormal

NEG_INF = -INF


class OneHotCategorical(Categorical):
    """One-hot categorical ``onehotcategorical(probs)`` or ``(logits=...)``: draws are one-hot vectors."""

    name = "onehotcategorical"
    support_text = "one-hot vectors"

    def _setup(self, params):
        super()._setup(params)
        self.event_shape = self.probs.shape[-1:]

    def _log_prob(self, x, ops, a):
        one_hot = (ops.sum(ops.where(x == 1, 1.0, 0.0), axis=-1) == 1) & (ops.sum(ops.where(x == 0, 1.0, 0.0), axis=-1) == self.dim - 1)
        safe = ops.where(x == 1, a["log_probs"], 0.0)
        return ops.where(one_hot, ops.sum(safe, axis=-1), NEG_INF)

    def sample(self, n, rng):
        return np.eye(self.probs.shape[-1])[super().sample(n, rng).astype(np.int64)]

    @property
    def support(self):
        k = self.probs.shape[-1]
        return Support(np.zeros(k), np.ones(k), self.support_text, discrete=True)

    def tail_bound(self, eps: float) -> float:
        return 1.0


class Multinomial(Categorical):
    """Multinomial ``multinomial(total_count=1, probs)`` or ``(logits=...)``: counts of K categories in ``total_count`` draws."""

    name = "multinomial"
    arguments = ("total_count", "probs", "logits")
    constraints = {"total_count": NONNEGATIVE_INTEGER, **Categorical.constraints}
    defaults = {"total_count": 1.0}
    parameter_ndim = {"total_count": 0, "probs": 1, "logits": 1}
    support_text = "counts summing to total_count"

    def _setup(self, params):
        count = params.pop("total_count")
        super()._setup(params)
        try:
            self.batch_shape = np.broadcast_shapes(self.batch_shape, count.shape)
        except ValueError:
            raise InputError(f"parameter shapes of multinomial(...) do not broadcast: total_count {count.shape}, probs {self.probs.shape}") from None
        self.total_count = np.broadcast_to(count, self.batch_shape)
        self._raw = {"total_count": self.total_count, **{k: np.broadcast_to(v, self.batch_shape + v.shape[-1:]) for k, v in self._raw.items()}}
        self.event_shape = self.probs.shape[-1:]

    def _log_prob_arrays(self):
        return {"log_probs": self.log_probs, "n": self.total_count, "log_norm": special.gammaln(self.total_count + 1)}

    def _log_prob(self, x, ops, a):
        valid = (ops.sum(ops.where(x >= 0, 0.0, 1.0), axis=-1) == 0) & (ops.sum(x, axis=-1) == a["n"])
        terms = ops.where(x > 0, x * a["log_probs"], 0.0) - ops.gammaln(x + 1)
        return ops.where(valid, a["log_norm"] + ops.sum(terms, axis=-1), NEG_INF)

    def sample(self, n, rng):
        return rng.multinomial(int(self.total_count), self.probs, size=int(n)).astype(np.float64)

    @property
    def support(self):
        k = self.probs.shape[-1]
        return Support(np.zeros(k), np.full(k, float(self.total_count)), self.support_text, discrete=True)

    def tail_bound(self, eps: float) -> float:
        return float(self.total_count)

    def entropy(self):
        return None


class LowRankMultivariateNormal(MultivariateNormal):
    """Low-rank multivariate normal ``lowrankmvn(loc, cov_factor, cov_diag)``.

    The covariance ``W Wᵀ + diag(D)`` is formed and factorised once; divergences
    are those of :class:`MultivariateNormal` with it.
    """

    name = "lowrankmvn"
    arguments = ("loc", "cov_factor", "cov_diag")
    one_of = ()
    constraints = {"loc": REAL, "cov_factor": REAL, "cov_diag": POSITIVE}
    parameter_ndim = {"loc": 1, "cov_factor": 2, "cov_diag": 1}
    support_text = "R^d"

    def _setup(self, params):
        loc, factor, diag = params["loc"], params["cov_factor"], params["cov_diag"]
        size = factor.shape[-2]
        if diag.shape[-1] != size or loc.shape[-1] != size:
            raise InputError(
                f"parameters of lowrankmvn(...) do not match: loc has {loc.shape[-1]} entries, "
                f"cov_factor {size} rows and cov_diag {diag.shape[-1]} entries"
            )
        try:
            batch = np.broadcast_shapes(loc.shape[:-1], factor.shape[:-2], diag.shape[:-1])
        except ValueError:
            raise InputError("parameter shapes of lowrankmvn(...) do not broadcast") from None
        self._low_rank = {
            "loc": np.broadcast_to(loc, batch + (size,)),
            "cov_factor": np.broadcast_to(factor, batch + factor.shape[-2:]),
            "cov_diag": np.broadcast_to(diag, batch + (size,)),
        }
        with np.errstate(over="ignore", invalid="ignore"):
            covariance = factor @ np.swapaxes(factor, -1, -2) + diag[..., None] * np.eye(size)
        if not np.all(np.isfinite(covariance)):
            raise InputError("the covariance cov_factor @ cov_factor.T + diag(cov_diag) of lowrankmvn(...) overflows float64")
        super()._setup({"loc": loc, "covariance_matrix": np.broadcast_to(covariance, batch + (size, size))})

    def _batched_parameters(self):
        return self._low_rank


VECTOR_FAMILIES = (OneHotCategorical, Multinomial, LowRankMultivariateNormal)
