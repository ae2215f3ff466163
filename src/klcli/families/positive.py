"""``inversegamma(concentration, rate)``: ``1 / X`` for ``X ~ gamma(concentration, rate)`` (torch's InverseGamma).

>>> round(float(InverseGamma(3, 2).log_prob([1.0])[0]), 10)
-0.6137056389
"""

from __future__ import annotations

import numpy as np
from scipy import special

from klcli.families.base import INF, POSITIVE, Univariate, spread_points

NEG_INF = -INF


class InverseGamma(Univariate):
    """Inverse gamma: density ``rate^a / Γ(a) x^(-a-1) exp(-rate / x)`` on (0, inf), ``a = concentration``."""

    name = "inversegamma"
    arguments = ("concentration", "rate")
    constraints = {"concentration": POSITIVE, "rate": POSITIVE}
    support_text = "(0, inf)"

    def _derive(self):
        self._log_norm = self.concentration * np.log(self.rate) - special.gammaln(self.concentration)

    def _log_prob_arrays(self):
        return {"a": self.concentration, "rate": self.rate, "log_norm": self._log_norm}

    def _log_density(self, x, ops, arrays):
        inside = arrays["log_norm"] - (arrays["a"] + 1) * ops.log(x) - arrays["rate"] / x
        return ops.where(x > 0, inside, NEG_INF)

    def _draw(self, rng, size):
        return 1.0 / rng.gamma(self.concentration, 1.0 / self.rate, size)

    def _interval(self):
        return 0.0, INF

    def _landmarks(self):
        mode = self.rate / (self.concentration + 1)
        points = np.concatenate([mode * np.array([1e-3, 0.1, 0.5, 1, 2, 10, 100, 1e4]), spread_points(mode, mode)])
        return points[points > 0]

    def _entropy(self):
        a = self.concentration
        return a + np.log(self.rate) + special.gammaln(a) - (1 + a) * special.digamma(a)
