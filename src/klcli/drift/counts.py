"""The counts object: exact counts of one table's columns on the reference's bins.

This is what every counting engine returns (:mod:`klcli.drift.engines`) and
all that the comparison (:func:`klcli.drift.compare.compare`) reads; a profile
(``klcli profile``) stores exactly this, no rows. Counts on fixed bins are
exact and add: the counts of a table are the sum of the counts of its parts
counted on the same bins.

Per column (:class:`ColumnCounts`):

- ``kind``: ``numeric`` or ``categorical`` (integer columns are settled on the
  reference: categorical up to 20 distinct values);
- numeric: ``edges`` (the interior bins ``[e[i], e[i+1])``, fitted on the
  reference, the last edge just above its maximum), ``coarse_edges`` (``--bins
  auto`` only: the subset of ``edges`` used when the tables are small, else
  None) and ``bins``, the int64 counts ``[underflow, interior..., overflow,
  missing]`` (``len(edges) + 2`` values, see :func:`~klcli.drift.binning.count_bins`);
- categorical: ``categories``, a :class:`CategoryCounts` holding the count of
  every category seen, by label (:func:`klcli.tables.category_label`:
  ``"3"`` for 3 and 3.0, ``"true"``/``"false"`` for booleans), and the
  missing count. Which categories are kept by name, pooled as ``(other)`` or
  reported as ``(unseen)`` is decided by the comparison, from both sides.

Also per column: ``temporal`` (the arrow type name of a date, timestamp or
time column, so that edges are shown as dates and times), ``all_distinct`` (reference only:
every value differs, as in an identifier), and ``status``/``reason`` when the
column was not counted (``absent`` from this table, ``unsupported`` type).
``sample`` is the one field a profile does not store: a uniform sample of the
column's finite values, kept by the local engine only for the metrics that
need values (``wasserstein``, ``ks``).

Every counted column of a table counts every row: ``ColumnCounts.rows``
(values plus missing) equals ``Counts.rows``.

>>> import numpy as np
>>> age = ColumnCounts("age", "numeric", edges=np.array([0.0, 30.0, 60.5]), bins=np.array([0, 4, 5, 1, 2]))
>>> colour = ColumnCounts("colour", "categorical", categories=CategoryCounts({"red": 8, "blue": 3}, missing=1))
>>> counts = Counts("today.csv", rows=12, columns={"age": age, "colour": colour})
>>> age.values, age.missing, colour.values, colour.missing
(10, 2, 11, 1)
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from klcli.drift.binning import BinRule


@dataclass
class CategoryCounts:
    """Counts of the categories of a column, by label, and of its missing cells (also a running total)."""

    counts: dict = field(default_factory=dict)
    missing: int = 0

    def add(self, counts: dict, missing: int) -> None:
        for label, n in counts.items():
            self.counts[label] = self.counts.get(label, 0) + n
        self.missing += missing

    @property
    def count(self) -> int:
        """Cells that are not missing."""
        return sum(self.counts.values())


@dataclass
class ColumnCounts:
    """Exact counts of one column: numeric bins on fixed edges, or categories (see the module docstring)."""

    column: str
    kind: str
    edges: np.ndarray | None = None
    coarse_edges: np.ndarray | None = None
    bins: np.ndarray | None = None
    categories: CategoryCounts | None = None
    temporal: str | None = None
    all_distinct: bool = False
    status: str | None = None
    reason: str = ""
    sample: np.ndarray | None = None

    @property
    def counted(self) -> bool:
        """True when the column holds counts (it is in the table, of a type that has bins)."""
        return self.status is None

    @property
    def values(self) -> int:
        """Cells that are not missing."""
        if self.kind == "numeric":
            return int(self.numeric_bins()[:-1].sum())
        return self.category_counts().count

    @property
    def missing(self) -> int:
        """Missing cells (NaN, null, empty)."""
        if self.kind == "numeric":
            return int(self.numeric_bins()[-1])
        return self.category_counts().missing

    def numeric_edges(self) -> np.ndarray:
        """The bin edges of a counted numeric column."""
        if self.edges is None:
            raise ValueError(f"column {self.column!r} has no bin edges ({self.status or self.kind})")
        return self.edges

    def numeric_bins(self) -> np.ndarray:
        """The bin counts of a counted numeric column (the last bin holds the missing cells)."""
        if self.bins is None:
            raise ValueError(f"column {self.column!r} has no bin counts ({self.status or self.kind})")
        return self.bins

    def category_counts(self) -> CategoryCounts:
        """The category counts of a counted categorical or integer column."""
        if self.categories is None:
            raise ValueError(f"column {self.column!r} has no category counts ({self.status or self.kind})")
        return self.categories

    @property
    def rows(self) -> int:
        """Every cell: values and missing."""
        return self.values + self.missing


@dataclass
class Counts:
    """Exact counts of the checked columns of one table (``source`` names it in messages).

    ``rule`` is the ``--bins`` rule the numeric edges were fitted with (the
    reference's, also on the counts of the current table).
    """

    source: str
    rows: int
    columns: dict[str, ColumnCounts]
    rule: BinRule | None = None
