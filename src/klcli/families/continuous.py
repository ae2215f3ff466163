"""Univariate continuous families (torch parameter names and order).

Densities follow the ``torch.distributions`` conventions; ``logistic`` (not in
torch) uses ``loc``/``scale`` like the others. Location-scale families default
to ``loc=0, scale=1``.
"""

from __future__ import annotations

import math
from typing import ClassVar

import numpy as np
from scipy import special

from klcli.errors import InputError
from klcli.families._ops import LOG_2, LOG_2PI
from klcli.families.base import INF, POSITIVE, REAL, Tail, Univariate, format_number, spread_points
from klcli.stable import lgamma_remainder

EULER_GAMMA = float(np.euler_gamma)
NEG_INF = -INF


def _gaussian_rate(scale) -> float:
    """``1 / (2 scale^2)``, the rate of a Gaussian tail (inf or 0 when out of range)."""
    return _power(scale, -2.0) * 0.5


def _power(base, exponent: float) -> float:
    with np.errstate(over="ignore", divide="ignore", under="ignore"):
        return float(np.power(np.float64(base), exponent))


class _LocScale(Univariate):
    arguments = ("loc", "scale")
    constraints = {"loc": REAL, "scale": POSITIVE}
    defaults = {"loc": 0.0, "scale": 1.0}

    def _log_prob_arrays(self):
        return {"loc": self.loc, "scale": self.scale, "log_scale": np.log(self.scale)}

    support_text = "real"

    def _interval(self):
        return NEG_INF, INF

    def _landmarks(self):
        return spread_points(self.loc, self.scale)


class Normal(_LocScale):
    """Normal distribution ``normal(loc, scale)``.

    The spread may instead be given as ``variance=`` (σ²) or ``logvar=`` (log σ²,
    as VAE encoders emit it); either is turned into ``scale``.

    >>> round(float(Normal(0, 2).log_prob([0.0])[0]), 6)
    -1.612086
    >>> Normal(loc=0, logvar=math.log(4.0)).scale.tolist(), Normal(variance=[1, 9]).scale.tolist()
    (2.0, [1.0, 3.0])
    """

    name = "normal"
    constraints = {**_LocScale.constraints, "variance": POSITIVE, "logvar": REAL}
    #: alternative names of the spread, and how each becomes ``scale``
    spreads = {"variance": np.sqrt, "logvar": lambda v: np.exp(v / 2)}

    def _bind(self, args, kwargs):
        given = [key for key in ("scale", *self.spreads) if key in kwargs] + (["scale"] if len(args) > 1 else [])
        if len(given) > 1:
            raise InputError(f"normal() takes its spread once, as scale=, variance= or logvar=, but got {' and '.join(given)}")
        for key, to_scale in self.spreads.items():
            if key in kwargs:
                with np.errstate(over="ignore", under="ignore"):
                    scale = to_scale(self._validated(key, kwargs.pop(key)))
                if not np.all((scale > 0) & np.isfinite(scale)):
                    raise InputError(
                        f"normal({key}=...): a value gives a scale of {format_number(float(np.ravel(scale)[np.argmin((scale > 0) & np.isfinite(scale))]))}, outside float64's positive range"
                    )
                kwargs["scale"] = scale
        return super()._bind(args, kwargs)

    def _log_density(self, x, ops, a):
        return -0.5 * ops.square((x - a["loc"]) / a["scale"]) - a["log_scale"] - 0.5 * LOG_2PI

    def tails(self):
        return Tail.gaussian(_gaussian_rate(self.scale)), Tail.gaussian(_gaussian_rate(self.scale))

    def _draw(self, rng, size):
        return rng.normal(self.loc, self.scale, size)

    def _entropy(self):
        return 0.5 * (1 + LOG_2PI) + np.log(self.scale)


class LogNormal(_LocScale):
    """Log-normal: ``exp(X)`` with ``X ~ normal(loc, scale)``; support (0, inf)."""

    name = "lognormal"

    def _log_density(self, x, ops, a):
        log_x = ops.log(x)
        inside = -0.5 * ops.square((log_x - a["loc"]) / a["scale"]) - a["log_scale"] - 0.5 * LOG_2PI - log_x
        return ops.where(x > 0, inside, NEG_INF)

    def tails(self):
        return Tail.bounded(), Tail.log_quadratic(_gaussian_rate(self.scale))

    def _draw(self, rng, size):
        return rng.lognormal(self.loc, self.scale, size)

    support_text = "(0, inf)"

    def _interval(self):
        return 0.0, INF

    def _landmarks(self):
        return np.exp(spread_points(self.loc, self.scale)[1:-1])

    def _entropy(self):
        return self.loc + 0.5 * (1 + LOG_2PI) + np.log(self.scale)


