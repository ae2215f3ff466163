"""Univariate discrete families (torch parameter names and conventions).

``geometric`` counts failures before the first success (support {0, 1, ...});
``negativebinomial(total_count, probs)`` counts successes (probability
``probs``) before ``total_count`` failures, as in ``torch.distributions``.
Families with ``probs``/``logits`` take exactly one of the two.
"""

from __future__ import annotations

import math

from typing import ClassVar

import numpy as np
from scipy import special

from klcli.errors import InputError
from klcli.families.base import (
    HALF_OPEN_UNIT_INTERVAL,
    INF,
    NONNEGATIVE,
    NONNEGATIVE_INTEGER,
    PROBABILITY_NOT_ZERO,
    REAL,
    UNIT_INTERVAL,
    Constraint,
    Distribution,
    Support,
    Univariate,
)

NEG_INF = -INF
REAL_OR_MINUS_INF = Constraint("a real number or -inf", lambda a: ~np.isnan(a) & (a < INF))


class _ProbsOrLogits(Univariate):
    """Families parametrised by a success probability ``probs`` or its ``logits``."""

    is_discrete = True
    one_of = ("probs", "logits")
    constraints = {"probs": UNIT_INTERVAL, "logits": REAL}

    def _derive(self):
        if "logits" in self.given:
            self.log_success = special.log_expit(self.logits)
            self.log_failure = special.log_expit(-self.logits)  # log(1 - probs)
            self.probs = special.expit(self.logits)
        else:
            self.log_success = np.log(self.probs, where=self.probs > 0, out=np.full_like(self.probs, NEG_INF))
            self.log_failure = np.log1p(-self.probs, where=self.probs < 1, out=np.full_like(self.probs, NEG_INF))
            with np.errstate(divide="ignore"):
                self.logits = self.log_success - self.log_failure


class Bernoulli(_ProbsOrLogits):
    """Bernoulli ``bernoulli(probs)`` or ``bernoulli(logits=...)`` on {0, 1}."""

    name = "bernoulli"
    arguments = ("probs", "logits")

    def _log_prob_arrays(self):
        return {"log_success": self.log_success, "log_failure": self.log_failure}

    def _log_density(self, x, ops, a):
        return ops.where(x == 1, a["log_success"], ops.where(x == 0, a["log_failure"], NEG_INF))

    def _draw(self, rng, size):
        return (rng.random(size) < self.probs).astype(np.float64)

    support_text = "{0, 1}"

    def _interval(self):
        return 0, 1

    def tail_bound(self, eps: float) -> float:
        return 1.0

    def _entropy(self):
        return -(special.xlogy(self.probs, self.probs) + special.xlog1py(1 - self.probs, -self.probs))


class Binomial(_ProbsOrLogits):
    """Binomial ``binomial(total_count=1, probs)`` on {0, ..., total_count}."""

    name = "binomial"
    arguments = ("total_count", "probs", "logits")
    total_count: np.ndarray  # set from the arguments by Distribution.__init__
    constraints = {"total_count": NONNEGATIVE_INTEGER, "probs": UNIT_INTERVAL, "logits": REAL}
    defaults = {"total_count": 1.0}

    def _derive(self):
        super()._derive()
        self._log_norm = special.gammaln(self.total_count + 1)

    def _log_prob_arrays(self):
        return {"n": self.total_count, "log_success": self.log_success, "log_failure": self.log_failure, "log_norm": self._log_norm}

    def _log_density(self, x, ops, a):
        n = a["n"]
        inside = a["log_norm"] - ops.gammaln(x + 1) - ops.gammaln(n - x + 1)
        # k log p + (n - k) log(1 - p) with 0 * log 0 = 0 at the edges
        inside = inside + ops.where(x > 0, x * a["log_success"], 0.0) + ops.where(n - x > 0, (n - x) * a["log_failure"], 0.0)
        return ops.where((x >= 0) & (x <= n), inside, NEG_INF)

    def _draw(self, rng, size):
        return rng.binomial(self.total_count.astype(np.int64), self.probs, size).astype(np.float64)

    support_text = "{0, ..., total_count}"

    def _interval(self):
        return 0, self.total_count

    def tail_bound(self, eps: float) -> float:
        # P(X > k) = I_p(k + 1, n - k), the regularised incomplete beta function
        n = float(np.max(self.total_count))
        survival = lambda k: special.betainc(k + 1, np.maximum(self.total_count - k, 1e-300), self.probs)  # noqa: E731
        return _integer_bound(survival, eps, float(np.max(self.total_count * self.probs)), limit=n)

    def low_bound(self, eps: float) -> float:
        """Largest k with P(X < k) < eps (0 when the mass sits near 0)."""
        # P(X <= k) = I_{1-p}(n - k, k + 1), the regularised incomplete beta function
        return _integer_floor(
            lambda k: special.betainc(np.maximum(self.total_count - k, 1e-300), k + 1, np.exp(self.log_failure)),
            eps,
            float(np.min(self.total_count * self.probs)),
        )


