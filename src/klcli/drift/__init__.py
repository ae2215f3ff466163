"""Column-by-column drift between a reference table and a current one (``klcli drift``).

Pure logic, no printing. The modules follow the flow:

1. :mod:`~klcli.drift.options`: what was asked (``DriftOptions``, ``drift.toml``), and
   :func:`plan_columns`: which columns, of which kind, with which metric and threshold;
2. :mod:`~klcli.drift.binning`: the bin rules, edges fitted on the reference, the bin of a value, labels;
3. :mod:`~klcli.drift.engines`: counting engines (:mod:`~klcli.drift.engines.local` streams the
   tables on this machine); each one turns a table into
4. :mod:`~klcli.drift.counts`: a :class:`Counts` object, exact counts per column on the reference's
   bins (what a profile stores);
5. :mod:`~klcli.drift.compare`: the pure comparison of two ``Counts`` with
   :mod:`~klcli.drift.metrics`, giving
6. :mod:`~klcli.drift.report`: the :class:`DriftReport` and its JSON record.

:mod:`~klcli.drift.profile` stores a ``Counts`` as a versioned JSON profile
(``klcli profile``), reads, validates and merges profiles;
:mod:`~klcli.drift.sides` runs drift where either side is a table or a profile.

:func:`check_drift` (:mod:`~klcli.drift.check`) runs the whole flow on two tables.

Examples
--------
>>> import numpy as np
>>> edges = fit_edges(parse_bins("quantile:4"), np.arange(100.0), minimum=0.0, maximum=99.0, count=100)
>>> count_bins(edges, np.array([-5.0, 10.0, 99.0, 150.0, np.nan])).tolist()
[1, 1, 0, 0, 1, 1, 1]
"""

from klcli.drift.binning import (
    BinRule,
    bin_labels,
    coarsen_counts,
    count_bins,
    default_category_limit,
    effective_rows,
    fit_edges,
    parse_bins,
)
from klcli.drift.check import check_drift
from klcli.drift.compare import category_bins, column_report, compare
from klcli.drift.counts import CategoryCounts, ColumnCounts, Counts
from klcli.drift.engines.local import RowSample
from klcli.drift.metrics import DEFAULT_METRIC, DEFAULT_THRESHOLDS, METRICS, SHARE_FLOOR, UNITS, metric_terms
from klcli.drift.profile import Profile, merge_profiles, read_profile, write_profile
from klcli.drift.sides import check_sides, profile_tables
from klcli.drift.options import ColumnPlan, DriftOptions, check_metric, check_threshold, load_config, plan_columns
from klcli.drift.report import ColumnReport, DriftReport

__all__ = [
    "BinRule",
    "CategoryCounts",
    "ColumnCounts",
    "ColumnPlan",
    "ColumnReport",
    "Counts",
    "DEFAULT_METRIC",
    "DEFAULT_THRESHOLDS",
    "DriftOptions",
    "DriftReport",
    "METRICS",
    "Profile",
    "RowSample",
    "SHARE_FLOOR",
    "UNITS",
    "bin_labels",
    "category_bins",
    "check_drift",
    "check_metric",
    "check_threshold",
    "coarsen_counts",
    "column_report",
    "compare",
    "count_bins",
    "default_category_limit",
    "effective_rows",
    "fit_edges",
    "load_config",
    "metric_terms",
    "parse_bins",
    "plan_columns",
    "check_sides",
    "merge_profiles",
    "profile_tables",
    "read_profile",
    "write_profile",
]
