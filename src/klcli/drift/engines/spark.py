"""The Spark engine: bin and count tables inside Spark, and hand the counts to the same comparison.

Nothing but counts leaves Spark: per table, one aggregation turns every cell
into ``(column, key)`` (the bin index of a numeric cell, the label of a
categorical one) and counts the pairs with a ``groupBy``; the driver collects
only those counts (bins plus distinct categories), never rows. The reference
costs two more passes to fit the bins: one aggregation for the minimum,
maximum and value count of each numeric column (and the distinct count of
integer columns, which decides their kind as the local engine does), and one
``approxQuantile`` (relative error :data:`QUANTILE_ERROR`) for quantile edges,
on a uniform sample of about ``2 * SAMPLE_ROWS`` rows as the local engine's
(all rows of smaller tables).

The bin of a value is :func:`klcli.drift.binning.count_bins`'s, as a
balanced ``CASE WHEN`` tree over the edges (``log2`` of the edges
comparisons per value): NaN and null are missing, below the first edge is
underflow, from the last edge up (``+inf`` too) is overflow. So on the same
edges (``klcli profile --edges-from``), Spark's counts equal the local
engine's to the last count. Its own edges come from ``approxQuantile``
instead of the local engine's sample, so they differ slightly.

Category labels are :func:`klcli.tables.category_label`'s: Spark casts the
value to text in the aggregation, and the driver turns floating-point text
back into the float it names (``1.0E-5`` is ``1e-05``, ``3.0`` is ``3``).

Tables: Parquet, CSV (header, types inferred by Spark), TSV and JSON-lines
paths, globs and folders, and tables of Spark's catalog (``--spark-table NAME``,
or ``table:NAME`` where a path goes).
The session is ``--spark-master`` (default ``local[*]``), or Spark Connect at
``SPARK_REMOTE``; an active session (a notebook) is reused, and under
``spark-submit`` its ``--master`` and ``--conf`` apply.
Date and time columns are not binned by this engine (their unit differs
between readers): exclude them or use the local engine.
"""

from __future__ import annotations

import glob
import math
import os
import shutil
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from klcli.drift.binning import AUTO_QUANTILES_SMALL, BinRule, fit_edges
from klcli.drift.counts import CategoryCounts, ColumnCounts, Counts
from klcli.drift.engines.local import IDENTIFIER_MIN_VALUES, SAMPLE_ROWS
from klcli.drift.options import MAX_INTEGER_CATEGORIES, UNCOUNTED_KINDS, ColumnPlan
from klcli.errors import EngineUnavailable, InputError, UsageError

#: Relative rank error of ``approxQuantile`` when quantile edges are fitted in Spark.
QUANTILE_ERROR = 1e-3
#: Spark's reader by file extension.
SPARK_FORMATS = {
    ".parquet": "parquet",
    ".pq": "parquet",
    ".csv": "csv",
    ".tsv": "tsv",
    ".tab": "tsv",
    ".json": "json",
    ".jsonl": "json",
    ".ndjson": "json",
}
EXTRA = "pip install 'klcli[spark]'"


# ---------------------------------------------------------------------------
# Session and tables


def spark_session(master: str | None = None):
    """The active Spark session, else a new one at ``master`` (default ``local[*]``) or at ``SPARK_REMOTE``.

    Raises :class:`EngineUnavailable` naming the extra when PySpark is not
    installed, and when Java is missing for a local JVM.
    """
    import warnings

    try:
        with warnings.catch_warnings():  # PySpark warns about the pandas version on import
            warnings.simplefilter("ignore", FutureWarning)
            from pyspark.sql import SparkSession
    except ImportError:
        raise EngineUnavailable(f"--engine spark needs PySpark: {EXTRA}") from None
    active = SparkSession.getActiveSession()
    if active is not None:
        return active
    remote = os.environ.get("SPARK_REMOTE")
    if not (remote and master is None) and not _java_found():
        raise EngineUnavailable(
            "--engine spark needs Java 17 for Spark, but `java` is not on PATH and JAVA_HOME is not set (e.g. apt-get install openjdk-17-jre-headless)"
        )
    builder = SparkSession.builder.appName("klcli")
    if remote and master is None:
        builder = builder.remote(remote)
    elif master is None and "PYSPARK_GATEWAY_PORT" in os.environ:
        pass  # under spark-submit: its --master and --conf apply
    else:
        builder = builder.master(master or "local[*]").config("spark.ui.showConsoleProgress", "false")
        if (master or "local").startswith("local"):
            builder = builder.config("spark.ui.enabled", "false").config("spark.sql.shuffle.partitions", "8")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", FutureWarning)
            session = builder.getOrCreate()
    except Exception as error:  # the JVM did not start, the master is unreachable...
        raise EngineUnavailable(f"--engine spark: Spark did not start: {_first_line(error)}") from None
    if not remote:
        session.sparkContext.setLogLevel("ERROR")
    return session


