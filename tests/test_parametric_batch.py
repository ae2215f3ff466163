"""The batch rule of specs: leading parameter axes are a batch, broadcast like torch, reduced by --reduction."""

from __future__ import annotations

import json

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from klcli.cli import app
from klcli.parametric import compare_distributions
from klcli.specs import parse_spec as S

torch = pytest.importorskip("torch")
D = torch.distributions


def _torch_kl(p, q):
    return D.kl_divergence(p, q).double().numpy()


def test_a_batch_of_categoricals_is_normalised_row_by_row_like_torch():
    """The case of the issue: rows are members, each normalised on its own (was flattened into one)."""
    p_rows = [[0.1, 0.2, 0.3], [0.5, 0.3, 0.2]]
    q_rows = [[0.4, 0.3, 0.3], [0.2, 0.7, 0.1]]
    expected = _torch_kl(
        D.Categorical(probs=torch.tensor(p_rows, dtype=torch.float64)), D.Categorical(probs=torch.tensor(q_rows, dtype=torch.float64))
    )
    p, q = S(f"categorical(probs={p_rows})"), S(f"categorical(probs={q_rows})")
    rows = compare_distributions(p, q, reduction="none", engine="closed").values["kl_pq"]
    np.testing.assert_allclose(rows, expected, rtol=1e-13)
    assert compare_distributions(p, q).values["kl_pq"] == pytest.approx(expected.mean(), rel=1e-13)
    assert compare_distributions(p, q, reduction="sum").values["kl_pq"] == pytest.approx(expected.sum(), rel=1e-13)
    assert expected.mean() == pytest.approx(0.24360, abs=1e-5)


def test_a_batch_broadcasts_against_one_member():
    rows = [[0.9, 0.1], [0.6, 0.4]]
    c = compare_distributions(S(f"categorical(probs={rows})"), S("categorical(probs=[0.5, 0.5])"), reduction="none")
    expected = _torch_kl(
        D.Categorical(probs=torch.tensor(rows, dtype=torch.float64)), D.Categorical(probs=torch.tensor([0.5, 0.5], dtype=torch.float64))
    )
    np.testing.assert_allclose(c.values["kl_pq"], expected, rtol=1e-13)
    assert c.method["js"] == "quadrature" and len(c.values["js"]) == 2
    # the JS of each member is that member's JS compared alone
    alone = compare_distributions(S("categorical(probs=[0.6, 0.4])"), S("categorical(probs=[0.5, 0.5])"))
    assert c.values["js"][1] == pytest.approx(alone.values["js"], rel=1e-12)


def test_diagonal_gaussian_batches_against_the_prior_sum_dimensions_and_average_rows():
    rng = np.random.default_rng(3)
    loc, scale = rng.normal(size=(5, 3)), rng.uniform(0.3, 2, size=(5, 3))
    p = S(f"normal(loc={loc.tolist()}, scale={scale.tolist()})")
    c = compare_distributions(p, S("normal(0, 1)"), engine="closed", reduction="none")
    per_dimension = _torch_kl(D.Normal(torch.tensor(loc), torch.tensor(scale)), D.Normal(0.0, 1.0))
    np.testing.assert_allclose(c.values["kl_pq"], per_dimension.sum(axis=-1), rtol=1e-13)
    mean = compare_distributions(p, S("normal(0, 1)"), engine="closed").values["kl_pq"]
    assert mean == pytest.approx(per_dimension.sum(axis=-1).mean(), rel=1e-13)
    assert p.batch_shape == (5,) and p.event_shape == (3,)


def test_a_length_d_parameter_on_the_other_side_broadcasts_over_rows():
    loc = [[0.0, 1.0], [2.0, -1.0]]
    c = compare_distributions(S(f"normal(loc={loc})"), S("normal(loc=[0.5, 0], scale=[1, 2])"), engine="closed", reduction="none")
    f64 = dict(dtype=torch.float64)
    expected = _torch_kl(D.Normal(torch.tensor(loc, **f64), 1.0), D.Normal(torch.tensor([0.5, 0.0], **f64), torch.tensor([1.0, 2.0], **f64)))
    np.testing.assert_allclose(c.values["kl_pq"], expected.sum(axis=-1), rtol=1e-13)


def test_mvn_and_dirichlet_batches_match_torch():
    rng = np.random.default_rng(4)
    a = rng.normal(size=(3, 2, 2))
    cov = a @ np.swapaxes(a, -1, -2) + np.eye(2)
    loc = rng.normal(size=(3, 2))
    p = S(f"mvn(loc={loc.tolist()}, covariance_matrix={cov.tolist()})")
    q = S("mvn(loc=[0, 0], covariance_matrix=[[2, 0.3], [0.3, 1]])")
    c = compare_distributions(p, q, engine="closed", reduction="none")
    tq = D.MultivariateNormal(torch.zeros(2, dtype=torch.float64), torch.tensor([[2, 0.3], [0.3, 1]], dtype=torch.float64))
    expected = _torch_kl(D.MultivariateNormal(torch.tensor(loc), torch.tensor(cov)), tq)
    np.testing.assert_allclose(c.values["kl_pq"], expected, rtol=1e-12)
    concentration = rng.uniform(0.5, 4, size=(4, 3))
    c = compare_distributions(S(f"dirichlet({concentration.tolist()})"), S("dirichlet([1, 2, 3])"), engine="closed", reduction="none")
    expected = _torch_kl(D.Dirichlet(torch.tensor(concentration)), D.Dirichlet(torch.tensor([1.0, 2, 3], dtype=torch.float64)))
    np.testing.assert_allclose(c.values["kl_pq"], expected, rtol=1e-12)


