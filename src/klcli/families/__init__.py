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
from klcli.families.bounded import BOUNDED_FAMILIES, ContinuousBernoulli, Kumaraswamy
from klcli.families.matrix import MATRIX_FAMILIES, Wishart
from klcli.families.mixture import Mixture
from klcli.families.multivariate import MULTIVARIATE_FAMILIES, Dirichlet, MultivariateNormal
from klcli.families.positive import InverseGamma
from klcli.families.vectors import VECTOR_FAMILIES, LowRankMultivariateNormal, Multinomial, OneHotCategorical

#: family name -> class, in display order
FAMILIES: dict[str, type[Distribution]] = {
    cls.name: cls
    for cls in (
        *DISCRETE_FAMILIES,
        *CONTINUOUS_FAMILIES,
        *BOUNDED_FAMILIES,
        InverseGamma,
        *MULTIVARIATE_FAMILIES,
        *VECTOR_FAMILIES,
        *MATRIX_FAMILIES,
        Mixture,
    )
}

#: other spellings accepted in specs
ALIASES = {
    "multivariatenormal": "mvn",
    "t": "studentt",
    "normalmixture": "mixture",
    "lowrankmultivariatenormal": "lowrankmvn",
    "onehot": "onehotcategorical",
    "cb": "continuousbernoulli",
}


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
        if cls in MULTIVARIATE_FAMILIES or cls in MATRIX_FAMILIES or cls in VECTOR_FAMILIES[2:]:
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
    "ContinuousBernoulli",
    "Dirichlet",
    "Distribution",
    "Exponential",
    "Gamma",
    "Geometric",
    "Gumbel",
    "HalfCauchy",
    "InverseGamma",
    "Kumaraswamy",
    "HalfNormal",
    "Laplace",
    "LogNormal",
    "Logistic",
    "LowRankMultivariateNormal",
    "Mixture",
    "Multinomial",
    "MultivariateNormal",
    "NegativeBinomial",
    "Normal",
    "OneHotCategorical",
    "Pareto",
    "Poisson",
    "StudentT",
    "Support",
    "Uniform",
    "Univariate",
    "VonMises",
    "Weibull",
    "Wishart",
    "catalogue",
]
