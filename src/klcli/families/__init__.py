"""Parametric distribution families: parameters, support, ``sample()``, ``log_prob()``.

>>> FAMILIES["normal"](0, 1).spec()
'normal(loc=0, scale=1)'
>>> [row[0] for row in catalogue()][:3]
['bernoulli', 'categorical', 'binomial']
"""

from __future__ import annotations

from klcli.families.base import Distribution, Support, Univariate
from klcli.families.continuous import (
    CONTINUOUS_FAMILIES,
    Beta,
    Cauchy,
    Chi2,
    Exponential,
    Gamma,
    Gumbel,
    HalfCauchy,
    HalfNormal,
    Laplace,
    Logistic,
    LogNormal,
    Normal,
    Pareto,
    StudentT,
    Uniform,
    VonMises,
    Weibull,
)
from klcli.families.discrete import (
    DISCRETE_FAMILIES,
    Bernoulli,
    Binomial,
    Categorical,
    Geometric,
    NegativeBinomial,
    Poisson,
)
from klcli.families.mixture import Mixture
from klcli.families.multivariate import MULTIVARIATE_FAMILIES, Dirichlet, MultivariateNormal

#: family name -> class, in display order
FAMILIES: dict[str, type[Distribution]] = {
    cls.name: cls for cls in (*DISCRETE_FAMILIES, *CONTINUOUS_FAMILIES, *MULTIVARIATE_FAMILIES, Mixture)
}

#: other spellings accepted in specs
ALIASES = {"multivariatenormal": "mvn", "t": "studentt", "normalmixture": "mixture"}


def catalogue() -> list[tuple[str, str, str, str]]:
    """Rows ``(family, parameters, support, kind)`` for the ``klcli families`` table."""
    rows = []
    for name, cls in FAMILIES.items():
        words = []
        for key in cls.arguments:
            if key in cls.one_of:
                if key == cls.one_of[0]:
                    words.append(" | ".join(cls.one_of))
            else:
                words.append(f"{key}={cls.defaults[key]:g}" if key in cls.defaults else key)
        parameters = ", ".join(words)
        kind = "discrete" if cls.is_discrete else "continuous"
        if cls in MULTIVARIATE_FAMILIES:
            kind = "multivariate"
        elif cls is Mixture:
            kind = "either"
        rows.append((name, parameters, cls.support_text, kind))
    return rows


__all__ = [
    "ALIASES",
    "FAMILIES",
    "Bernoulli",
    "Beta",
    "Binomial",
    "Categorical",
    "Cauchy",
    "Chi2",
    "Dirichlet",
    "Distribution",
    "Exponential",
    "Gamma",
    "Geometric",
    "Gumbel",
    "HalfCauchy",
    "HalfNormal",
    "Laplace",
    "LogNormal",
    "Logistic",
    "Mixture",
    "MultivariateNormal",
    "NegativeBinomial",
    "Normal",
    "Pareto",
    "Poisson",
    "StudentT",
    "Support",
    "Uniform",
    "Univariate",
    "VonMises",
    "Weibull",
    "catalogue",
]
