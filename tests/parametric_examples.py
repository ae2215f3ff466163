"""Example distributions of every family, shared by the parametric tests."""

from __future__ import annotations

import numpy as np

from klcli.families import (
    Bernoulli,
    Beta,
    Binomial,
    Categorical,
    Cauchy,
    Chi2,
    ContinuousBernoulli,
    Dirichlet,
    Exponential,
    Gamma,
    Geometric,
    Gumbel,
    HalfCauchy,
    HalfNormal,
    InverseGamma,
    Kumaraswamy,
    Laplace,
    Logistic,
    LogNormal,
    LowRankMultivariateNormal,
    Multinomial,
    MultivariateNormal,
    NegativeBinomial,
    Normal,
    OneHotCategorical,
    Pareto,
    Poisson,
    StudentT,
    Uniform,
    VonMises,
    Weibull,
    Wishart,
)

#: two instances per family: (the usual P, the usual Q)
EXAMPLES = {
    Bernoulli: [Bernoulli(0.3), Bernoulli(logits=0.4)],
    Binomial: [Binomial(10, 0.3), Binomial(10, 0.45)],
    Categorical: [Categorical([0.2, 0.3, 0.5]), Categorical(logits=[0.1, -1.0, 2.0])],
    Poisson: [Poisson(3.0), Poisson(4.5)],
    Geometric: [Geometric(0.3), Geometric(0.2)],
    NegativeBinomial: [NegativeBinomial(3, 0.4), NegativeBinomial(3, 0.55)],
    Normal: [Normal(0.3, 1.2), Normal(-0.5, 2.0)],
    LogNormal: [LogNormal(0.2, 0.7), LogNormal(-0.3, 1.1)],
    HalfNormal: [HalfNormal(1.3), HalfNormal(0.8)],
    Laplace: [Laplace(0.4, 1.1), Laplace(-0.2, 1.7)],
    Cauchy: [Cauchy(0.5, 1.2), Cauchy(-1.0, 0.7)],
    HalfCauchy: [HalfCauchy(1.2), HalfCauchy(0.6)],
    StudentT: [StudentT(4.0, 0.2, 1.1), StudentT(2.5, -0.3, 0.9)],
    Logistic: [Logistic(0.1, 0.8), Logistic(-0.4, 1.3)],
    Exponential: [Exponential(1.5), Exponential(0.7)],
    Gamma: [Gamma(2.5, 1.5), Gamma(3.5, 0.8)],
    Chi2: [Chi2(3.0), Chi2(4.5)],
    Beta: [Beta(2.0, 3.0), Beta(1.5, 4.0)],
    Uniform: [Uniform(0.2, 0.7), Uniform(-0.5, 1.5)],
    Gumbel: [Gumbel(0.5, 1.5), Gumbel(1.0, 2.0)],
    Pareto: [Pareto(0.1, 3.5), Pareto(0.05, 4.0)],
    Weibull: [Weibull(1.5, 2.0), Weibull(2.0, 1.3)],
    VonMises: [VonMises(0.5, 2.0), VonMises(-1.0, 3.5)],
    Dirichlet: [Dirichlet([1.5, 2.0, 3.0]), Dirichlet([2.0, 2.0, 2.0])],
    MultivariateNormal: [
        MultivariateNormal([0.1, -0.2], covariance_matrix=[[1.5, 0.4], [0.4, 0.9]]),
        MultivariateNormal([0.3, 0.1], covariance_matrix=[[1.1, -0.2], [-0.2, 1.4]]),
    ],
    ContinuousBernoulli: [ContinuousBernoulli(0.3), ContinuousBernoulli(logits=0.9)],
    Kumaraswamy: [Kumaraswamy(2.0, 3.0), Kumaraswamy(1.5, 0.8)],
    InverseGamma: [InverseGamma(3.0, 2.0), InverseGamma(2.5, 1.2)],
    OneHotCategorical: [OneHotCategorical([0.2, 0.3, 0.5]), OneHotCategorical(logits=[0.1, -1.0, 2.0])],
    Multinomial: [Multinomial(4, [0.2, 0.3, 0.5]), Multinomial(4, logits=[0.1, -1.0, 2.0])],
    LowRankMultivariateNormal: [
        LowRankMultivariateNormal([0.1, -0.2], [[0.8], [0.3]], [0.9, 0.5]),
        LowRankMultivariateNormal([0.3, 0.1], [[0.2, 0.5], [-0.4, 0.1]], [1.0, 1.2]),
    ],
    Wishart: [
        Wishart(4.0, covariance_matrix=[[1.5, 0.4], [0.4, 0.9]]),
        Wishart(3.5, covariance_matrix=[[1.1, -0.2], [-0.2, 1.4]]),
    ],
}


