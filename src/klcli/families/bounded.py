"""Families on [0, 1] beyond beta and uniform: ``continuousbernoulli`` and ``kumaraswamy``.

The continuous Bernoulli (Loaiza-Ganem & Cunningham, "The continuous Bernoulli:
fixing a pervasive error in variational autoencoders", NeurIPS 2019) has density
``C(λ) exp(λ x)`` on [0, 1] with ``λ = logit(probs)``; its log-normaliser
``log Z(λ) = log(expm1(λ) / λ) = λ/2 + log(sinh(h) / h)``, ``h = λ/2``, is
evaluated by the Taylor series of the even ``log(sinh(h) / h)`` (Bernoulli numbers)
for ``|h| < 0.5`` and as ``λ + log(-expm1(-λ)) - log λ`` (``log(-expm1(λ)) - log(-λ)``
for negative λ) beyond, so it is accurate to a few ulps at every ``probs`` (torch switches to a two-term Taylor
polynomial on [0.499, 0.501], which is off by about 1e-8 there).

>>> d = ContinuousBernoulli(0.5)
>>> float(d.log_norm[()]), float(d.mean[()])
(0.0, 0.5)
"""

from __future__ import annotations

import numpy as np
from scipy import special

from klcli.families.base import INF, POSITIVE, REAL, UNIT_INTERVAL, Tail, Univariate

NEG_INF = -INF
EULER_GAMMA = float(np.euler_gamma)
#: torch clamps probs to [eps, 1 - eps] of the dtype (float64 here)
PROBS_EPS = float(np.finfo(np.float64).eps)

# Taylor coefficients in h² of log(sinh h / h), of (coth h - 1/h) / h and of 1/h² - 1/sinh²h:
# 2^2n B_2n / (2n (2n)!), 2^2n B_2n / (2n)! and (2n - 1) 2^2n B_2n / (2n)!, n = 1..11 (mpmath, 40 digits)
_LOG_SINHC = [
    1 / 6,
    -1 / 180,
    1 / 2835,
    -1 / 37800,
    2.1377799155576933355e-6,
    -1.8036702340053310071e-7,
    1.5661391322766984143e-8,
    -1.3884130493737299423e-9,
    1.250435917600499603e-10,
    -1.1402575602296091433e-11,
    1.0502923908637556408e-12,
]
_COTH = [
    1 / 3,
    -1 / 45,
    2 / 945,
    -1 / 4725,
    2.1377799155576933355e-5,
    -2.1644042808063972085e-6,
    2.19259478518737778e-7,
    -2.2214608789979679076e-8,
    2.2507846516808992854e-9,
    -2.2805151204592182866e-10,
    2.3106432599002624097e-11,
]
_CSCH = [
    1 / 3,
    -1 / 15,
    2 / 189,
    -1 / 675,
    0.00019240019240019240019,
    -0.000023808447088870369294,
    2.850373220743591114e-6,
    -3.3321913184969518614e-7,
    3.8263339078575287852e-8,
    -4.3329787288725147445e-9,
    4.8523508457905510603e-10,
]
_SERIES_BELOW = 0.5


def _series(coefficients: list[float], u: np.ndarray) -> np.ndarray:
    return np.polynomial.polynomial.polyval(u, coefficients)


def continuous_bernoulli_log_norm(lam: np.ndarray) -> np.ndarray:
    """``log Z(λ) = log ∫_0^1 exp(λ x) dx`` accurately for every real λ.

    >>> bool(abs(continuous_bernoulli_log_norm(np.array(2.0)) - np.log(np.expm1(2.0) / 2)) < 1e-15)
    True
    """
    lam = np.asarray(lam, dtype=np.float64)
    h = np.abs(0.5 * lam)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        # log(expm1(λ)/λ) without cancellation: λ + log(-expm1(-λ)) - log λ above 0, log(-expm1(λ)) - log(-λ) below
        direct = np.where(lam > 0, lam + np.log(-np.expm1(-lam)) - np.log(lam), np.log(-np.expm1(lam)) - np.log(-lam))
        small = 0.5 * lam + h * h * _series(_LOG_SINHC, h * h)
    return np.where(h < _SERIES_BELOW, small, direct)


