"""Parameter ranges follow torch's ``arg_constraints``, boundaries included; each family walked at and beyond them."""

from __future__ import annotations

import math

import numpy as np
import pytest
from typer.testing import CliRunner

from klcli.cli import app
from klcli.errors import InputError
from klcli.families import FAMILIES

torch = pytest.importorskip("torch")
constraints = torch.distributions.constraints

#: klcli family -> (torch class name, valid keyword arguments shared by both)
VALID = {
    "bernoulli": ("Bernoulli", {"probs": 0.3}),
    "binomial": ("Binomial", {"total_count": 5, "probs": 0.3}),
    "geometric": ("Geometric", {"probs": 0.3}),
    "negativebinomial": ("NegativeBinomial", {"total_count": 3, "probs": 0.3}),
    "poisson": ("Poisson", {"rate": 2.0}),
    "normal": ("Normal", {"loc": 0.0, "scale": 1.0}),
    "lognormal": ("LogNormal", {"loc": 0.0, "scale": 1.0}),
    "halfnormal": ("HalfNormal", {"scale": 1.0}),
    "laplace": ("Laplace", {"loc": 0.0, "scale": 1.0}),
    "cauchy": ("Cauchy", {"loc": 0.0, "scale": 1.0}),
    "halfcauchy": ("HalfCauchy", {"scale": 1.0}),
    "studentt": ("StudentT", {"df": 3.0, "loc": 0.0, "scale": 1.0}),
    "exponential": ("Exponential", {"rate": 1.0}),
    "gamma": ("Gamma", {"concentration": 2.0, "rate": 1.0}),
    "chi2": ("Chi2", {"df": 3.0}),
    "beta": ("Beta", {"concentration1": 2.0, "concentration0": 3.0}),
    "gumbel": ("Gumbel", {"loc": 0.0, "scale": 1.0}),
    "pareto": ("Pareto", {"scale": 1.0, "alpha": 2.0}),
    "weibull": ("Weibull", {"scale": 1.0, "concentration": 2.0}),
    "vonmises": ("VonMises", {"loc": 0.0, "concentration": 2.0}),
    "continuousbernoulli": ("ContinuousBernoulli", {"probs": 0.3}),
    "kumaraswamy": ("Kumaraswamy", {"concentration1": 2.0, "concentration0": 3.0}),
    "inversegamma": ("InverseGamma", {"concentration": 2.0, "rate": 1.0}),
    "dirichlet": ("Dirichlet", {"concentration": [1.0, 2.0]}),
    "lowrankmvn": ("LowRankMultivariateNormal", {"loc": [0.0, 0.0], "cov_factor": [[1.0], [0.5]], "cov_diag": [1.0, 2.0]}),
}

#: where klcli is deliberately narrower than torch: the value does not define a distribution
NARROWER = {
    ("geometric", "probs", 0.0): "geometric(0) puts no mass on any count",
    ("lowrankmvn", "cov_diag", 5e-324): "W Wᵀ + diag(5e-324) with a rank-1 W is singular in float64",
    ("lowrankmvn", "cov_factor", -1e300): "W Wᵀ overflows float64",
    ("lowrankmvn", "cov_factor", 1e300): "W Wᵀ overflows float64",
}


def _boundary_values(constraint) -> list[float]:
    """Values at and just beyond each finite bound of a torch constraint (and one inside)."""
    base = getattr(constraint, "base_constraint", constraint)
    lows = [getattr(base, "lower_bound", None)]
    highs = [getattr(base, "upper_bound", None)]
    values = []
    for bound in [b for b in lows + highs if b is not None]:
        bound = float(bound)
        values += [bound, np.nextafter(bound, -math.inf), np.nextafter(bound, math.inf), bound - 1, bound + 0.5]
    return values or [-1e300, 0.0, 1e300]


def _cases():
    for family, (torch_name, valid) in VALID.items():
        arg_constraints = getattr(torch.distributions, torch_name).arg_constraints
        for key in valid:
            if key not in arg_constraints or key == "logits":
                continue
            for value in _boundary_values(arg_constraints[key]):
                yield family, key, float(value)