class Geometric(_ProbsOrLogits):
    """Geometric ``geometric(probs)``: failures before the first success, on {0, 1, ...}."""

    name = "geometric"
    arguments = ("probs", "logits")
    constraints = {"probs": PROBABILITY_NOT_ZERO, "logits": REAL}

    def _log_prob_arrays(self):
        return {"log_success": self.log_success, "log_failure": self.log_failure}

    def _log_density(self, x, ops, a):
        inside = a["log_success"] + ops.where(x > 0, x * a["log_failure"], 0.0)
        return ops.where(x >= 0, inside, NEG_INF)

    def _draw(self, rng, size):
        return (rng.geometric(self.probs, size) - 1).astype(np.float64)

    support_text = "{0, 1, ...}"

    def _interval(self):
        return 0, INF

    def tail_bound(self, eps: float) -> float:
        # P(X >= k) = (1 - p)^k
        with np.errstate(divide="ignore"):
            return float(np.max(np.where(self.log_failure < 0, np.ceil(math.log(eps) / self.log_failure), 0.0)))

    def _entropy(self):
        p = self.probs
        return -(special.xlog1py(1 - p, -p) + special.xlogy(p, p)) / p


class NegativeBinomial(_ProbsOrLogits):
    """Negative binomial ``negativebinomial(total_count, probs)``: successes before ``total_count`` failures.

    ``total_count`` may be 0 (torch's constraint is ``>= 0``): the point mass at 0.
    """

    name = "negativebinomial"
    arguments = ("total_count", "probs", "logits")
    total_count: np.ndarray  # set from the arguments by Distribution.__init__
    constraints = {"total_count": NONNEGATIVE, "probs": HALF_OPEN_UNIT_INTERVAL, "logits": REAL}

    def _derive(self):
        super()._derive()
        with np.errstate(invalid="ignore"):
            self._log_norm = np.where(
                self.total_count > 0, special.xlogy(self.total_count, np.exp(self.log_failure)) - special.gammaln(self.total_count), 0.0
            )

    def _log_prob_arrays(self):
        return {"r": self.total_count, "log_success": self.log_success, "log_norm": self._log_norm}

    def _log_density(self, x, ops, a):
        inside = a["log_norm"] + ops.gammaln(x + a["r"]) - ops.gammaln(x + 1) + ops.where(x > 0, x * a["log_success"], 0.0)
        point_mass = ops.where(x == 0, 0.0, NEG_INF)  # total_count 0
        return ops.where(x >= 0, ops.where(a["r"] > 0, inside, point_mass), NEG_INF)

    def _draw(self, rng, size):
        # numpy counts failures before n successes: swap the roles of success and failure
        count = np.where(self.total_count > 0, self.total_count, 1.0)
        draws = rng.negative_binomial(count, 1 - self.probs, size).astype(np.float64)
        return np.where(self.total_count > 0, draws, 0.0)

    support_text = "{0, 1, ...}"

    def _interval(self):
        return 0, INF

    def tail_bound(self, eps: float) -> float:
        # P(X > k) = I_p(k + 1, total_count), the regularised incomplete beta function
        return _integer_bound(lambda k: special.betainc(k + 1, self.total_count, self.probs), eps, self._mean())

    def _mean(self):
        return float(np.max(self.total_count * np.exp(self.log_success - self.log_failure)))


class Poisson(Univariate):
    """Poisson ``poisson(rate)`` on {0, 1, ...}."""

    name = "poisson"
    arguments = ("rate",)
    rate: np.ndarray  # set from the arguments by Distribution.__init__
    constraints = {"rate": NONNEGATIVE}
    is_discrete = True

    def _derive(self):
        self._log_rate = np.log(self.rate, where=self.rate > 0, out=np.full_like(self.rate, NEG_INF))

    def _log_prob_arrays(self):
        return {"rate": self.rate, "log_rate": self._log_rate}

    def _log_density(self, x, ops, a):
        inside = ops.where(x > 0, x * a["log_rate"], 0.0) - a["rate"] - ops.gammaln(x + 1)
        return ops.where(x >= 0, inside, NEG_INF)

    def _draw(self, rng, size):
        return rng.poisson(self.rate, size).astype(np.float64)

    support_text = "{0, 1, ...}"

    def _interval(self):
        return 0, INF

    def tail_bound(self, eps: float) -> float:
        # P(X > k) = P(k + 1, rate), the regularised lower incomplete gamma function
        return _integer_bound(lambda k: special.gammainc(k + 1, self.rate), eps, float(np.max(self.rate)))

    def low_bound(self, eps: float) -> float:
        """Largest k with P(X < k) < eps (0 when the mass sits near 0)."""
        # P(X <= k) = Q(k + 1, rate), the regularised upper incomplete gamma function
        return _integer_floor(lambda k: special.gammaincc(k + 1, self.rate), eps, float(np.min(self.rate)))