def continuous_bernoulli_mean(lam: np.ndarray) -> np.ndarray:
    """``E[X] = d log Z / dλ = 1/2 + (coth h - 1/h) / 2``, ``h = λ/2``."""
    h = 0.5 * np.asarray(lam, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        direct = 1 / np.tanh(h) - 1 / h
    return 0.5 + 0.5 * np.where(np.abs(h) < _SERIES_BELOW, h * _series(_COTH, h * h), direct)


def continuous_bernoulli_variance(lam: np.ndarray) -> np.ndarray:
    """``Var[X] = d² log Z / dλ² = (1/h² - 1/sinh² h) / 4``, ``h = λ/2``."""
    h = 0.5 * np.asarray(lam, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        direct = 1 / (h * h) - 1 / np.sinh(h) ** 2
    return 0.25 * np.where(np.abs(h) < _SERIES_BELOW, _series(_CSCH, h * h), direct)


class ContinuousBernoulli(Univariate):
    """Continuous Bernoulli ``continuousbernoulli(probs)`` or ``(logits=...)`` on [0, 1].

    ``probs`` in [0, 1] as torch's constraint; like torch, 0 and 1 are clamped to
    ``eps`` and ``1 - eps`` (float64). ``lam`` is the natural parameter ``logit(probs)``.
    """

    name = "continuousbernoulli"
    arguments = ("probs", "logits")
    one_of = ("probs", "logits")
    constraints = {"probs": UNIT_INTERVAL, "logits": REAL}
    support_text = "[0, 1]"

    def tails(self):
        return Tail.bounded(), Tail.bounded()  # support [0, 1]

    def _derive(self):
        if "logits" in self.given:
            self.lam = self.logits
            self.probs = special.expit(self.logits)
        else:
            self.probs = np.clip(self.probs, PROBS_EPS, 1 - PROBS_EPS)
            self.lam = np.log(self.probs) - np.log1p(-self.probs)
            self.logits = self.lam
        self.log_norm = continuous_bernoulli_log_norm(self.lam)
        self.mean = continuous_bernoulli_mean(self.lam)
        self.variance = continuous_bernoulli_variance(self.lam)

    def _log_prob_arrays(self):
        return {"lam": self.lam, "log_norm": self.log_norm}

    def _log_density(self, x, ops, a):
        return ops.where((x >= 0) & (x <= 1), a["lam"] * x - a["log_norm"], NEG_INF)

    def _draw(self, rng, size):
        u = rng.random(size)
        lam = np.broadcast_to(self.lam, size)
        with np.errstate(over="ignore", divide="ignore", invalid="ignore"):
            positive = 1 + np.log(u + (1 - u) * np.exp(-lam)) / lam  # F(x) = expm1(λx) / expm1(λ), inverted
            negative = np.log1p(u * np.expm1(lam)) / lam
        return np.clip(np.where(np.abs(lam) < 1e-12, u, np.where(lam > 0, positive, negative)), 0.0, 1.0)

    def _interval(self):
        return 0.0, 1.0

    def _landmarks(self):
        return np.array([0.0, 1e-6, 1e-3, 0.1, 0.25, 0.5, 0.75, 0.9, 1 - 1e-3, 1 - 1e-6, 1.0])

    def _entropy(self):
        return self.log_norm - self.lam * self.mean


class Kumaraswamy(Univariate):
    """Kumaraswamy ``kumaraswamy(concentration1, concentration0)`` on [0, 1].

    Density ``a b x^(a-1) (1 - x^a)^(b-1)`` with ``a = concentration1``,
    ``b = concentration0`` (torch's names and order).
    """

    name = "kumaraswamy"
    arguments = ("concentration1", "concentration0")
    constraints = {"concentration1": POSITIVE, "concentration0": POSITIVE}
    support_text = "[0, 1]"

    def tails(self):
        return Tail.bounded(), Tail.bounded()  # support [0, 1]

    def _log_prob_arrays(self):
        a, b = self.concentration1, self.concentration0
        return {"a": a, "b": b, "log_ab": np.log(a) + np.log(b)}

    def _log_density(self, x, ops, arrays):
        a, b = arrays["a"], arrays["b"]
        inside = arrays["log_ab"] + ops.xlogy(a - 1, x) + ops.xlog1py(b - 1, -ops.exp(a * ops.log(x)))
        return ops.where((x >= 0) & (x <= 1), inside, NEG_INF)

    def _draw(self, rng, size):
        u = rng.random(size)
        return (-np.expm1(np.log1p(-u) / self.concentration0)) ** (1 / self.concentration1)

    def _interval(self):
        return 0.0, 1.0

    def _landmarks(self):
        return np.array([0.0, 1e-6, 1e-3, 0.1, 0.25, 0.5, 0.75, 0.9, 1 - 1e-3, 1 - 1e-6, 1.0])

    def _entropy(self):
        # torch.distributions.Kumaraswamy.entropy
        a, b = self.concentration1, self.concentration0
        return (1 - 1 / b) + (1 - 1 / a) * (special.digamma(b + 1) + EULER_GAMMA) - np.log(a) - np.log(b)


BOUNDED_FAMILIES = (ContinuousBernoulli, Kumaraswamy)