def _java_found() -> bool:
    home = os.environ.get("JAVA_HOME")
    return shutil.which("java") is not None or bool(home and os.path.exists(os.path.join(home, "bin", "java")))


@dataclass
class SparkTable:
    """A Spark DataFrame with the little of a :class:`klcli.tables.Table` that planning needs."""

    name: str
    frame: Any
    row_count: int | None = None

    @property
    def columns(self) -> list[str]:
        return list(self.frame.columns)

    def type_of(self, column: str):
        """The pyarrow type that plans the column as the local engine would plan it."""
        return _arrow_type(self.frame.schema[column].dataType)

    def spark_type(self, column: str) -> str:
        return self.frame.schema[column].dataType.typeName()


def open_tables(paths: list[str], *, spark_tables: Sequence[str] = (), master: str | None = None) -> SparkTable:
    """Paths (files, folders, globs, URIs) and catalog tables, read as one Spark table.

    A path ``table:NAME`` is the table NAME of Spark's catalog, as ``--spark-table NAME``.
    """
    if "-" in paths:
        raise UsageError("--engine spark reads paths and --spark-table, not standard input")
    spark_tables = [*spark_tables, *(p.removeprefix("table:") for p in paths if p.startswith("table:"))]
    paths = [p for p in paths if not p.startswith("table:")]
    for path in paths:
        if "://" not in path and not glob.glob(path):
            raise InputError(f"{path}: no such file or directory")
    spark = spark_session(master)
    frames = []
    for fmt, group in _by_format(paths).items():
        reader = spark.read
        if fmt in ("csv", "tsv"):
            reader = reader.option("header", True).option("inferSchema", True).option("sep", "\t" if fmt == "tsv" else ",")
        frames.append(
            (
                ", ".join(group),
                _guard(", ".join(group), lambda reader=reader, fmt=fmt, group=group: reader.format("csv" if fmt == "tsv" else fmt).load(group)),
            )
        )
    for name in spark_tables:
        frames.append((f"table:{name}", _guard(f"table:{name}", lambda name=name: spark.table(name))))
    first_name, frame = frames[0]
    for name, other in frames[1:]:
        if set(other.columns) != set(frame.columns):
            missing = sorted(set(frame.columns) ^ set(other.columns))[0]
            raise InputError(f"{name}: not the columns of {first_name} (column {missing!r} is in only one)")
        frame = frame.unionByName(other)
    sources = paths + [f"table:{n}" for n in spark_tables]
    return SparkTable(" + ".join(sources) if len(sources) <= 3 else f"{sources[0]} + {len(sources) - 1} more", frame)


def _by_format(paths: list[str]) -> dict[str, list[str]]:
    groups: dict[str, list[str]] = {}
    for path in paths:
        groups.setdefault(_spark_format(path), []).append(path)
    return groups


def _spark_format(path: str) -> str:
    """Spark's reader for a path: by extension; a folder by the files in it; else Parquet."""
    ext = os.path.splitext(path.rstrip("/"))[1].lower()
    if ext in SPARK_FORMATS:
        return SPARK_FORMATS[ext]
    if os.path.isdir(path):
        for name in sorted(os.listdir(path)):
            found = SPARK_FORMATS.get(os.path.splitext(name)[1].lower())
            if found:
                return found
    return "parquet"


