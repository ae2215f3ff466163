"""What ``klcli drift`` was asked to do: options, the ``drift.toml`` config, and the column plans.

>>> check_metric("psi"), check_threshold(0.2)
('psi', 0.2)
>>> column_metric("age", DriftOptions(config={"columns": {"age": {"metric": "psi", "warn_above": 0.05}}}))
('psi', 0.1, 0.05)
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from klcli.drift.binning import BIN_LIMIT, parse_bins
from klcli.drift.metrics import DEFAULT_METRIC, DEFAULT_THRESHOLDS, METRICS
from klcli.errors import InputError, UsageError

KINDS = ("numeric", "categorical")
DEFAULT_ALPHA = 0.05
CONFIG_KEYS = {"metric", "threshold", "warn_above", "bins", "max_bins", "max_categories", "alpha", "include", "exclude", "columns"}
COLUMN_CONFIG_KEYS = {"metric", "threshold", "warn_above", "kind"}
#: Column kinds that are not counted: only in one table, or of a type that has no bins.
UNCOUNTED_KINDS = ("added", "removed", "unsupported")
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
    alpha: float | None = None
    significance: bool = True
    warn_above: float | None = None
    fail_if_count: int | None = None
    fail_if_share: float | None = None
    fail_on_schema: bool = False
    include: list[str] = field(default_factory=list)
    max_bins: int | None = None

    @property
    def bins_text(self) -> str:
        """``--bins``, else the config's ``bins``, else ``auto``."""
        return self.bins if self.bins is not None else self.config.get("bins", "auto")

    @property
    def bin_limit(self) -> int:
        """``--max-bins``, else the config's ``max_bins``, else :data:`~klcli.drift.binning.BIN_LIMIT`."""
        return self.max_bins or self.config.get("max_bins") or BIN_LIMIT

    @property
    def significance_level(self) -> float:
        """``--alpha``, else the config's ``alpha``, else 0.05."""
        return self.alpha if self.alpha is not None else self.config.get("alpha", DEFAULT_ALPHA)

    @property
    def excluded(self) -> list[str]:
        """``--exclude`` and the config's ``exclude``."""
        return list(self.exclude) + [c for c in self.config.get("exclude", []) if c not in self.exclude]

    @property
    def included(self) -> list[str]:
        """``--include`` and the config's ``include``: columns checked even when they look like identifiers."""
        return list(self.include) + [c for c in self.config.get("include", []) if c not in self.include]

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
    except UnicodeDecodeError as error:
        raise InputError(f"{path}: not UTF-8 text (byte 0x{error.object[error.start]:02x} at offset {error.start}); TOML files are UTF-8") from None
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
    if "warn_above" in table:
        check_threshold(table["warn_above"], where=f"{where}: `warn_above`")
    if "alpha" in table:
        check_alpha(table["alpha"], where=f"{where}: `alpha`")
    for key in ("include", "exclude"):
        if key in table and (not isinstance(table[key], list) or not all(isinstance(c, str) for c in table[key])):
            raise InputError(f"{where}: `{key}` must be a list of column names")
    if "max_bins" in table and (isinstance(table["max_bins"], bool) or not isinstance(table["max_bins"], int) or table["max_bins"] < 1):
        raise InputError(f"{where}: `max_bins` must be a positive integer")
    if "bins" in table:
        parse_bins(table["bins"], limit=table.get("max_bins", BIN_LIMIT))
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


def check_alpha(alpha: Any, *, where: str = "`--alpha`") -> float:
    """Validate a significance level: a number in (0, 1)."""
    if isinstance(alpha, bool) or not isinstance(alpha, (int, float)) or not 0 < alpha < 1:
        raise UsageError(f"{where} must be a number between 0 and 1, not {alpha!r}")
    return float(alpha)