class _HalfScale(Univariate):
    arguments = ("scale",)
    constraints = {"scale": POSITIVE}
    defaults = {"scale": 1.0}

    def _log_prob_arrays(self):
        return {"scale": self.scale, "log_scale": np.log(self.scale)}

    support_text = "[0, inf)"

    def _interval(self):
        return 0.0, INF

    def _landmarks(self):
        return spread_points(0.0, self.scale)[4:]


class HalfNormal(_HalfScale):
    """Half-normal ``|X|`` with ``X ~ normal(0, scale)``."""

    name = "halfnormal"

    def _log_density(self, x, ops, a):
        inside = LOG_2 - 0.5 * ops.square(x / a["scale"]) - a["log_scale"] - 0.5 * LOG_2PI
        return ops.where(x >= 0, inside, NEG_INF)

    def tails(self):
        return Tail.bounded(), Tail.gaussian(_gaussian_rate(self.scale))

    def _draw(self, rng, size):
        return np.abs(rng.normal(0.0, self.scale, size))

    def _entropy(self):
        return 0.5 * math.log(0.5 * math.pi) + np.log(self.scale) + 0.5


class HalfCauchy(_HalfScale):
    """Half-Cauchy ``|X|`` with ``X ~ cauchy(0, scale)``."""

    name = "halfcauchy"

    def _log_density(self, x, ops, a):
        inside = LOG_2 - math.log(math.pi) - a["log_scale"] - ops.log1p(ops.square(x / a["scale"]))
        return ops.where(x >= 0, inside, NEG_INF)

    def tails(self):
        return Tail.bounded(), Tail.polynomial(1.0)

    def _draw(self, rng, size):
        return np.abs(self.scale * rng.standard_cauchy(size))

    def _entropy(self):
        return np.log(2 * math.pi * self.scale)


class Laplace(_LocScale):
    """Laplace ``laplace(loc, scale)``: density ``exp(-|x - loc| / scale) / (2 scale)``."""

    name = "laplace"

    def _log_density(self, x, ops, a):
        return -ops.abs(x - a["loc"]) / a["scale"] - a["log_scale"] - LOG_2

    def tails(self):
        return Tail.exponential(1 / float(self.scale)), Tail.exponential(1 / float(self.scale))

    def _draw(self, rng, size):
        return rng.laplace(self.loc, self.scale, size)

    def _entropy(self):
        return 1 + LOG_2 + np.log(self.scale)


class Cauchy(_LocScale):
    """Cauchy ``cauchy(loc, scale)``."""

    name = "cauchy"

    def _log_density(self, x, ops, a):
        return -math.log(math.pi) - a["log_scale"] - ops.log1p(ops.square((x - a["loc"]) / a["scale"]))

    def tails(self):
        return Tail.polynomial(1.0), Tail.polynomial(1.0)

    def _draw(self, rng, size):
        return self.loc + self.scale * rng.standard_cauchy(size)

    def _entropy(self):
        return np.log(4 * math.pi * self.scale)


class Logistic(_LocScale):
    """Logistic ``logistic(loc, scale)``: CDF ``1 / (1 + exp(-(x - loc) / scale))``."""

    name = "logistic"

    def _log_density(self, x, ops, a):
        z = (x - a["loc"]) / a["scale"]
        # log(e^-z / (1 + e^-z)^2) = -|z| - 2 log1p(e^-|z|), stable in both tails
        abs_z = ops.abs(z)
        return -abs_z - 2 * ops.log1p(ops.exp(-abs_z)) - a["log_scale"]

    def tails(self):
        return Tail.exponential(1 / float(self.scale)), Tail.exponential(1 / float(self.scale))

    def _draw(self, rng, size):
        return rng.logistic(self.loc, self.scale, size)

    def _entropy(self):
        return np.log(self.scale) + 2


