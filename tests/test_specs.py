"""The spec language: syntax, numbers, errors with columns, JSON mappings."""

from __future__ import annotations

import pytest

from klcli.errors import InputError
from klcli.families import Mixture, MultivariateNormal, Normal
from klcli.specs import family_class, looks_like_spec, parse_spec, spec_from_mapping


@pytest.mark.parametrize(
    "text, expected",
    [
        ("normal(0, 1)", "normal(loc=0, scale=1)"),
        ("normal(loc=0, scale=1)", "normal(loc=0, scale=1)"),
        ("  normal ( loc = -2 ,\n\tscale = 1e-3 , )  ", "normal(loc=-2, scale=0.001)"),
        ("normal(+.5, 2.5E+2)", "normal(loc=0.5, scale=250)"),
        ("Normal(1)", "normal(loc=1, scale=1)"),
        ("normal()", "normal(loc=0, scale=1)"),
        ("studentt(df=3)", "studentt(df=3, loc=0, scale=1)"),
        ("student_t(3)", "studentt(df=3, loc=0, scale=1)"),
        ("negative_binomial(3, probs=0.5)", "negativebinomial(total_count=3, probs=0.5)"),
        ("half-normal(2)", "halfnormal(scale=2)"),
        ("multivariate_normal([0, 0], scale_tril=[[1, 0], [0.5, 1]])", "mvn(loc=[0, 0], scale_tril=[[1, 0], [0.5, 1]])"),
        ("categorical(probs=[0.2, 0.8])", "categorical(probs=[0.2, 0.8])"),
        ("normal(loc=[0, 1,], scale=[1, 2])", "normal(loc=[0, 1], scale=[1, 2])"),
        ("uniform(-inf, 1)", None),
    ],
)
def test_parses(text, expected):
    if expected is None:
        with pytest.raises(InputError, match="Expected parameter low of uniform"):
            parse_spec(text)
    else:
        assert parse_spec(text).spec() == expected


def test_nested_lists_and_mixtures():
    d = parse_spec("mvn(loc=[0, 0], covariance_matrix=[[1, 0.5], [0.5, 2]])")
    assert isinstance(d, MultivariateNormal) and d.event_shape == (2,)
    m = parse_spec("mixture(weights=[1, 3], components=[normal(0, 1), mixture([1], [laplace(2)])])")
    assert isinstance(m, Mixture) and isinstance(m.components[1], Mixture)
    assert m.weights.tolist() == [0.25, 0.75]


@pytest.mark.parametrize(
    "text, message",
    [
        ("normal(0,,1)", "bad spec 'normal(0,,1)': unexpected ',' at column 10"),
        ("normal(0, 1", "bad spec 'normal(0, 1': unexpected end of spec at column 12"),
        ("normal 0, 1)", "bad spec 'normal 0, 1)': expected '(' but found '0' at column 8"),
        ("normal(0, 1))", "unexpected ')' after the closing parenthesis at column 13"),
        ("normal(0 1)", "unexpected '1' at column 10"),
        ("normal(loc=0, 1)", "positional argument after a keyword argument at column 16"),
        ("normal(loc=0, loc=1)", "parameter 'loc' given twice at column 20"),
        ("normal(loc=abc)", "unexpected 'a' at column 12"),
        ("normal(loc=[0, 1)", "unexpected ')' at column 17"),
        ("normal(1e)", "unexpected '1' at column 8"),
        ("(0, 1)", "unexpected '(' at column 1"),
        ("mixture([1], [normal(0, -1)])", "in 'normal(0, -1)': Expected parameter scale of normal(...) to be positive, but found -1"),
    ],
)
def test_syntax_errors_point_at_the_character(text, message):
    with pytest.raises(InputError) as caught:
        parse_spec(text)
    assert message in str(caught.value)


def test_unknown_family_lists_known_ones_and_suggests():
    with pytest.raises(InputError) as caught:
        parse_spec("nromal(0, 1)")
    message = str(caught.value)
    assert "unknown distribution family 'nromal'; did you mean 'normal'?" in message
    assert "Known families: bernoulli, categorical" in message and "mixture" in message
    with pytest.raises(InputError, match="did you mean 'mvn'"):
        family_class("multivariatenorml")
    with pytest.raises(InputError) as caught:
        family_class("zzz")
    assert "did you mean" not in str(caught.value)


def test_looks_like_spec():
    assert looks_like_spec("normal(0, 1)")
    assert looks_like_spec("  mvn(loc=[0,0],\n covariance_matrix=[[1,0],[0,1]]) ")
    assert not looks_like_spec("data.csv")
    assert not looks_like_spec("0.1,0.2,0.7")
    assert not looks_like_spec("normal")
    assert not looks_like_spec("-")


def test_spec_from_mapping():
    d = spec_from_mapping({"family": "normal", "loc": 0, "scale": 2})
    assert isinstance(d, Normal) and d.scale == 2
    m = spec_from_mapping({"family": "mixture", "weights": [1, 1], "components": ["normal(0, 1)", {"family": "laplace", "loc": 2, "scale": 1}]})
    assert [c.name for c in m.components] == ["normal", "laplace"]
    with pytest.raises(InputError, match='needs a "family" key'):
        spec_from_mapping({"loc": 0})
    with pytest.raises(InputError, match="must be a JSON object"):
        spec_from_mapping([1, 2])
    with pytest.raises(InputError, match="Expected parameter loc of normal\\(...\\) to be a number or a list of numbers"):
        spec_from_mapping({"family": "normal", "loc": "zero"})
    with pytest.raises(InputError, match="Expected parameter scale of normal\\(...\\) to be positive, but found -1"):
        spec_from_mapping({"family": "normal", "scale": -1})
    with pytest.raises(InputError, match="normal\\(\\) has no parameter 'mean'"):
        spec_from_mapping({"family": "normal", "mean": 0})
