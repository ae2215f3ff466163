"""Report objects: the verdict on each column and on the table, and their JSON records (SPEC.md's keys).

A column **drifts** when its metric exceeds the threshold and the change is
significant (Holm-adjusted G-test p-value at most ``--alpha``; with
``--no-significance`` the threshold alone decides). **Severity**: ``drift``
for a drifted column (or a schema change under ``--fail-on-schema``);
``warn`` when the metric exceeds the threshold without being significant,
exceeds ``--warn-above``, or the column could not be compared (added,
removed, unsupported, unreadable, empty); else ``ok``. The table **drifted** when the
dataset rule holds: at least ``--fail-if-count`` columns (default 1) or a
share of at least ``--fail-if-share`` of the checked columns have severity
``drift``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from klcli.drift.metrics import UNITS

#: Statuses of columns that have a metric value; the others could not be compared.
COMPARED_STATUSES = ("compared", "constant", "all_missing")
#: Statuses that are worth a warning on their own.
WARN_STATUSES = ("added", "removed", "unsupported", "unreadable", "empty")


@dataclass
class ColumnReport:
    """The verdict on one column, and what explains it (``value`` is None when it could not be compared)."""

    column: str
    kind: str
    metric: str
    value: float | None
    threshold: float | None
    bins: int
    reference_rows: int
    current_rows: int
    reference_missing_rate: float | None
    current_missing_rate: float | None
    top_contributors: list[dict]
    unseen_categories: list[str] | None = None
    unseen_count: int = 0
    current_unseen_rate: float = 0.0
    status: str = "compared"
    reason: str = ""
    p_value: float | None = None
    p_value_method: str | None = None
    p_value_adjusted: float | None = None
    significant: bool | None = None
    noise_floor: float | None = None
    noise_floor_method: str | None = None
    warn_above: float | None = None
    schema_fails: bool = False
    #: Every bin: ``{"labels", "reference", "current", "contributions"}`` (counts, missing last), for
    #: pictures only (not in the record).
    histogram: dict | None = field(default=None, repr=False)

    @property
    def drifted(self) -> bool:
        """Metric above the threshold and significant (unless significance is off: ``significant`` None)."""
        if self.status in ("added", "removed"):
            return self.schema_fails
        exceeded = self.value is not None and self.threshold is not None and self.value > self.threshold
        return exceeded and self.significant is not False

    @property
    def severity(self) -> str:
        """``drift``, ``warn`` or ``ok`` (see the module docstring)."""
        if self.drifted:
            return "drift"
        if self.status in WARN_STATUSES:
            return "warn"
        if self.value is not None and (
            (self.threshold is not None and self.value > self.threshold) or (self.warn_above is not None and self.value > self.warn_above)
        ):
            return "warn"
        return "ok"

    def record(self) -> dict:
        """The JSON object of one column: SPEC.md's keys first, then the details."""
        record: dict[str, Any] = {
            "column": self.column,
            "kind": self.kind,
            "metric": self.metric,
            "value": self.value,
            "threshold": self.threshold,
            "drifted": self.drifted,
            "severity": self.severity,
            "status": self.status,
            "p_value": self.p_value,
            "noise_floor": self.noise_floor,
            "reason": self.reason,
            "p_value_method": self.p_value_method,
            "noise_floor_method": self.noise_floor_method,
            "p_value_adjusted": self.p_value_adjusted,
            "significant": self.significant,
            "warn_above": self.warn_above,
            "unit": UNITS[self.metric],
            "bins": self.bins,
            "reference_rows": self.reference_rows,
            "current_rows": self.current_rows,
            "reference_missing_rate": self.reference_missing_rate,
            "current_missing_rate": self.current_missing_rate,
            "top_contributors": self.top_contributors,
        }
        if self.kind == "categorical":
            record.update(
                unseen_categories=self.unseen_categories or [], unseen_count=self.unseen_count, current_unseen_rate=self.current_unseen_rate
            )
        return record


@dataclass
class DriftReport:
    """Every column's report, in the order the columns were checked, and the dataset rule."""

    columns: list[ColumnReport]
    fail_if_count: int | None = None
    fail_if_share: float | None = None
    warnings: list[str] = field(default_factory=list)

    @property
    def drifting(self) -> list[ColumnReport]:
        """The columns of severity ``drift``."""
        return [c for c in self.columns if c.severity == "drift"]

    @property
    def checked(self) -> int:
        """Columns with a metric value (the denominator of ``--fail-if-share``)."""
        return sum(c.value is not None for c in self.columns)

    @property
    def rule(self) -> str:
        """The dataset rule in words."""
        parts = []
        if self.fail_if_count is not None or self.fail_if_share is None:
            count = self.fail_if_count or 1
            parts.append("any column drifts" if count == 1 else f"at least {count} columns drift")
        if self.fail_if_share is not None:
            parts.append(f"at least {self.fail_if_share:.0%} of the checked columns drift")
        return " or ".join(parts)

    @property
    def drifted(self) -> bool:
        """True when the dataset rule holds."""
        count = len(self.drifting)
        by_count = (self.fail_if_count is not None or self.fail_if_share is None) and count >= (self.fail_if_count or 1)
        by_share = self.fail_if_share is not None and self.checked > 0 and count / self.checked >= self.fail_if_share
        return by_count or by_share

    def record(self) -> dict:
        """``{"drifted": bool, "columns": [...]}`` as SPEC.md prescribes, then the rule and warnings."""
        return {
            "drifted": self.drifted,
            "columns": [c.record() for c in self.columns],
            "drifted_columns": len(self.drifting),
            "checked_columns": self.checked,
            "rule": self.rule,
            "warnings": self.warnings,
        }
