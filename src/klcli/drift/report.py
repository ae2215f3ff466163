"""Report objects: the verdict on each column and on the table, and their JSON records (SPEC.md's keys)."""

from __future__ import annotations

from dataclasses import dataclass

from klcli.drift.metrics import UNITS


@dataclass
class ColumnReport:
    """The verdict on one column, and what explains it."""

    column: str
    kind: str
    metric: str
    value: float
    threshold: float
    bins: int
    reference_rows: int
    current_rows: int
    reference_missing_rate: float
    current_missing_rate: float
    top_contributors: list[dict]
    unseen_categories: list[str] | None = None
    unseen_count: int = 0
    current_unseen_rate: float = 0.0

    @property
    def drifted(self) -> bool:
        """True when the value exceeds the threshold."""
        return self.value > self.threshold

    def record(self) -> dict:
        """The JSON object of one column: SPEC.md's keys first, then the details."""
        record = {
            "column": self.column, "kind": self.kind, "metric": self.metric, "value": self.value,
            "threshold": self.threshold, "drifted": self.drifted, "unit": UNITS[self.metric], "bins": self.bins,
            "reference_rows": self.reference_rows, "current_rows": self.current_rows,
            "reference_missing_rate": self.reference_missing_rate, "current_missing_rate": self.current_missing_rate,
            "top_contributors": self.top_contributors,
        }
        if self.kind == "categorical":
            record.update(unseen_categories=self.unseen_categories or [], unseen_count=self.unseen_count, current_unseen_rate=self.current_unseen_rate)
        return record


@dataclass
class DriftReport:
    """Every column's report, in the order the columns were checked."""

    columns: list[ColumnReport]

    @property
    def drifted(self) -> bool:
        """True when any column drifted."""
        return any(c.drifted for c in self.columns)

    def record(self) -> dict:
        """``{"drifted": bool, "columns": [...]}`` as SPEC.md prescribes."""
        return {"drifted": self.drifted, "columns": [c.record() for c in self.columns]}