class Gumbel(_LocScale):
    """Gumbel (maximum) ``gumbel(loc, scale)``."""

    name = "gumbel"

    def _log_density(self, x, ops, a):
        z = (x - a["loc"]) / a["scale"]
        return -(z + ops.exp(-z)) - a["log_scale"]

    def tails(self):
        # left: log p = -z - exp(-z) falls doubly exponentially as z -> -inf
        return Tail.doubly_exponential(1 / float(self.scale)), Tail.exponential(1 / float(self.scale))

    def _draw(self, rng, size):
        return rng.gumbel(self.loc, self.scale, size)

    def _landmarks(self):
        return spread_points(self.loc, self.scale)[2:]  # the left tail dies doubly exponentially

    def _entropy(self):
        return np.log(self.scale) + EULER_GAMMA + 1


class StudentT(Univariate):
    """Student's t ``studentt(df, loc=0, scale=1)``."""

    name = "studentt"
    arguments = ("df", "loc", "scale")
    constraints = {"df": POSITIVE, "loc": REAL, "scale": POSITIVE}
    defaults = {"loc": 0.0, "scale": 1.0}

    def _derive(self):
        # lgamma(x + ½) - lgamma(x) = R(x, ½) + ψ(x)/2 with x = df/2 (R: klcli.stable.lgamma_remainder),
        # so that a huge df (1e300, a normal) keeps its normalising constant
        half = 0.5 * self.df
        self._log_norm = lgamma_remainder(half, 0.5) + 0.5 * (special.digamma(half) - np.log(half)) - 0.5 * math.log(2 * math.pi) - np.log(self.scale)

    def _log_prob_arrays(self):
        return {"df": self.df, "loc": self.loc, "scale": self.scale, "log_norm": self._log_norm}

    def _log_density(self, x, ops, a):
        z = (x - a["loc"]) / a["scale"]
        return a["log_norm"] - 0.5 * (a["df"] + 1) * ops.log1p(ops.square(z) / a["df"])

    def tails(self):
        return Tail.polynomial(float(self.df)), Tail.polynomial(float(self.df))

    def _draw(self, rng, size):
        return self.loc + self.scale * rng.standard_t(self.df, size)

    support_text = "real"

    def _interval(self):
        return NEG_INF, INF

    def _landmarks(self):
        return spread_points(self.loc, self.scale)

    def _entropy(self):
        half = 0.5 * self.df
        # ψ(h + ½) - ψ(h) by its Taylor series for large h (the difference cancels), and
        # betaln(h, ½) = lgamma(½) - R(h, ½) - ψ(h)/2: a huge df gives the normal's entropy
        series = sum(special.polygamma(k, np.maximum(half, 1000.0)) * 0.5**k / math.factorial(k) for k in range(1, 12))
        digamma_step = np.where(half < 1000, special.digamma(half + 0.5) - special.digamma(half), series)
        return (
            (half + 0.5) * digamma_step
            + 0.5 * (np.log(half) - special.digamma(half))
            + 0.5 * math.log(2 * math.pi)
            - lgamma_remainder(half, 0.5)
            + np.log(self.scale)
        )


class Exponential(Univariate):
    """Exponential ``exponential(rate)``; support [0, inf)."""

    name = "exponential"
    arguments = ("rate",)
    constraints = {"rate": POSITIVE}
    defaults = {"rate": 1.0}

    def _log_prob_arrays(self):
        return {"rate": self.rate, "log_rate": np.log(self.rate)}

    def _log_density(self, x, ops, a):
        return ops.where(x >= 0, a["log_rate"] - a["rate"] * x, NEG_INF)

    def tails(self):
        return Tail.bounded(), Tail.exponential(float(self.rate))

    def _draw(self, rng, size):
        return rng.exponential(1.0 / self.rate, size)

    support_text = "[0, inf)"

    def _interval(self):
        return 0.0, INF

    def _landmarks(self):
        return spread_points(0.0, 1.0 / self.rate)[4:]

    def _entropy(self):
        return 1 - np.log(self.rate)


