"""Seeded simulation: fresh samples of one distribution are not flagged at the defaults, at any size.

Each trial is a numeric column (standard normal) and a categorical one (six
categories) checked together, so Holm's correction acts as in a real run.
The reference rows are drawn and binned as ``klcli drift`` does (deciles or
quintiles fitted on them); the current table's counts on those fixed bins are
drawn from the multinomial of the true bin probabilities, which is exactly
their distribution, so sizes up to a million rows cost no more than small ones.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import norm

from klcli.drift import CategoryCounts, ColumnCounts, Counts, DriftOptions, compare, count_bins, fit_edges, parse_bins
from klcli.drift.binning import fit_coarse_edges

SIZES = (50, 200, 1_000, 10_000, 100_000, 1_000_000)
TRIALS = 40  # per size: 240 fresh samples in all
CATEGORY_SHARES = np.array([0.3, 0.25, 0.2, 0.12, 0.08, 0.05])


def trial(rng, n: int, m: int, *, shift: float = 0.0, tilt: float = 0.0, options: DriftOptions | None = None):
    """One check of a fresh (or shifted) current table against a fresh reference; returns the report."""
    reference = rng.normal(size=n)
    rule = parse_bins("auto")
    low, high = float(reference.min()), float(reference.max())
    edges = fit_edges(rule, reference, minimum=low, maximum=high, count=n)
    coarse = fit_coarse_edges(rule, reference, minimum=low, maximum=high)
    cdf = norm.cdf(edges, loc=shift)
    probabilities = np.concatenate([[cdf[0]], np.diff(cdf), [1.0 - cdf[-1]], [0.0]])
    current_bins = rng.multinomial(m, probabilities / probabilities.sum())
    shares = CATEGORY_SHARES.copy()
    shares[0] += tilt
    shares /= shares.sum()

    def categories(counts):
        return CategoryCounts({f"k{i}": int(c) for i, c in enumerate(counts) if c})

    ref = {
        "x": ColumnCounts("x", "numeric", edges=edges, coarse_edges=coarse, bins=count_bins(edges, reference)),
        "c": ColumnCounts("c", "categorical", categories=categories(rng.multinomial(n, CATEGORY_SHARES))),
    }
    cur = {
        "x": ColumnCounts("x", "numeric", edges=edges, coarse_edges=coarse, bins=current_bins),
        "c": ColumnCounts("c", "categorical", categories=categories(rng.multinomial(m, shares))),
    }
    return compare(Counts("reference", n, ref), Counts("current", m, cur), options or DriftOptions())


@pytest.mark.slow
def test_fresh_samples_are_not_flagged_at_any_size():
    rng = np.random.default_rng(2024)
    flagged = {}
    for size in SIZES:
        flagged[size] = sum(trial(rng, size, size).drifted for _ in range(TRIALS))
    total = sum(flagged.values())
    assert total <= 0.05 * TRIALS * len(SIZES), flagged
    assert all(count <= 0.1 * TRIALS for count in flagged.values()), flagged


@pytest.mark.slow
def test_small_current_against_a_large_reference():
    """The CI case: a large reference, a small current batch (20 to 500 rows)."""
    rng = np.random.default_rng(7)
    flagged = sum(trial(rng, 5_000, m).drifted for m in (20, 80, 500) for _ in range(30))
    assert flagged <= 0.05 * 90, flagged


def test_distance_alone_flags_small_samples():
    """Without significance, small fresh samples cross the threshold: the reason the test exists."""
    rng = np.random.default_rng(3)
    flagged = sum(trial(rng, 50, 50, options=DriftOptions(significance=False)).drifted for _ in range(20))
    assert flagged >= 18


def test_changes_are_found():
    """A one-sigma shift is found from 50 rows on; a quarter sigma with a few thousand rows."""
    rng = np.random.default_rng(4)
    assert sum(trial(rng, 50, 50, shift=1.0).columns[0].drifted for _ in range(20)) >= 14
    assert sum(trial(rng, 5_000, 5_000, shift=0.25).columns[0].drifted for _ in range(20)) >= 10
    assert sum(trial(rng, 2_000, 2_000, tilt=0.25).columns[1].drifted for _ in range(20)) >= 18
