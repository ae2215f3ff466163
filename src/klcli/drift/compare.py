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
    format_value,
)
from klcli.drift.counts import CategoryCounts, ColumnCounts, Counts
from klcli.drift.metrics import (
    DEFAULT_METRIC,
    DEFAULT_THRESHOLDS,
    SAMPLE_METRICS,
    chi2_critical,
    g_test,
    holm,
    metric_terms,
    noise_floor,
    sample_metric,
    sample_noise_floor,
)
from klcli.drift.options import ColumnPlan, DriftOptions, column_metric
from klcli.drift.report import ColumnReport, DriftReport

#: How many unseen categories are listed by name.
MAX_UNSEEN_LISTED = 20


def compare(reference: Counts, current: Counts, options: DriftOptions | None = None) -> DriftReport:
    """Compare the counts of the current table with those of the reference, column by column.

    Numeric columns counted with ``--bins auto`` are compared on the coarse
    (quintile) edges when the harmonic mean of the two row counts is below
    :data:`~klcli.drift.binning.AUTO_DECILE_ROWS`; categorical columns keep
    the reference's most frequent categories by name (``--max-categories``,
    else :func:`~klcli.drift.binning.default_category_limit`). Every compared
    column gets a G-test p-value (Holm-adjusted across the columns) and the
    noise floor of its metric; see :mod:`klcli.drift.report` for the decision.
    """
    options = options or DriftOptions()
    reports = [
        _column(name, ref_side, current.columns[name], options, reference=reference, current=current) for name, ref_side in reference.columns.items()
    ]
    tested = [r for r in reports if r.p_value is not None]
    for report, adjusted in zip(tested, holm([p for r in tested if (p := r.p_value) is not None])):
        report.p_value_adjusted = adjusted
        report.significant = adjusted <= options.significance_level if options.significance else None
    warnings = [
        f"{r.column}: small sample: the noise floor of {r.metric} ({r.noise_floor:.3g}) exceeds the threshold ({r.threshold:.3g}); "
        "a change must be large to be told from noise"
        for r in reports
        if r.noise_floor is not None and r.threshold is not None and r.noise_floor > r.threshold
    ]
    return DriftReport(reports, fail_if_count=options.fail_if_count, fail_if_share=options.fail_if_share, warnings=warnings)


def _column(name: str, ref_side: ColumnCounts, cur_side: ColumnCounts, options: DriftOptions, *, reference: Counts, current: Counts) -> ColumnReport:
    """One column's report: a status for columns that cannot be compared, else the metric and its statistics."""
    metric, threshold, warn_above = column_metric(name, options)
    status, reason = ref_side.status or cur_side.status, ref_side.reason or cur_side.reason
    kind = ref_side.kind
    if status is None and name not in options.included and ref_side.all_distinct:
        status, reason = "identifier", f"every value in {reference.source} differs, like an identifier: left out (check it with --include {name})"
    if status is None and (ref_side.rows == 0 or cur_side.rows == 0):
        status, reason = "empty", f"{reference.source if ref_side.rows == 0 else current.source} has no rows"
    if status is not None:
        return ColumnReport(
            column=name,
            kind=kind if kind in ("numeric", "categorical") else "-",
            metric=metric,
            value=None,
            threshold=threshold,
            bins=0,
            reference_rows=ref_side.rows if ref_side.counted else 0,
            current_rows=cur_side.rows if cur_side.counted else 0,
            reference_missing_rate=None,
            current_missing_rate=None,
            top_contributors=[],
            status=status,
            reason=reason,
            warn_above=warn_above,
            schema_fails=options.fail_on_schema,
        )
    labels, ref_counts, cur_counts, unseen = column_bins(ref_side, cur_side, options.category_limit)
    _, df, p_value, p_method = g_test(*significance_counts(ref_side.kind, labels, cur_counts, ref_counts))
    sampled = metric in SAMPLE_METRICS and all(side.sample is not None and side.sample.size for side in (ref_side, cur_side))
    if metric in SAMPLE_METRICS and not sampled:  # a categorical column, or no finite value on one side
        metric, threshold = DEFAULT_METRIC, DEFAULT_THRESHOLDS[DEFAULT_METRIC]
    if threshold is None:  # chi2: its critical value
        threshold = chi2_critical(df, options.significance_level)
    plan = ColumnPlan(name, kind, metric, threshold)
    report = column_report(plan, labels, ref_counts, cur_counts, top=options.top, unseen=unseen)
    if sampled:
        assert cur_side.sample is not None and ref_side.sample is not None  # checked by ``sampled``
        report.value = sample_metric(metric, cur_side.sample, ref_side.sample)
        report.noise_floor = sample_noise_floor(metric, cur_side.sample, ref_side.sample, (ref_side.values, cur_side.values))
        report.noise_floor_method = "permutation of subsamples, rescaled"
    else:
        report.noise_floor = noise_floor(metric, cur_counts, ref_counts)
        report.noise_floor_method = "permutation"
    report.p_value, report.p_value_method, report.warn_above = p_value, p_method, warn_above
    report.status, report.reason = _describe(ref_side, cur_side, labels, reference, current)
    return report