class Gamma(Univariate):
    """Gamma ``gamma(concentration, rate)``; mean ``concentration / rate``."""

    name = "gamma"
    arguments: ClassVar[tuple[str, ...]] = ("concentration", "rate")
    constraints = {"concentration": POSITIVE, "rate": POSITIVE}

    def _derive(self):
        self._log_norm = self.concentration * np.log(self.rate) - special.gammaln(self.concentration)

    def _log_prob_arrays(self):
        return {"concentration": self.concentration, "rate": self.rate, "log_norm": self._log_norm}

    def _log_density(self, x, ops, a):
        inside = a["log_norm"] + ops.xlogy(a["concentration"] - 1, x) - a["rate"] * x
        return ops.where(x > 0, inside, NEG_INF)

    def tails(self):
        return Tail.bounded(), Tail.exponential(float(self.rate))

    def _draw(self, rng, size):
        return rng.gamma(self.concentration, 1.0 / self.rate, size)

    support_text = "(0, inf)"

    def _interval(self):
        return 0.0, INF

    def _landmarks(self):
        mean = self.concentration / self.rate
        points = spread_points(mean, np.sqrt(self.concentration) / self.rate)
        return np.concatenate([points[points > 0], [mean * 1e-3, mean * 1e-6]])

    def _entropy(self):
        a = self.concentration
        return a - np.log(self.rate) + special.gammaln(a) + (1 - a) * special.digamma(a)


class Chi2(Gamma):
    """Chi-squared ``chi2(df)`` = ``gamma(df / 2, 1 / 2)``."""

    name = "chi2"
    arguments = ("df",)
    constraints = {"df": POSITIVE}

    def _derive(self):
        self.concentration = 0.5 * self.df
        self.rate = np.full_like(self.df, 0.5)
        super()._derive()


class Beta(Univariate):
    """Beta ``beta(concentration1, concentration0)`` on [0, 1] (a = concentration1)."""

    name = "beta"
    arguments = ("concentration1", "concentration0")
    constraints = {"concentration1": POSITIVE, "concentration0": POSITIVE}

    def _derive(self):
        self._log_norm = -special.betaln(self.concentration1, self.concentration0)

    def _log_prob_arrays(self):
        return {"c1": self.concentration1, "c0": self.concentration0, "log_norm": self._log_norm}

    def _log_density(self, x, ops, a):
        inside = a["log_norm"] + ops.xlogy(a["c1"] - 1, x) + ops.xlog1py(a["c0"] - 1, -x)
        return ops.where((x >= 0) & (x <= 1), inside, NEG_INF)

    def tails(self):
        return Tail.bounded(), Tail.bounded()

    def _draw(self, rng, size):
        return rng.beta(self.concentration1, self.concentration0, size)

    support_text = "[0, 1]"

    def _interval(self):
        return 0.0, 1.0

    def _landmarks(self):
        total = self.concentration1 + self.concentration0
        mean = self.concentration1 / total
        sd = np.sqrt(mean * (1 - mean) / (total + 1))
        points = np.concatenate([spread_points(mean, sd), [1e-6, 1e-3, 1 - 1e-3, 1 - 1e-6]])
        return points[(points > 0) & (points < 1)]

    def _entropy(self):
        a, b = self.concentration1, self.concentration0
        return special.betaln(a, b) - (a - 1) * special.digamma(a) - (b - 1) * special.digamma(b) + (a + b - 2) * special.digamma(a + b)


class Uniform(Univariate):
    """Uniform ``uniform(low, high)``."""

    name = "uniform"
    arguments = ("low", "high")
    constraints = {"low": REAL, "high": REAL}

    def _derive(self):
        bad = ~(self.high > self.low)
        if np.any(bad):
            index = np.argwhere(np.atleast_1d(bad))[0][0]
            high = np.atleast_1d(self.high)[index]
            low = np.atleast_1d(self.low)[index]
            raise InputError(f"Expected parameter high of uniform(...) to be greater than low ({low:g}), but found {high:g}")

    def _log_prob_arrays(self):
        return {"low": self.low, "high": self.high, "log_width": np.log(self.high - self.low)}

    def _log_density(self, x, ops, a):
        return ops.where((x >= a["low"]) & (x <= a["high"]), -a["log_width"], NEG_INF)

    def tails(self):
        return Tail.bounded(), Tail.bounded()

    def _draw(self, rng, size):
        return rng.uniform(self.low, self.high, size)

    support_text = "[low, high]"

    def _interval(self):
        return self.low, self.high

    def _landmarks(self):
        return np.array([self.low, self.high])

    def _entropy(self):
        return np.log(self.high - self.low)


