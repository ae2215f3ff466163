"""What ``klcli drift`` was asked to do: options, the ``drift.toml`` config, and the column plans.

>>> check_metric("psi"), check_threshold(0.2)
('psi', 0.2)
>>> column_metric("age", DriftOptions(config={"columns": {"age": {"metric": "psi"}}}))
('psi', 0.2)
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from klcli.drift.binning import parse_bins
from klcli.drift.metrics import DEFAULT_METRIC, DEFAULT_THRESHOLDS, METRICS
from klcli.errors import InputError, UsageError

KINDS = ("numeric", "categorical")
CONFIG_KEYS = {"metric", "threshold", "bins", "max_categories", "columns"}
COLUMN_CONFIG_KEYS = {"metric", "threshold", "kind"}
#: An integer column with at most this many distinct values in the reference is categorical.
MAX_INTEGER_CATEGORIES = 20


@dataclass
class DriftOptions:
    """What ``klcli drift`` was asked to do; ``None`` means "from the config, else the default"."""

    columns: list[str] | None = None
    exclude: list[str] = field(default_factory=list)
    categorical: list[str] = field(default_factory=list)
    numeric: list[str] = field(default_factory=list)
    bins: str | None = None
    metric: str | None = None
    threshold: float | None = None
    max_categories: int | None = None
    config: dict = field(default_factory=dict)
    config_name: str = "config"
    top: int = 3

    @property
    def bins_text(self) -> str:
        """``--bins``, else the config's ``bins``, else ``auto``."""
        return self.bins if self.bins is not None else self.config.get("bins", "auto")

    @property
    def category_limit(self) -> int | None:
        """``--max-categories``, else the config's; None: chosen from the row counts."""
        return self.max_categories or self.config.get("max_categories")


def load_config(path: str) -> dict:
    """Read and validate a ``drift.toml``.

    Top-level keys ``metric``, ``threshold``, ``bins``, ``max_categories``,
    and one table per column ``[columns.NAME]`` with ``metric``,
    ``threshold`` and ``kind``. Unknown keys are errors (typos would
    otherwise pass silently).
    """
    import tomllib

    try:
        with open(path, "rb") as handle:
            config = tomllib.load(handle)
    except FileNotFoundError:
        raise InputError(f"{path}: no such file") from None
    except OSError as error:
        raise InputError(f"{path}: cannot read: {error.strerror or error}") from None
    except tomllib.TOMLDecodeError as error:
        raise InputError(f"{path}: not valid TOML: {error}") from None
    _check_keys(config, CONFIG_KEYS, f"{path}")
    _check_setting(config, path)
    columns = config.get("columns", {})
    if not isinstance(columns, dict):
        raise InputError(f"{path}: `columns` must be a table of [columns.NAME] tables")
    for name, settings in columns.items():
        where = f"{path}: [columns.{name}]"
        if not isinstance(settings, dict):
            raise InputError(f"{where} must be a table")
        _check_keys(settings, COLUMN_CONFIG_KEYS, where)
        _check_setting(settings, where)
        if "kind" in settings and settings["kind"] not in KINDS:
            raise InputError(f"{where}: `kind` must be numeric or categorical, not {settings['kind']!r}")
    return config


def _check_keys(table: dict, allowed: set, where: str) -> None:
    unknown = sorted(set(table) - allowed)
    if unknown:
        raise InputError(f"{where}: unknown key {unknown[0]!r} (known: {', '.join(sorted(allowed))})")


def _check_setting(table: dict, where: str) -> None:
    if "metric" in table:
        check_metric(table["metric"], where=f"{where}: `metric`")
    if "threshold" in table:
        check_threshold(table["threshold"], where=f"{where}: `threshold`")
    if "bins" in table:
        parse_bins(table["bins"])
    if "max_categories" in table and (not isinstance(table["max_categories"], int) or table["max_categories"] < 1):
        raise InputError(f"{where}: `max_categories` must be a positive integer")


def check_metric(metric: Any, *, where: str = "`--metric`") -> str:
    """Validate a metric name."""
    if metric not in METRICS:
        raise UsageError(f"{where} must be one of {', '.join(METRICS)}, not {metric!r}")
    return metric


