"""The comparison: two :class:`~klcli.drift.counts.Counts` in, a :class:`~klcli.drift.report.DriftReport` out.

Pure and cheap: it reads only the counts (never a table), so counts from any
engine or from a stored profile give the same report, to the last bit.

>>> import numpy as np
>>> from klcli.drift.counts import CategoryCounts, ColumnCounts, Counts
>>> def colour(red, blue):
...     return Counts("t", red + blue, {"colour": ColumnCounts("colour", "categorical", categories=CategoryCounts({"red": red, "blue": blue}))})
>>> report = compare(colour(80, 20), colour(50, 50), DriftOptions())
>>> report.drifted, round(report.columns[0].value, 4)
(True, 0.2704)
"""

from __future__ import annotations

import numpy as np

from klcli.drift.binning import (
    AUTO_DECILE_ROWS,
    MISSING,
    OTHER,
    UNSEEN,
    bin_labels,
    coarsen_counts,
    default_category_limit,
    effective_rows,
)
from klcli.drift.counts import CategoryCounts, ColumnCounts, Counts
from klcli.drift.metrics import metric_terms
from klcli.drift.options import ColumnPlan, DriftOptions, column_metric
from klcli.drift.report import ColumnReport, DriftReport
from klcli.errors import InputError

#: How many unseen categories are listed by name.
MAX_UNSEEN_LISTED = 20


def compare(reference: Counts, current: Counts, options: DriftOptions | None = None) -> DriftReport:
    """Compare the counts of the current table with those of the reference, column by column.

    Numeric columns counted with ``--bins auto`` are compared on the coarse
    (quintile) edges when the harmonic mean of the two row counts is below
    :data:`~klcli.drift.binning.AUTO_DECILE_ROWS`; categorical columns keep
    the reference's most frequent categories by name (``--max-categories``,
    else :func:`~klcli.drift.binning.default_category_limit`).
    """
    options = options or DriftOptions()
    reports = []
    for name, ref_side in reference.columns.items():
        cur_side = current.columns[name]
        if cur_side.values == 0:
            raise InputError(f"{current.source}: column {name!r} has no values (all missing)")
        metric, threshold = column_metric(name, options)
        plan = ColumnPlan(name, ref_side.kind, metric, threshold)
        labels, ref_counts, cur_counts, unseen = column_bins(ref_side, cur_side, options.category_limit)
        reports.append(column_report(plan, labels, ref_counts, cur_counts, top=options.top, unseen=unseen))
    return DriftReport(reports)


def column_bins(reference: ColumnCounts, current: ColumnCounts, max_categories: int | None = None) -> tuple[list[str], np.ndarray, np.ndarray, dict | None]:
    """The labelled bins one column is compared on: labels, both count vectors (missing last), unseen categories."""
    if reference.kind == "numeric":
        edges, ref_counts, cur_counts = reference.edges, reference.bins, current.bins
        if reference.coarse_edges is not None and effective_rows(ref_counts.sum(), cur_counts.sum()) < AUTO_DECILE_ROWS:
            coarse = reference.coarse_edges
            ref_counts, cur_counts, edges = coarsen_counts(edges, ref_counts, coarse), coarsen_counts(edges, cur_counts, coarse), coarse
        return bin_labels(edges), ref_counts, cur_counts, None
    rows = effective_rows(reference.rows, current.rows)
    return category_bins(reference.categories, current.categories, max_categories or default_category_limit(rows))


def column_report(plan: ColumnPlan, labels: list[str], reference: np.ndarray, current: np.ndarray, *, top: int = 3, unseen: dict | None = None) -> ColumnReport:
    """Compare two count vectors over the same labelled bins (missing last).

    >>> plan = ColumnPlan("colour", "categorical", "js_distance", 0.1)
    >>> report = column_report(plan, ["red", "blue", "(missing)"], np.array([80, 20, 0]), np.array([50, 50, 0]))
    >>> round(report.value, 4), report.drifted, report.top_contributors[0]["bin"]
    (0.2704, True, 'blue')
    """
    value, contributions = metric_terms(plan.metric, current, reference)
    ref_total, cur_total = int(reference.sum()), int(current.sum())
    order = [i for i in np.argsort(-contributions, kind="stable")[:top] if contributions[i] > 0]
    contributors = [
        {"bin": labels[i], "reference_share": reference[i] / ref_total, "current_share": current[i] / cur_total, "contribution": float(contributions[i])}
        for i in order
    ]
    unseen = unseen or {}
    listed = sorted(unseen, key=lambda label: (-unseen[label], label))[:MAX_UNSEEN_LISTED]
    return ColumnReport(
        column=plan.column, kind=plan.kind, metric=plan.metric, value=value, threshold=plan.threshold,
        bins=len(labels), reference_rows=ref_total, current_rows=cur_total,
        reference_missing_rate=reference[-1] / ref_total, current_missing_rate=current[-1] / cur_total,
        top_contributors=contributors, unseen_categories=listed if plan.kind == "categorical" else None,
        unseen_count=len(unseen), current_unseen_rate=sum(unseen.values()) / cur_total,
    )


def category_bins(reference: CategoryCounts, current: CategoryCounts, max_categories: int) -> tuple[list[str], np.ndarray, np.ndarray, dict]:
    """Labels and counts of categorical bins, and the unseen categories with their counts.

    >>> ref, cur = CategoryCounts({"a": 5, "b": 3, "c": 1}), CategoryCounts({"a": 4, "d": 2}, missing=1)
    >>> labels, r, c, unseen = category_bins(ref, cur, max_categories=2)
    >>> labels, r.tolist(), c.tolist(), unseen
    (['a', 'b', '(other)', '(unseen)', '(missing)'], [5, 3, 1, 0, 0], [4, 0, 0, 2, 1], {'d': 2})
    """
    ranked = sorted(reference.counts, key=lambda label: (-reference.counts[label], label))
    kept, folded = ranked[:max_categories], set(ranked[max_categories:])
    unseen = {label: n for label, n in current.counts.items() if label not in reference.counts}
    labels = kept + ([OTHER] if folded else []) + [UNSEEN, MISSING]

    def counts(side: CategoryCounts) -> np.ndarray:
        other = sum(n for label, n in side.counts.items() if label in folded)
        new = sum(n for label, n in side.counts.items() if label not in reference.counts)
        named = [side.counts.get(label, 0) for label in kept]
        return np.array(named + ([other] if folded else []) + [new, side.missing], dtype=np.int64)

    return labels, counts(reference), counts(current), unseen
