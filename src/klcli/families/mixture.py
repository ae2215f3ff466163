"""Finite mixtures ``mixture(weights=[...], components=[spec, spec, ...])``."""

from __future__ import annotations

import numpy as np

from klcli.errors import InputError
from klcli.families.base import NONNEGATIVE, Distribution, Support, format_value


class Mixture(Distribution):
    """A finite mixture of distributions of one dimension and one kind.

    ``weights`` are normalised (they may be counts); components with weight 0
    are dropped.

    >>> from klcli.families.continuous import Normal
    >>> m = Mixture([1, 3], [Normal(0, 1), Normal(5, 1)])
    >>> m.weights.tolist(), m.event_shape
    ([0.25, 0.75], ())
    """

    name = "mixture"
    arguments = ("weights", "components")
    constraints = {"weights": NONNEGATIVE}
    parameter_ndim = {"weights": 1}
    support_text = "the components'"

    def __init__(self, weights, components) -> None:
        if not isinstance(components, (list, tuple)) or not components:
            raise InputError("Expected parameter components of mixture(...) to be a non-empty list of distributions")
        for index, component in enumerate(components):
            if not isinstance(component, Distribution):
                raise InputError(
                    f"Expected parameter components of mixture(...) to hold distributions, but found {format_value(component)} (at index {index})"
                )
        weights = self._validated("weights", weights)
        if weights.ndim != 1 or weights.size != len(components):
            raise InputError(f"mixture(...) has {weights.size} weights for {len(components)} components; give one weight per component")
        if not weights.sum() > 0:
            raise InputError("Expected parameter weights of mixture(...) to have a positive sum, but found 0")
        first = components[0]
        for component in components[1:]:
            if component.event_shape != first.event_shape:
                raise InputError(f"components of mixture(...) differ in dimension: {first.spec()} and {component.spec()}")
            if component.is_discrete != first.is_discrete:
                raise InputError(f"components of mixture(...) mix discrete and continuous families: {first.spec()} and {component.spec()}")
        self.given = {"weights": weights, "components": list(components)}
        keep = weights > 0
        self.weights = weights[keep] / weights.sum()
        self.components = [c for c, k in zip(components, keep) if k]
        self.event_shape = first.event_shape
        self.is_discrete = first.is_discrete
        self._on_backend = {}

    def _log_prob_arrays(self):
        return {"log_weights": np.log(self.weights)}

    def _log_prob(self, x, ops, a):
        total = None
        for index, component in enumerate(self.components):
            term = a["log_weights"][index] + component._log_prob(x, ops, component._parameters_for(ops))
            total = term if total is None else ops.logaddexp(total, term)
        return total

    def sample(self, n, rng):
        counts = rng.multinomial(int(n), self.weights)
        draws = np.concatenate([c.sample(k, rng) for c, k in zip(self.components, counts)])
        return draws[rng.permutation(int(n))]

    @property
    def support(self):
        supports = [c.support for c in self.components]
        low = np.min([np.asarray(s.low, dtype=float) for s in supports], axis=0)
        high = np.max([np.asarray(s.high, dtype=float) for s in supports], axis=0)
        return Support(low, high, self.support_text, self.is_discrete)

    def landmarks(self) -> np.ndarray:
        """Landmarks of every component (scalar mixtures)."""
        return np.concatenate([c.landmarks() for c in self.components])

    def tail_bound(self, eps: float) -> float:
        """Largest tail bound of the components (discrete mixtures)."""
        return max(c.tail_bound(eps) for c in self.components)

    def spec(self) -> str:
        weights = format_value(self.given["weights"])
        components = ", ".join(c.spec() for c in self.given["components"])
        return f"mixture(weights={weights}, components=[{components}])"