def _torch_accepts(family: str, key: str, value: float) -> bool:
    torch_name, valid = VALID[family]
    constraint = getattr(torch.distributions, torch_name).arg_constraints[key]
    shape = np.shape(valid[key])
    return bool(constraint.check(torch.full(shape, value, dtype=torch.float64)).all())


def _klcli_accepts(family: str, key: str, value: float) -> bool:
    kwargs = dict(VALID[family][1])
    kwargs[key] = np.full(np.shape(kwargs[key]), value).tolist()
    try:
        FAMILIES[family](**kwargs)
    except InputError:
        return False
    return True


@pytest.mark.parametrize("family, key, value", list(_cases()), ids=lambda v: repr(v))
def test_each_parameter_at_and_beyond_its_bounds_agrees_with_torch(family, key, value):
    expected = _torch_accepts(family, key, value)
    if (family, key, value) in NARROWER:
        assert expected and not _klcli_accepts(family, key, value)
        return
    assert _klcli_accepts(family, key, value) == expected


@pytest.mark.parametrize("family", sorted(VALID))
@pytest.mark.parametrize("value", [math.inf, -math.inf, math.nan])
def test_non_finite_parameters_are_refused(family, value):
    """torch's ``real`` and ``positive`` admit ±inf; an infinite parameter is no distribution, so klcli refuses it."""
    for key in VALID[family][1]:
        if family == "continuousbernoulli" and key == "probs":
            continue
        assert not _klcli_accepts(family, key, value), (family, key)


@pytest.mark.parametrize(
    "spec, accepted",
    [
        ("negativebinomial(total_count=0, probs=0.9)", True),
        ("negativebinomial(total_count=-1e-300, probs=0.9)", False),
        ("binomial(total_count=0, probs=0.3)", True),
        ("binomial(total_count=2.5, probs=0.3)", False),
        ("poisson(0)", True),
        ("categorical(probs=[0, 1])", True),
        ("categorical(probs=[-1e-300, 1])", False),
        ("multinomial(total_count=0, probs=[0.5, 0.5])", True),
        ("multinomial(total_count=1.5, probs=[0.5, 0.5])", False),
        ("uniform(1, 1)", False),
        ("uniform(1, 1.0000000000000002)", True),
        ("wishart(df=1.0000000000000002, covariance_matrix=[[1, 0], [0, 1]])", True),
        ("wishart(df=1, covariance_matrix=[[1, 0], [0, 1]])", False),
        ("continuousbernoulli(probs=0)", True),
        ("continuousbernoulli(probs=1)", True),
        ("continuousbernoulli(probs=1.0000000000000002)", False),
    ],
)
def test_special_constraints(spec, accepted):
    result = CliRunner().invoke(app, ["compare", spec, spec, "--engine", "closed", "--format", "json"])
    if accepted:
        assert result.exit_code in (0, 2) and "Expected parameter" not in result.stderr, result.stderr
    else:
        assert result.exit_code == 2 and result.stderr.startswith("klcli: error: ")
        assert len(result.stderr.strip().splitlines()) == 1


def test_torch_agrees_on_the_special_cases():
    D = torch.distributions
    assert D.NegativeBinomial.arg_constraints["total_count"].check(torch.tensor(0.0))
    assert D.Binomial.arg_constraints["total_count"].check(torch.tensor(0.0))
    assert not D.Binomial.arg_constraints["total_count"].check(torch.tensor(2.5))
    assert D.ContinuousBernoulli.arg_constraints["probs"].check(torch.tensor([0.0, 1.0])).all()
    D.Wishart(torch.tensor(1.0 + 2**-52, dtype=torch.float64), torch.eye(2, dtype=torch.float64), validate_args=True)
    with pytest.raises(ValueError):
        D.Wishart(torch.tensor(1.0, dtype=torch.float64), torch.eye(2, dtype=torch.float64), validate_args=True)