def _guard(name: str, action):
    """Run a Spark action; its errors become one :class:`InputError` line naming the table."""
    try:
        return action()
    except Exception as error:
        if type(error).__name__ not in (
            "AnalysisException",
            "Py4JJavaError",
            "IllegalArgumentException",
            "SparkRuntimeException",
            "NumberFormatException",
            "SparkNumberFormatException",
            "PythonException",
            "SparkConnectGrpcException",
        ) and not _is_spark_error(error):
            raise
        text = _first_line(error)
        if "PATH_NOT_FOUND" in text or "Path does not exist" in text:
            raise InputError(f"{name}: no such file or directory (Spark: {text})") from None
        if "TABLE_OR_VIEW_NOT_FOUND" in text:
            raise InputError(f"{name}: no such table in Spark's catalog") from None
        raise InputError(f"{name}: Spark could not read it: {text}") from None


def _is_spark_error(error: Exception) -> bool:
    try:
        from pyspark.errors import PySparkException
    except ImportError:
        return False
    return isinstance(error, PySparkException)


def _first_line(error: Exception) -> str:
    """The line of a Spark error that says what went wrong (not py4j's "An error occurred while calling ...")."""
    lines = [line.strip().lstrip(": ") for line in str(error).strip().splitlines() if line.strip()]
    lines = [line for line in lines if not line.startswith("An error occurred while calling")] or lines
    return lines[0][:300] if lines else type(error).__name__


# ---------------------------------------------------------------------------
# Counting


def count_reference(table: SparkTable, plans: list[ColumnPlan], rule: BinRule) -> Counts:
    """Fit the bins on the reference in Spark (statistics, then ``approxQuantile``) and count it on them."""
    from pyspark.sql import functions as F

    order = [p.column for p in plans]
    uncounted = [p for p in plans if p.kind in UNCOUNTED_KINDS]
    plans = [p for p in plans if p.kind not in UNCOUNTED_KINDS]
    _check_plans(table, plans)
    if rule.method not in ("quantile", "width", "sturges"):
        raise UsageError(
            f"--engine spark fits auto, N, quantile:N and sturges bins, not {rule.method}: profile the reference with the local engine, then count in Spark with --edges-from"
        )
    measured = [p for p in plans if p.kind in ("numeric", "integer")]
    aggregates = []
    for plan in measured:
        finite = _finite(table, plan.column)  # as the local engine: ±inf fall in the outer bins, not in the range
        aggregates += [F.min(finite), F.max(finite), F.count(_number(table, plan.column))]
        if _is_integer(table, plan.column):  # the kind of an integer column, and the identifier check
            aggregates.append(F.count_distinct(F.col(plan.column)))
    aggregates.append(F.count(F.lit(1)))
    row = _guard(table.name, lambda: table.frame.agg(*aggregates).collect()[0])
    values = list(row)
    total = values[-1]
    stats, settled, distinct = {}, [], {}
    for plan in measured:
        low, high, count = values[:3]
        del values[:3]
        different = values.pop(0) if _is_integer(table, plan.column) else None
        kind = "numeric"
        if plan.kind == "integer":
            assert different is not None, "an integer plan is of an integer column, whose distinct values are counted"
            kind = "categorical" if different <= MAX_INTEGER_CATEGORIES else "numeric"
        if different is not None:
            distinct[plan.column] = count >= IDENTIFIER_MIN_VALUES and different == count
        # no finite value: one bin for every value, as the local engine
        stats[plan.column] = (None if low is None else float(low), None if high is None else float(high), int(count)) if kind == "numeric" else None
        settled.append(ColumnPlan(plan.column, kind, plan.metric, plan.threshold))
    kinds = {p.column: p.kind for p in plans} | {p.column: p.kind for p in settled}
    numeric = [name for name in kinds if kinds[name] == "numeric"]
    edges, coarse = _fit(table, rule, numeric, stats, total)
    bins, categories, rows = _count(table, {name: edges[name] for name in numeric}, [n for n in kinds if kinds[n] == "categorical"])
    columns = {
        name: ColumnCounts(name, "numeric", edges=edges[name], coarse_edges=coarse[name], bins=bins[name], all_distinct=distinct.get(name, False))
        if kinds[name] == "numeric"
        else ColumnCounts(name, "categorical", categories=categories[name], all_distinct=_all_distinct(categories[name]))
        for name in kinds
    }
    columns |= {p.column: ColumnCounts(p.column, p.kind, status=p.kind, reason=p.reason) for p in uncounted}
    return Counts(table.name, rows, {name: columns[name] for name in order}, rule)