def check_decision(threshold: Any, warn_above: Any, alpha: Any, fail_if_share: Any) -> None:
    """Validate the options of the drift decision that are given (None: not given), as the command names them.

    >>> check_decision(0.1, None, 0.05, 0.5)
    >>> check_decision(None, None, None, 2)
    Traceback (most recent call last):
    klcli.errors.UsageError: `--fail-if-share` must be a share in (0, 1], not 2
    """
    if threshold is not None:
        check_threshold(threshold)
    if warn_above is not None:
        check_threshold(warn_above, where="`--warn-above`")
    if alpha is not None:
        check_alpha(alpha)
    if fail_if_share is not None and not 0 < fail_if_share <= 1:
        raise UsageError(f"`--fail-if-share` must be a share in (0, 1], not {fail_if_share!r}")


def column_metric(name: str, options: DriftOptions) -> tuple[str, float | None, float | None]:
    """The metric, threshold and warning level of one column: its config table, else the options, else the defaults.

    The config's top-level threshold goes with the config's metric; a metric
    chosen without a threshold gets its default threshold (None for ``chi2``:
    the χ² critical value at ``--alpha``, known once the bins are).
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
    warn_above = settings.get("warn_above", options.warn_above if options.warn_above is not None else config.get("warn_above"))
    return metric, None if threshold is None else float(threshold), None if warn_above is None else float(warn_above)


@dataclass(frozen=True)
class ColumnPlan:
    """How one column is checked.

    ``kind`` is ``integer`` until the reference's first pass decides, or one
    of :data:`UNCOUNTED_KINDS` (then ``reason`` says why).
    """

    column: str
    kind: str
    metric: str
    threshold: float | None
    reason: str = ""


def plan_columns(reference, current, options: DriftOptions) -> list[ColumnPlan]:
    """Choose the columns, their kinds, metrics and thresholds; validate every name.

    Kinds: ``--categorical``/``--numeric``/config ``kind`` first; otherwise
    floating, temporal and decimal columns are numeric, integer columns are
    decided after pass 1 (categorical when the reference has at most
    :data:`MAX_INTEGER_CATEGORIES` distinct values), and text and booleans
    are categorical. A column in one table only is ``added`` or ``removed``;
    nested and binary columns are ``unsupported`` (reported, not counted).
    """
    from klcli.tables import is_integer_type, is_numeric_type

    config = options.config
    ref_cols, cur_cols = reference.columns, current.columns
    known = set(ref_cols) | set(cur_cols)
    excluded = options.excluded
    for flag, names in (
        ("--exclude", excluded),
        ("--include", options.included),
        ("--categorical", options.categorical),
        ("--numeric", options.numeric),
    ):
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
        for name in options.columns:
            if name not in known:
                raise UsageError(f"`--columns`: no column {name!r} in {reference.name} or {current.name}")
        selected = [c for c in dict.fromkeys(options.columns) if c not in excluded]
    else:
        selected = [c for c in ref_cols if c not in excluded] + [c for c in cur_cols if c not in ref_cols and c not in excluded]
    if not selected:
        raise UsageError("no columns left to check")
    plans = []
    for name in selected:
        metric, threshold, _ = column_metric(name, options)
        settings = config.get("columns", {}).get(name, {})
        kind = "categorical" if name in options.categorical else "numeric" if name in options.numeric else settings.get("kind")
        reason = ""
        if name not in ref_cols:
            kind, reason = "added", f"only in {current.name}"
        elif name not in cur_cols:
            kind, reason = "removed", f"only in {reference.name}"
        elif not (is_supported_type(reference.type_of(name)) and is_supported_type(current.type_of(name))):
            kind, reason = (
                "unsupported",
                f"type {reference.type_of(name)} in {reference.name}, {current.type_of(name)} in {current.name}: neither numbers nor categories",
            )
        elif kind is None:
            kind_type = reference.type_of(name)
            kind = "integer" if is_integer_type(kind_type) else "numeric" if is_numeric_type(kind_type) else "categorical"
        plans.append(ColumnPlan(name, kind, metric, threshold, reason))
    return plans


def is_supported_type(kind) -> bool:
    """Types a column can be binned or counted by category in: numbers, dates and times, text, booleans, null."""
    import pyarrow as pa

    from klcli.tables import is_numeric_type

    if pa.types.is_dictionary(kind):
        kind = kind.value_type
    return is_numeric_type(kind) or pa.types.is_string(kind) or pa.types.is_large_string(kind) or pa.types.is_boolean(kind) or pa.types.is_null(kind)