def _integer_bound(survival, eps: float, start: float, limit: float = math.inf) -> float:
    """Smallest integer k (within a factor 2) with ``max(survival(k)) < eps``, at most ``limit``."""
    k = max(float(math.ceil(start)), 1.0)
    while np.max(survival(k)) >= eps:
        if k >= limit:
            return float(limit)
        k *= 2
    low, high = k / 2, k
    while high - low > 1:
        middle = math.floor((low + high) / 2)
        if middle in (low, high):  # beyond 2^53 the floats between them are exhausted
            break
        if np.max(survival(middle)) >= eps:
            low = middle
        else:
            high = middle
    return float(high)


def _integer_floor(cdf, eps: float, mean: float) -> float:
    """An integer k below ``mean`` with ``max(cdf(k - 1)) = P(X < k) < eps`` (the gap to the mean within a factor 2)."""
    if mean < 2 or np.max(cdf(0.0)) >= eps:
        return 0.0
    gap = 1.0
    while gap < mean and np.max(cdf(mean - gap - 1)) >= eps:
        gap *= 2
    return float(max(math.floor(mean - gap), 0))


class Categorical(Distribution):
    """Categorical ``categorical(probs)`` or ``categorical(logits=...)`` on {0, ..., K-1}.

    ``probs`` are normalised like torch does (they may be counts).

    >>> Categorical([1, 3]).probs.tolist()
    [0.25, 0.75]
    """

    name = "categorical"
    arguments: ClassVar[tuple[str, ...]] = ("probs", "logits")
    one_of: ClassVar[tuple[str, ...]] = ("probs", "logits")
    constraints = {"probs": NONNEGATIVE, "logits": REAL_OR_MINUS_INF}
    parameter_ndim = {"probs": 1, "logits": 1}
    is_discrete = True
    support_text = "{0, ..., K-1}"

    def _setup(self, params):
        (key,) = params
        raw = params[key]
        if raw.ndim == 0:
            raise InputError(f"Expected parameter {key} of categorical(...) to be a list of numbers, but found {raw}")
        self._raw = {key: raw}
        self.batch_shape = raw.shape[:-1]
        self.event_shape = ()
        # each member of a batch (each row) is normalised on its own, as torch does
        if key == "probs":
            total = raw.sum(axis=-1, keepdims=True)
            if not np.all(total > 0):
                where = _row_text(np.argwhere(~(total[..., 0] > 0))[0]) if raw.ndim > 1 else ""
                raise InputError(f"Expected parameter probs of categorical(...) to have a positive sum{where}, but found 0")
            self.probs = raw / total
            with np.errstate(divide="ignore"):
                self.log_probs = np.log(self.probs)
        else:
            if not np.all(np.any(np.isfinite(raw), axis=-1)):
                where = _row_text(np.argwhere(~np.any(np.isfinite(raw), axis=-1))[0]) if raw.ndim > 1 else ""
                raise InputError(f"Expected parameter logits of categorical(...) to have a finite entry{where}, but all are -inf")
            self.log_probs = raw - special.logsumexp(raw, axis=-1, keepdims=True)
            self.probs = np.exp(self.log_probs)

    def _batched_parameters(self):
        return self._raw

    def _log_prob_arrays(self):
        return {"log_probs": self.log_probs}

    def _log_prob(self, x, ops, a):
        index = ops.clip_index(x, self.probs.size - 1)
        return ops.where(x == index, ops.take(a["log_probs"], index), NEG_INF)

    def sample(self, n, rng):
        cumulative = np.cumsum(self.probs)
        return np.searchsorted(cumulative / cumulative[-1], rng.random(int(n)), side="right").astype(np.float64)

    @property
    def support(self):
        return Support(0, self.probs.size - 1, self.support_text, discrete=True)

    def tail_bound(self, eps: float) -> float:
        return float(self.probs.size - 1)

    def entropy(self):
        return float(-np.sum(special.xlogy(self.probs, self.probs)))


def _row_text(index) -> str:
    """`` in row 1`` (or `` in row (1, 0)``) for an error about one member of a batch."""
    index = tuple(int(i) for i in index)
    return f" in row {index[0]}" if len(index) == 1 else f" in row {index}"


DISCRETE_FAMILIES = (Bernoulli, Categorical, Binomial, Poisson, Geometric, NegativeBinomial)
