"""``check_drift``: two tables in, a report out: plan the columns, count both tables, compare the counts."""

from __future__ import annotations

import numpy as np

from klcli.drift.binning import parse_bins
from klcli.drift.compare import compare
from klcli.drift.engines import local
from klcli.drift.options import DriftOptions, plan_columns
from klcli.drift.report import DriftReport


def check_drift(reference, current, options: DriftOptions | None = None) -> DriftReport:
    """Check every selected column of ``current`` against ``reference``.

    Parameters
    ----------
    reference, current : klcli.tables.Table
        The tables; the reference defines the bins.
    options : DriftOptions
        Columns, kinds, bins, metrics, thresholds (defaults: every column,
        ``--bins auto``, ``js_distance`` at 0.1).

    Examples
    --------
    >>> import io
    >>> from klcli.tables import open_table
    >>> ref = open_table("-", stdin=io.BytesIO(b"colour\\n" + b"red\\n" * 80 + b"blue\\n" * 20))
    >>> cur = open_table("-", stdin=io.BytesIO(b"colour\\n" + b"red\\n" * 50 + b"blue\\n" * 50))
    >>> report = check_drift(ref, cur)
    >>> report.drifted, round(report.columns[0].value, 4)
    (True, 0.2704)
    """
    options = options or DriftOptions()
    rule = parse_bins(options.bins_text, limit=options.bin_limit)
    plans = plan_columns(reference, current, options)
    with np.errstate(all="ignore"):  # ±inf, empty and constant columns are handled, not warned about
        reference_counts = local.count_reference(reference, plans, rule)
        current_counts = local.count_current(current, plans, reference_counts)
        return compare(reference_counts, current_counts, options)