def check_threshold(threshold: Any, *, where: str = "`--threshold`") -> float:
    """Validate a threshold: a finite number >= 0."""
    if isinstance(threshold, bool) or not isinstance(threshold, (int, float)) or not math.isfinite(threshold) or threshold < 0:
        raise UsageError(f"{where} must be a finite number >= 0, not {threshold!r}")
    return float(threshold)


def column_metric(name: str, options: DriftOptions) -> tuple[str, float]:
    """The metric and threshold of one column: its config table, else the options, else the defaults.

    The config's top-level threshold goes with the config's metric; a metric
    chosen without a threshold gets its default threshold.
    """
    config = options.config
    global_metric = check_metric(options.metric) if options.metric is not None else config.get("metric", DEFAULT_METRIC)
    global_threshold = options.threshold
    if global_threshold is None and global_metric == config.get("metric", DEFAULT_METRIC):
        global_threshold = config.get("threshold")
    if global_threshold is not None:
        check_threshold(global_threshold)
    settings = config.get("columns", {}).get(name, {})
    metric = settings.get("metric", global_metric)
    if "threshold" in settings:
        threshold = settings["threshold"]
    elif metric == global_metric and global_threshold is not None:
        threshold = global_threshold
    else:
        threshold = DEFAULT_THRESHOLDS[metric]
    return metric, float(threshold)


@dataclass(frozen=True)
class ColumnPlan:
    """How one column is checked. ``kind`` is ``integer`` until the reference's first pass decides."""

    column: str
    kind: str
    metric: str
    threshold: float


def plan_columns(reference, current, options: DriftOptions) -> list[ColumnPlan]:
    """Choose the columns, their kinds, metrics and thresholds; validate every name.

    Kinds: ``--categorical``/``--numeric``/config ``kind`` first; otherwise
    floating, temporal and decimal columns are numeric, integer columns are
    decided after pass 1 (categorical when the reference has at most
    :data:`MAX_INTEGER_CATEGORIES` distinct values), and text, booleans and
    everything else are categorical.
    """
    from klcli.tables import is_integer_type, is_numeric_type

    config = options.config
    ref_cols, cur_cols = reference.columns, current.columns
    known = set(ref_cols) | set(cur_cols)
    for flag, names in (("--exclude", options.exclude), ("--categorical", options.categorical), ("--numeric", options.numeric)):
        for name in names:
            if name not in known:
                raise UsageError(f"`{flag}`: no column {name!r} in {reference.name} or {current.name}")
    for name in config.get("columns", {}):
        if name not in known:
            raise UsageError(f"{options.config_name}: [columns.{name}]: no column {name!r} in {reference.name} or {current.name}")
    both = set(options.categorical) & set(options.numeric)
    if both:
        raise UsageError(f"column {sorted(both)[0]!r} is given both --categorical and --numeric")
    if options.columns is not None:
        selected = [c for c in dict.fromkeys(options.columns) if c not in options.exclude]
    else:
        selected = [c for c in ref_cols if c not in options.exclude] + [c for c in cur_cols if c not in ref_cols and c not in options.exclude]
    if not selected:
        raise UsageError("no columns left to check")
    for name in selected:
        for table, cols, other in ((reference, ref_cols, current), (current, cur_cols, reference)):
            if name not in cols:
                found = f"it is in {other.name} only" if name in other.columns else "nor in the other table"
                raise InputError(f"{table.name}: no column {name!r} ({found}; choose columns with --columns or --exclude)")
    plans = []
    for name in selected:
        metric, threshold = column_metric(name, options)
        settings = config.get("columns", {}).get(name, {})
        kind = "categorical" if name in options.categorical else "numeric" if name in options.numeric else settings.get("kind")
        if kind is None:
            kind_type = reference.type_of(name)
            kind = "integer" if is_integer_type(kind_type) else "numeric" if is_numeric_type(kind_type) else "categorical"
        plans.append(ColumnPlan(name, kind, metric, threshold))
    return plans
