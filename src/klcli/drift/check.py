"""``check_drift``: two tables in, a report out: plan the columns, count both tables, compare the counts.

The flow itself is :func:`klcli.drift.sides.check_sides`, which also takes profiles and other engines.
"""

from __future__ import annotations

from klcli.drift.options import DriftOptions
from klcli.drift.report import DriftReport
from klcli.drift.sides import check_sides


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
    return check_sides(reference, current, options)