def significance_counts(kind: str, labels: list[str], current: np.ndarray, reference: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The counts the G-test sees: bins that are empty in the reference by construction pooled with a neighbour.

    The reference's minimum and maximum define the outer bins of a numeric
    column, so the reference never falls there while a fresh current sample
    does (about ``2·m/n`` values); unseen categories are likewise new by
    construction. Tested as they are, they would make noise look significant,
    so the outer bins join the first and last interior bins and ``(unseen)``
    joins ``(other)`` (when there is one). A constant reference (one interior
    bin) keeps its outer bins: a fresh sample of it is constant too. The
    metric keeps every bin.

    >>> significance_counts("numeric", ["< 0", "[0, 1)", "[1, 2]", "> 2", "(missing)"], np.array([1, 5, 5, 2, 0]), np.array([0, 6, 6, 0, 1]))
    (array([6, 7, 0]), array([6, 6, 1]))
    """
    current, reference = current.copy(), reference.copy()
    if kind == "numeric" and len(labels) > 4:
        keep = np.ones(len(labels), dtype=bool)
        for outer, inner in ((0, 1), (len(labels) - 2, len(labels) - 3)):
            current[inner] += current[outer]
            reference[inner] += reference[outer]
            keep[outer] = False
        return current[keep], reference[keep]
    if kind == "categorical" and OTHER in labels:
        other, unseen = labels.index(OTHER), labels.index(UNSEEN)
        current[other] += current[unseen]
        reference[other] += reference[unseen]
        keep = np.arange(len(labels)) != unseen
        return current[keep], reference[keep]
    return current, reference


def _describe(ref_side: ColumnCounts, cur_side: ColumnCounts, labels: list[str], reference: Counts, current: Counts) -> tuple[str, str]:
    """Status and reason of a compared column: ``all_missing`` and ``constant`` references, an all-missing current."""
    if ref_side.values == 0:
        return "all_missing", f"no values in {reference.source}: compared by the share of missing cells"
    if ref_side.kind == "numeric" and (edges := ref_side.numeric_edges()).size and np.nextafter(edges[0], np.inf) == edges[-1]:
        return (
            "constant",
            f"one value in {reference.source} ({format_value(edges[0], ref_side.temporal)}): compared as below / equal / above it",
        )
    if ref_side.kind == "categorical" and len(ref_side.category_counts().counts) == 1:
        return "constant", f"one category in {reference.source} ({next(iter(ref_side.category_counts().counts))})"
    if cur_side.values == 0:
        return "compared", f"no values in {current.source}: its missing share changed"
    return "compared", ""


def column_bins(
    reference: ColumnCounts, current: ColumnCounts, max_categories: int | None = None
) -> tuple[list[str], np.ndarray, np.ndarray, dict | None]:
    """The labelled bins one column is compared on: labels, both count vectors (missing last), unseen categories."""
    if reference.kind == "numeric":
        edges, ref_counts, cur_counts = reference.numeric_edges(), reference.numeric_bins(), current.numeric_bins()
        if reference.coarse_edges is not None and effective_rows(ref_counts.sum(), cur_counts.sum()) < AUTO_DECILE_ROWS:
            coarse = reference.coarse_edges
            ref_counts, cur_counts, edges = coarsen_counts(edges, ref_counts, coarse), coarsen_counts(edges, cur_counts, coarse), coarse
        return bin_labels(edges, reference.temporal), ref_counts, cur_counts, None
    rows = effective_rows(reference.rows, current.rows)
    return category_bins(reference.category_counts(), current.category_counts(), max_categories or default_category_limit(rows))


def column_report(
    plan: ColumnPlan, labels: list[str], reference: np.ndarray, current: np.ndarray, *, top: int = 3, unseen: dict | None = None
) -> ColumnReport:
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
        {
            "bin": labels[i],
            "reference_share": reference[i] / ref_total,
            "current_share": current[i] / cur_total,
            "contribution": float(contributions[i]),
        }
        for i in order
    ]
    unseen = unseen or {}
    listed = sorted(unseen, key=lambda label: (-unseen[label], label))[:MAX_UNSEEN_LISTED]
    return ColumnReport(
        column=plan.column,
        kind=plan.kind,
        metric=plan.metric,
        value=value,
        threshold=plan.threshold,
        bins=len(labels),
        reference_rows=ref_total,
        current_rows=cur_total,
        reference_missing_rate=reference[-1] / ref_total,
        current_missing_rate=current[-1] / cur_total,
        top_contributors=contributors,
        unseen_categories=listed if plan.kind == "categorical" else None,
        unseen_count=len(unseen),
        current_unseen_rate=sum(unseen.values()) / cur_total,
        histogram={"labels": list(labels), "reference": reference, "current": current, "contributions": contributions},
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