def to_torch(distribution):
    """The equivalent ``torch.distributions`` object in float64, or None."""
    import torch
    import torch.distributions as td

    def t(value):
        return torch.as_tensor(np.asarray(value, dtype=np.float64))

    d = distribution
    makers = {
        "bernoulli": lambda: td.Bernoulli(probs=t(d.probs)),
        "binomial": lambda: td.Binomial(t(d.total_count), probs=t(d.probs)),
        "categorical": lambda: td.Categorical(probs=t(d.probs)),
        "poisson": lambda: td.Poisson(t(d.rate)),
        "geometric": lambda: td.Geometric(probs=t(d.probs)),
        "negativebinomial": lambda: td.NegativeBinomial(t(d.total_count), probs=t(d.probs)),
        "normal": lambda: td.Normal(t(d.loc), t(d.scale)),
        "lognormal": lambda: td.LogNormal(t(d.loc), t(d.scale)),
        "halfnormal": lambda: td.HalfNormal(t(d.scale)),
        "laplace": lambda: td.Laplace(t(d.loc), t(d.scale)),
        "cauchy": lambda: td.Cauchy(t(d.loc), t(d.scale)),
        "halfcauchy": lambda: td.HalfCauchy(t(d.scale)),
        "studentt": lambda: td.StudentT(t(d.df), t(d.loc), t(d.scale)),
        "exponential": lambda: td.Exponential(t(d.rate)),
        "gamma": lambda: td.Gamma(t(d.concentration), t(d.rate)),
        "chi2": lambda: td.Chi2(t(d.df)),
        "beta": lambda: td.Beta(t(d.concentration1), t(d.concentration0)),
        "uniform": lambda: td.Uniform(t(d.low), t(d.high)),
        "gumbel": lambda: td.Gumbel(t(d.loc), t(d.scale)),
        "pareto": lambda: td.Pareto(t(d.scale), t(d.alpha)),
        "weibull": lambda: td.Weibull(t(d.scale), t(d.concentration)),
        "vonmises": lambda: td.VonMises(t(d.loc), t(d.concentration)),
        "dirichlet": lambda: td.Dirichlet(t(d.concentration)),
        "mvn": lambda: td.MultivariateNormal(t(d.loc), scale_tril=t(d.scale_tril)),
        "continuousbernoulli": lambda: td.ContinuousBernoulli(logits=t(d.logits)),
        "kumaraswamy": lambda: td.Kumaraswamy(t(d.concentration1), t(d.concentration0)),
        "inversegamma": lambda: td.InverseGamma(t(d.concentration), t(d.rate)),
        "onehotcategorical": lambda: td.OneHotCategorical(probs=t(d.probs)),
        "multinomial": lambda: td.Multinomial(int(d.total_count), probs=t(d.probs)),
        "lowrankmvn": lambda: td.LowRankMultivariateNormal(t(d._low_rank["loc"]), t(d._low_rank["cov_factor"]), t(d._low_rank["cov_diag"])),
        "wishart": lambda: td.Wishart(t(d.df), scale_tril=t(d.scale_tril)),
    }
    maker = makers.get(d.name)
    if maker is None:
        return None
    made = maker()
    if d.event_shape and d.name not in ("dirichlet", "mvn", "onehotcategorical", "multinomial", "lowrankmvn", "wishart"):
        made = td.Independent(made, 1)
    return made