class Pareto(Univariate):
    """Pareto ``pareto(scale, alpha)``: density ``alpha scale^alpha / x^(alpha+1)`` on [scale, inf)."""

    name = "pareto"
    arguments = ("scale", "alpha")
    constraints = {"scale": POSITIVE, "alpha": POSITIVE}

    def _log_prob_arrays(self):
        return {
            "scale": self.scale,
            "alpha": self.alpha,
            "log_norm": np.log(self.alpha) + self.alpha * np.log(self.scale),
        }

    def _log_density(self, x, ops, a):
        return ops.where(x >= a["scale"], a["log_norm"] - (a["alpha"] + 1) * ops.log(x), NEG_INF)

    def tails(self):
        return Tail.bounded(), Tail.polynomial(float(self.alpha))

    def _draw(self, rng, size):
        return self.scale * (1.0 + rng.pareto(self.alpha, size))

    support_text = "[scale, inf)"

    def _interval(self):
        return self.scale, INF

    def _landmarks(self):
        return self.scale * np.array([1.0, 1.1, 2, 10, 100])

    def _entropy(self):
        return np.log(self.scale) - np.log(self.alpha) + 1 + 1 / self.alpha


class Weibull(Univariate):
    """Weibull ``weibull(scale, concentration)``: CDF ``1 - exp(-(x / scale)^concentration)``."""

    name = "weibull"
    arguments = ("scale", "concentration")
    constraints = {"scale": POSITIVE, "concentration": POSITIVE}

    def _log_prob_arrays(self):
        return {
            "scale": self.scale,
            "k": self.concentration,
            "log_norm": np.log(self.concentration) - np.log(self.scale),
        }

    def _log_density(self, x, ops, a):
        z = x / a["scale"]
        inside = a["log_norm"] + ops.xlogy(a["k"] - 1, z) - ops.exp(a["k"] * ops.log(z))
        return ops.where(x > 0, inside, NEG_INF)

    def tails(self):
        k = float(self.concentration)
        return Tail.bounded(), Tail.stretched(k, _power(self.scale, -k))

    def _draw(self, rng, size):
        return self.scale * rng.weibull(self.concentration, size)

    support_text = "[0, inf)"

    def _interval(self):
        return 0.0, INF

    def _landmarks(self):
        return self.scale * np.array([1e-6, 1e-3, 0.1, 0.5, 1, 2, 4, 10])

    def _entropy(self):
        k = self.concentration
        return EULER_GAMMA * (1 - 1 / k) + np.log(self.scale) - np.log(k) + 1


class VonMises(Univariate):
    """Von Mises ``vonmises(loc, concentration)`` on [-pi, pi] (loc may be any real)."""

    name = "vonmises"
    arguments = ("loc", "concentration")
    constraints = {"loc": REAL, "concentration": POSITIVE}

    def _derive(self):
        # log(2 pi I0(k)) = log(2 pi i0e(k)) + k, with i0e the scaled Bessel function
        self._log_norm = np.log(2 * math.pi * special.i0e(self.concentration)) + self.concentration

    def _log_prob_arrays(self):
        return {"loc": self.loc, "k": self.concentration, "log_norm": self._log_norm}

    def _log_density(self, x, ops, a):
        inside = a["k"] * ops.cos(x - a["loc"]) - a["log_norm"]
        return ops.where((x >= -math.pi) & (x <= math.pi), inside, NEG_INF)

    def tails(self):
        return Tail.bounded(), Tail.bounded()

    def _draw(self, rng, size):
        return rng.vonmises(self.loc, self.concentration, size)

    support_text = "[-pi, pi]"

    def _interval(self):
        return -math.pi, math.pi

    def _landmarks(self):
        centre = np.angle(np.exp(1j * self.loc))
        points = spread_points(centre, 1 / np.sqrt(self.concentration))
        return np.concatenate([points, [centre - math.pi, centre + math.pi]])

    def _entropy(self):
        k = self.concentration
        mean_resultant = special.i1e(k) / special.i0e(k)
        return self._log_norm - k * mean_resultant


CONTINUOUS_FAMILIES = (
    Normal,
    LogNormal,
    HalfNormal,
    Laplace,
    Cauchy,
    HalfCauchy,
    StudentT,
    Logistic,
    Exponential,
    Gamma,
    Chi2,
    Beta,
    Uniform,
    Gumbel,
    Pareto,
    Weibull,
    VonMises,
)