def count_current(table: SparkTable, plans: list[ColumnPlan], reference: Counts) -> Counts:
    """Count ``table`` on the bins of ``reference``: one aggregation."""
    counted = {plan.column: reference.columns[plan.column] for plan in plans if reference.columns[plan.column].counted}
    _check_plans(table, [plan for plan in plans if plan.column in counted])
    edges = {name: c.edges for name, c in counted.items() if c.kind == "numeric"}
    categorical = [name for name, c in counted.items() if c.kind == "categorical"]
    bins, categories, rows = _count(table, edges, categorical)
    columns = {
        plan.column: reference.columns[plan.column]
        if plan.column not in counted  # a status: as the reference has it
        else ColumnCounts(
            plan.column,
            "numeric",
            edges=counted[plan.column].edges,
            coarse_edges=counted[plan.column].coarse_edges,
            bins=bins[plan.column],
            temporal=counted[plan.column].temporal,
        )
        if counted[plan.column].kind == "numeric"
        else ColumnCounts(plan.column, "categorical", categories=categories[plan.column])
        for plan in plans
    }
    return Counts(table.name, rows, columns, reference.rule)


def _check_plans(table: SparkTable, plans: list[ColumnPlan]) -> None:
    for plan in plans:
        if plan.kind != "categorical" and table.spark_type(plan.column) in ("date", "timestamp", "timestamp_ntz"):
            raise UsageError(
                f"--engine spark does not bin date and time columns ({plan.column!r}): leave it out (--exclude {plan.column}) or use the local engine"
            )