def test_members_without_a_closed_form_use_the_engine_each_would_use_alone():
    p = S("studentt(df=[[3], [10]])")
    c = compare_distributions(p, S("normal(0, 1)"), reduction="none")
    assert c.method["kl_pq"] == "quadrature"
    for row, df in enumerate((3, 10)):
        alone = compare_distributions(S(f"studentt({df})"), S("normal(0, 1)"))
        assert c.values["kl_pq"][row] == pytest.approx(alone.values["kl_pq"], rel=1e-12)


def test_monte_carlo_members_have_independent_seeds_and_a_combined_stderr():
    p = S("normal(loc=[[0, 0], [1, 1], [2, 0]])")
    q = S("normal(loc=[0, 1], scale=2)")
    rows = compare_distributions(p, q, engine="mc", samples=4000, reduction="none")
    assert len(set(np.round(rows.stderr["kl_pq"], 12))) == 3
    mean = compare_distributions(p, q, engine="mc", samples=4000)
    assert mean.values["kl_pq"] == pytest.approx(np.mean(rows.values["kl_pq"]), rel=1e-12)
    assert mean.stderr["kl_pq"] == pytest.approx(np.sqrt(np.sum(rows.stderr["kl_pq"] ** 2)) / 3, rel=1e-12)
    exact = compare_distributions(p, q, engine="closed").values["kl_pq"]
    assert abs(mean.values["kl_pq"] - exact) < 5 * mean.stderr["kl_pq"]


@pytest.mark.parametrize(
    "p, q, message",
    [
        (
            "categorical(probs=[[0.9, 0.1], [0.9, 0.1]])",
            "categorical(probs=[[1, 0], [1, 0], [0.5, 0.5]])",
            "klcli: error: the shapes of P and Q do not broadcast: categorical(...) has a batch of 2 with 2 categories each "
            "but categorical(...) has a batch of 3 with 2 categories each",
        ),
        (
            "normal(loc=[[0, 1], [2, 3]])",
            "normal(loc=[[0, 1], [2, 3], [4, 5]])",
            "klcli: error: the shapes of P and Q do not broadcast: normal(...) has a batch of 2 with 2 dimensions each "
            "but normal(...) has a batch of 3 with 2 dimensions each",
        ),
        (
            "normal(loc=[[0, 1], [2, 3]], scale=[1, 2, 3])",
            "normal(0, 1)",
            "klcli: error: parameter shapes of normal(...) do not broadcast: loc 2x2, scale 3",
        ),
        (
            "dirichlet([[1, 2], [3, 4]])",
            "dirichlet([[1, 2], [3, 4], [5, 6]])",
            "klcli: error: the shapes of P and Q do not broadcast: dirichlet(...) has a batch of 2",
        ),
        (
            "categorical(probs=[[0.5, 0.5], [0, 0]])",
            "categorical(probs=[0.5, 0.5])",
            "klcli: error: Expected parameter probs of categorical(...) to have a positive sum in row 1, but found 0",
        ),
    ],
)
def test_shapes_that_do_not_broadcast_are_one_clear_line(p, q, message):
    result = CliRunner().invoke(app, ["compare", p, q])
    assert result.exit_code == 2
    assert result.stderr.startswith(message)
    assert "Traceback" not in result.stderr and "operands" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_cli_reduction_none_prints_lists():
    result = CliRunner().invoke(
        app, ["compare", "categorical(probs=[[0.1, 0.9], [0.5, 0.5]])", "categorical(probs=[0.5, 0.5])", "--format", "json", "--reduction", "none"]
    )
    assert result.exit_code == 0, result.stderr
    out = json.loads(result.stdout)
    assert len(out["kl_pq"]) == 2 and out["kl_pq"][1] == 0 and out["reduction"] == "none" and out["rows"] == 2


@settings(max_examples=40, deadline=None)
@given(
    rows=st.integers(1, 4),
    k=st.integers(2, 5),
    seed=st.integers(0, 2**32 - 1),
    reduction=st.sampled_from(["batchmean", "sum"]),
)
def test_a_batch_is_its_members_compared_one_by_one(rows, k, seed, reduction):
    """Law of the batch rule: the reduced value is the mean (sum) of each member's comparison alone."""
    rng = np.random.default_rng(seed)
    p_rows, q_row = rng.uniform(0.01, 1, size=(rows, k)), rng.uniform(0.01, 1, size=k)
    batch = compare_distributions(
        S(f"categorical(probs={p_rows.tolist()})"), S(f"categorical(probs={q_row.tolist()})"), engine="closed", reduction=reduction
    )
    alone = [
        compare_distributions(S(f"categorical(probs={row.tolist()})"), S(f"categorical(probs={q_row.tolist()})"), engine="closed").values["kl_pq"]
        for row in p_rows
    ]
    expected = np.mean(alone) if reduction == "batchmean" else np.sum(alone)
    assert batch.values["kl_pq"] == pytest.approx(expected, rel=1e-13, abs=1e-15)
    assert batch.values["kl_pq"] >= 0
