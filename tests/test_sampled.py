"""``--from sampled-logprobs``: k1/k2/k3, importance weights, the sampler check.

Truths come from the full categorical distributions the draws were taken from;
coverage is checked over many seeds, not one.
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from klcli.errors import InputError
from klcli.sampled import SAMPLER_Z, estimate_sampled


def exact(p: np.ndarray, q: np.ndarray) -> dict[str, float]:
    m = (p + q) / 2
    return {
        "kl_pq": float(np.sum(p * np.log(p / q))),
        "kl_qp": float(np.sum(q * np.log(q / p))),
        "js": float(0.5 * np.sum(p * np.log(p / m)) + 0.5 * np.sum(q * np.log(q / m))),
    }


def policy_pair(rng, vocab: int) -> tuple[np.ndarray, np.ndarray]:
    """Two nearby policies with full support, as in an RL update (KL ~ 0.01-0.3)."""
    logits = rng.normal(size=vocab) * 1.5
    other = logits + rng.normal(size=vocab) * rng.uniform(0.1, 0.6)
    softmax = lambda z: np.exp(z - z.max()) / np.exp(z - z.max()).sum()  # noqa: E731
    return softmax(logits), softmax(other)


def z_scores(p, q, *, drawn_from: str, seeds: int, n: int, rng) -> np.ndarray:
    truth = exact(p, q)
    sampler = p if drawn_from == "p" else q
    zs = []
    for _ in range(seeds):
        x = rng.choice(p.size, size=n, p=sampler)
        c = estimate_sampled(np.log(p[x]), np.log(q[x]), drawn_from=drawn_from)
        zs.append([(c.values[k] - truth[k]) / c.stderr[k] for k in ("kl_pq", "kl_qp", "js")])
    return np.array(zs)


@pytest.mark.slow
@pytest.mark.parametrize("drawn_from", ["p", "q"])
def test_standard_errors_cover_the_truth_over_seeds(drawn_from):
    rng = np.random.default_rng(20)
    zs = np.concatenate([z_scores(*policy_pair(rng, int(rng.integers(3, 40))), drawn_from=drawn_from, seeds=200, n=800, rng=rng) for _ in range(20)])
    within_two = np.mean(np.abs(zs) <= 2, axis=0)
    assert np.all(within_two >= 0.93), within_two
    assert np.abs(zs).max() <= 5, np.abs(zs).max(axis=0)


def sequence_truth(p: np.ndarray, q: np.ndarray, length: int) -> dict[str, float]:
    """Exact divergences between distributions of sequences of iid tokens (enumerated)."""
    seqs = np.array(list(itertools.product(range(p.size), repeat=length)))
    return exact(np.prod(p[seqs], axis=1), np.prod(q[seqs], axis=1))


@pytest.mark.slow
def test_sequence_level_estimates_cover_the_truth():
    rng = np.random.default_rng(5)
    zs = []
    for _ in range(20):
        p, q = policy_pair(rng, 4)
        truth = sequence_truth(p, q, 3)
        for _ in range(200):
            x = rng.choice(4, size=(1500, 3), p=p)
            groups = np.repeat(np.arange(1500), 3)
            c = estimate_sampled(np.log(p[x]).ravel(), np.log(q[x]).ravel(), groups=groups)
            assert c.info["draws"] == 1500
            zs.append([(c.values[k] - truth[k]) / c.stderr[k] for k in ("kl_pq", "kl_qp", "js")])
    zs = np.array(zs)
    assert np.all(np.mean(np.abs(zs) <= 2, axis=0) >= 0.93)
    assert np.abs(zs).max() <= 5


def test_sequence_kl_is_the_sum_of_token_kls_not_the_sum_of_token_k3():
    rng = np.random.default_rng(1)
    p, q = policy_pair(rng, 6)
    x = rng.choice(6, size=(50_000, 4), p=p)
    c = estimate_sampled(np.log(p[x]).ravel(), np.log(q[x]).ravel(), groups=np.repeat(np.arange(50_000), 4))
    truth = 4 * exact(p, q)["kl_pq"]
    assert abs(c.values["kl_pq"] - truth) < 4 * c.stderr["kl_pq"]


def test_mismatched_sampler_is_flagged_and_a_true_one_is_not():
    """Draws at temperature 1.3 logged under the plain softmax: mean ratio 10 SE from 1."""
    rng = np.random.default_rng(7)
    logits = rng.normal(size=30) * 2
    softmax = lambda z: np.exp(z - z.max()) / np.exp(z - z.max()).sum()  # noqa: E731
    p, q, hot = softmax(logits), softmax(logits + rng.normal(size=30) * 0.3), softmax(logits / 1.3)
    ratio = q / p
    gap, sd = abs(np.sum(hot * ratio) - 1), np.sqrt(np.sum(hot * ratio**2) - np.sum(hot * ratio) ** 2)
    n = int((10 * sd / gap) ** 2)  # |E[ratio] - 1| = 10 standard errors
    flagged = [
        not estimate_sampled(np.log(p[x]), np.log(q[x])).info["draws_match_sampler"] for x in (rng.choice(30, size=n, p=hot) for _ in range(200))
    ]
    assert np.mean(flagged) >= 0.99
    false_alarms = [
        not estimate_sampled(np.log(p[x]), np.log(q[x])).info["draws_match_sampler"] for x in (rng.choice(30, size=n, p=p) for _ in range(200))
    ]
    assert np.mean(false_alarms) <= 0.01
    x = rng.choice(30, size=n, p=hot)
    c = estimate_sampled(np.log(p[x]), np.log(q[x]))
    assert abs(c.info["mean_ratio"] - 1) > SAMPLER_Z * c.info["mean_ratio_stderr"]
    assert any("draws_match_sampler false" in note and "temperature" in note for note in c.notes)


def test_k3_is_never_negative_while_k1_can_be():
    rng = np.random.default_rng(2)
    p, q = policy_pair(rng, 10)
    k1_negative = 0
    for _ in range(100):
        x = rng.choice(10, size=20, p=p)
        c = estimate_sampled(np.log(p[x]), np.log(q[x]))
        assert c.values["kl_pq"] >= 0 and c.values["kl_qp"] >= 0 and 0 <= c.values["js"] <= np.log(2)
        k1_negative += c.info["estimators"]["k1"]["value"] < 0
    assert k1_negative > 0


def test_a_zero_probability_under_the_other_side_makes_kl_infinite():
    c = estimate_sampled(np.log([0.5, 0.5, 0.5]), [np.log(0.9), -np.inf, np.log(0.1)])
    assert c.values["kl_pq"] == np.inf
    assert np.isfinite(c.values["kl_qp"]) and 0 <= c.values["js"] <= np.log(2)


def test_reduction_none_gives_one_estimate_per_sequence():
    c = estimate_sampled([-1.0, -2.0, -1.5, -0.5], [-1.2, -1.8, -1.0, -0.7], groups=[7, 7, 3, 3], reduction="none")
    assert c.values["kl_pq"].shape == (2,) and "js" not in c.values
    assert c.info["group_ids"].tolist() == [3, 7]
    rho = np.array([(-1.0 - 0.7) - (-1.5 - 0.5), (-1.2 - 1.8) - (-1.0 - 2.0)])
    np.testing.assert_allclose(c.values["kl_pq"], np.expm1(rho) - rho, rtol=1e-12)


def test_mask_drops_padding_rows():
    full = estimate_sampled([-1.0, -2.0, -3.0, 0.0], [-1.1, -2.2, -2.9, 5.0], mask=[1, 1, 1, 0])
    kept = estimate_sampled([-1.0, -2.0, -3.0], [-1.1, -2.2, -2.9])
    assert full.values == kept.values


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(log_p=[-1.0, -2.0], log_q=[-1.0]), "same draws"),
        (dict(log_p=[-1.0, np.nan], log_q=[-1.0, -1.0]), "row 2"),
        (dict(log_p=[-1.0, -1.0], log_q=[np.inf, -1.0]), "must be finite"),
        (dict(log_p=[-np.inf, -1.0], log_q=[-1.0, -1.0]), "probability 0 under the policy that drew it"),
        (dict(log_p=[-1.0, -1.0], log_q=[-1.0, -1.0], groups=[1]), "--group has 1 rows"),
        (dict(log_p=[-1.0], log_q=[-1.0]), "at least 2 draws"),
    ],
)
def test_bad_inputs_are_one_line_errors(kwargs, message):
    with pytest.raises(InputError, match=message):
        estimate_sampled(kwargs.pop("log_p"), kwargs.pop("log_q"), **kwargs)


def test_positive_log_densities_are_valid():
    c = estimate_sampled([1.2, 0.7, 2.0], [1.0, 0.9, 1.5])
    assert np.isfinite(c.values["kl_pq"])


def test_cli_reads_files_and_reports_estimators(cli, tmp_path):
    rng = np.random.default_rng(0)
    p, q = policy_pair(rng, 12)
    x = rng.choice(12, size=5000, p=p)
    np.save(tmp_path / "lp.npy", np.log(p[x]))
    np.save(tmp_path / "lq.npy", np.log(q[x]))
    np.save(tmp_path / "seq.npy", np.arange(5000) // 5)
    result = cli("compare", tmp_path / "lp.npy", tmp_path / "lq.npy", "--from", "sampled-logprobs", "--format", "json", "--base", "2")
    assert result.exit_code == 0, result.stderr
    record = result.json()
    assert record["method"]["kl_pq"] == "k3" and record["method"]["kl_qp"] == "importance"
    assert set(record["estimators"]) == {"k1", "k2", "k3"}
    assert record["estimators"]["k3"]["value"] == record["kl_pq"]
    assert record["draws_match_sampler"] is True and set(record["stderr"]) >= {"kl_pq", "kl_qp", "js"}
    truth_bits = exact(p, q)["kl_pq"] / np.log(2)
    assert abs(record["kl_pq"] - truth_bits) < 5 * record["stderr"]["kl_pq"]
    grouped = cli(
        "compare", tmp_path / "lp.npy", tmp_path / "lq.npy", "--from", "sampled-logprobs", "--group", tmp_path / "seq.npy", "--format", "json"
    )
    assert grouped.exit_code == 0 and grouped.json()["groups"] == 1000
    reverse = cli("compare", tmp_path / "lq.npy", tmp_path / "lp.npy", "--from", "sampled-logprobs", "--drawn-from", "q", "--format", "json")
    assert reverse.json()["kl_qp"] == record["kl_pq"] * np.log(2)


def test_cli_bad_input_exits_2(cli, tmp_path):
    np.save(tmp_path / "a.npy", np.zeros(3) - 1)
    np.save(tmp_path / "b.npy", np.zeros(4) - 1)
    result = cli("compare", tmp_path / "a.npy", tmp_path / "b.npy", "--from", "sampled-logprobs")
    assert result.exit_code == 2 and "same draws" in result.stderr and "Traceback" not in result.stderr
    result = cli("compare", "0.1,0.9", "0.5,0.5", "--group", tmp_path / "a.npy")
    assert result.exit_code == 2 and "apply to --from sampled-logprobs" in result.stderr


def test_spec_arguments_read_from_files(cli, tmp_path):
    np.savez(tmp_path / "post.npz", mu=np.array([0.1, 0.2]), sigma=np.array([1.0, 2.0]))
    np.save(tmp_path / "mu.npy", np.array([0.5, 0.5]))
    (tmp_path / "sigma.csv").write_text("sigma\n1.5\n0.5\n")
    from_files = cli(
        "compare", f"normal(loc=@{tmp_path}/post.npz:mu, scale=@{tmp_path}/sigma.csv:sigma)", f"normal(loc=@{tmp_path}/mu.npy, scale=1)", "-f", "json"
    )
    inline = cli("compare", "normal(loc=[0.1, 0.2], scale=[1.5, 0.5])", "normal(loc=[0.5, 0.5], scale=1)", "-f", "json")
    assert from_files.exit_code == 0, from_files.stderr
    assert from_files.json()["kl_pq"] == inline.json()["kl_pq"]


@pytest.mark.parametrize(
    "argument, message",
    [
        ("@{d}/missing.npy", "no such file"),
        ("@{d}/post.npz:nope", "no array named 'nope'"),
        ("@", "expected a file path after '@'"),
        ("@{d}/post.npz", ""),
    ],
)
def test_bad_file_arguments_are_one_line_errors(cli, tmp_path, argument, message):
    np.savez(tmp_path / "post.npz", mu=np.zeros(2), sigma=np.ones(2))
    result = cli("compare", f"normal(loc={argument.format(d=tmp_path)}, scale=1)", "normal(0, 1)")
    assert result.exit_code == 2 and message in result.stderr and len(result.stderr.strip().splitlines()) == 1