def _fit(table: SparkTable, rule: BinRule, numeric: list[str], stats: dict, rows: int) -> tuple[dict, dict]:
    """Edges (and ``--bins auto``'s coarse edges) of the numeric columns, from Spark's statistics."""
    edges: dict[str, np.ndarray] = {}
    coarse: dict[str, np.ndarray | None] = {}
    empty = [name for name in numeric if stats[name][0] is None]
    for name in empty:  # no finite value: one bin for every value, as the local engine
        edges[name], coarse[name] = np.empty(0), None
    numeric = [name for name in numeric if name not in empty]
    if rule.method != "quantile":
        for name in numeric:
            low, high, count = stats[name]
            edges[name], coarse[name] = fit_edges(rule, np.empty(0), minimum=low, maximum=high, count=count), None
        return edges, coarse
    assert rule.count is not None, "a quantile rule has a count of bins"
    probabilities = np.linspace(0.0, 1.0, rule.count + 1)[1:-1].tolist()
    quantiles: list[list[float]] = [[] for _ in numeric]
    if probabilities and numeric:
        frame = table.frame.select(*[_finite(table, name).alias(f"c{i}") for i, name in enumerate(numeric)])
        fraction = 2.0 * SAMPLE_ROWS / max(rows, 1)
        if fraction < 1.0:  # as the local engine, quantiles from a uniform sample of rows
            frame = frame.sample(withReplacement=False, fraction=fraction, seed=0)
        quantiles = _guard(table.name, lambda: frame.approxQuantile([f"c{i}" for i in range(len(numeric))], probabilities, QUANTILE_ERROR))
    for name, inner in zip(numeric, quantiles):
        low, high, _ = stats[name]
        points = np.concatenate([[low], np.asarray(inner, dtype=np.float64), [np.nextafter(high, np.inf)]])
        edges[name] = np.unique(points)
        coarse[name] = np.unique(points[:: rule.count // AUTO_QUANTILES_SMALL]) if rule.adaptive else None
    return edges, coarse


def _count(table: SparkTable, edges: dict, categorical: list[str]) -> tuple[dict, dict, int]:
    """One aggregation: ``(column, bin, label)`` cells counted (the bin index of a numeric cell, the label of a categorical one)."""
    from pyspark.sql import functions as F

    names = list(edges) + categorical
    no_bin, no_label = F.lit(None).cast("int"), F.lit(None).cast("string")
    items = [
        F.struct(F.lit(i).alias("c"), _bucket(_number(table, name), edges[name]).alias("b"), no_label.alias("v")) for i, name in enumerate(edges)
    ]
    items += [F.struct(F.lit(len(edges) + j).alias("c"), no_bin.alias("b"), _label(table, name).alias("v")) for j, name in enumerate(categorical)]
    cells = table.frame.select(F.explode(F.array(*items)).alias("x")).select("x.c", "x.b", "x.v")
    counted = _guard(table.name, lambda: cells.groupBy("c", "b", "v").count().collect())
    bins = {name: np.zeros(len(e) + 2, dtype=np.int64) for name, e in edges.items()}
    labels: dict[str, dict] = {name: {} for name in categorical}
    for column, bin_index, label, n in counted:
        name = names[column]
        if name in bins:
            bins[name][bin_index] += n
        else:
            labels[name][label] = labels[name].get(label, 0) + n
    categories = {name: _category_counts(labels[name], table.spark_type(name)) for name in categorical}
    if not names:
        return bins, categories, _guard(table.name, table.frame.count)
    first = names[0]
    rows = int(bins[first].sum()) if first in bins else categories[first].count + categories[first].missing
    return bins, categories, rows


def _number(table: SparkTable, column: str):
    """A column as double, NaN as null (what :func:`klcli.tables.numeric_values` reads, NaN for null)."""
    from pyspark.sql import functions as F

    value = F.col(column).cast("double")
    return F.nanvl(value, F.lit(None).cast("double"))


def _finite(table: SparkTable, column: str):
    """A column as double, NaN and ±inf as null: the values the edges are fitted on (as the local engine's sample)."""
    from pyspark.sql import functions as F

    value = _number(table, column)
    return F.when(F.abs(value) == F.lit(float("inf")), F.lit(None).cast("double")).otherwise(value)


def _is_integer(table: SparkTable, column: str) -> bool:
    return table.spark_type(column) in ("byte", "short", "integer", "long")


def _all_distinct(categories: CategoryCounts) -> bool:
    """The local engine's identifier check of a categorical column: every value differs, at least 20 of them."""
    return categories.count >= IDENTIFIER_MIN_VALUES and len(categories.counts) == categories.count


def _bucket(value, edges: np.ndarray):
    """The bin index of :func:`~klcli.drift.binning.count_bins`: how many edges are <= value; null is missing."""
    from pyspark.sql import functions as F

    def below(lo: int, hi: int):  # edges[:lo] <= value < edges[hi:]
        if lo == hi:
            return F.lit(lo)
        mid = (lo + hi) // 2
        return F.when(value >= F.lit(float(edges[mid])), below(mid + 1, hi)).otherwise(below(lo, mid))

    return F.when(value.isNull(), F.lit(len(edges) + 1)).otherwise(below(0, len(edges)))


def _label(table: SparkTable, column: str):
    """A category as text; floating point as double text, relabelled on the driver."""
    from pyspark.sql import functions as F

    kind = table.spark_type(column)
    value = F.col(column).cast("double") if kind in ("float", "double") else F.col(column)
    return value.cast("string")


def _category_counts(counts: dict, spark_type: str) -> CategoryCounts:
    """Labels of :func:`klcli.tables.category_label` from Spark's text (null and NaN are missing)."""
    from klcli.tables import category_label

    result = CategoryCounts()
    for text, n in counts.items():
        if text is None:
            result.missing += n
            continue
        if spark_type in ("float", "double"):
            value = float(text)
            if math.isnan(value):
                result.missing += n
                continue
            text = category_label(value)
        result.counts[text] = result.counts.get(text, 0) + n
    return result


def _arrow_type(kind):
    import pyarrow as pa

    name = kind.typeName()
    if name in ("byte", "short", "integer", "long"):
        return pa.int64()
    if name in ("float", "double"):
        return pa.float64()
    if name == "decimal":
        return pa.decimal128(kind.precision, kind.scale)
    if name == "boolean":
        return pa.bool_()
    if name == "date":
        return pa.date32()
    if name in ("timestamp", "timestamp_ntz"):
        return pa.timestamp("us")
    if name == "binary":  # nested and binary columns: unsupported, as in the local engine
        return pa.binary()
    if name == "array":
        return pa.list_(pa.field("element", _arrow_type(kind.elementType)))  # as Parquet names it
    if name == "map":
        return pa.map_(_arrow_type(kind.keyType), _arrow_type(kind.valueType))
    if name == "struct":
        return pa.struct([(field.name, _arrow_type(field.dataType)) for field in kind.fields])
    return pa.string()
