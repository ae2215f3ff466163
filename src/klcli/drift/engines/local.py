"""The local engine: stream a table in batches and count its columns, several at once in threads.

Passes
------
1. The reference is streamed once: per numeric column the exact minimum,
   maximum and count, and a uniform sample of rows for the quantiles (all rows
   up to :data:`SAMPLE_ROWS` x 2, then a Bernoulli sample whose rate halves
   whenever it is full, so it holds between :data:`SAMPLE_ROWS` and twice as
   many rows); per categorical column the exact counts of every category.
   A Parquet reference of numeric columns with footer statistics is instead
   profiled from its footer and a few row groups (:func:`_profile_from_footer`).
2. Edges are fitted; the reference (numeric columns only) and the current
   table are streamed once more and counted by
   :func:`~klcli.drift.binning.count_bins`, several columns at once in threads.

Memory is bounded by one batch plus the samples, whatever the table size.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from klcli.drift.binning import BinRule, count_bins, fit_coarse_edges, fit_edges
from klcli.drift.counts import CategoryCounts, ColumnCounts, Counts
from klcli.drift.metrics import SAMPLE_METRICS
from klcli.drift.options import MAX_INTEGER_CATEGORIES, UNCOUNTED_KINDS, ColumnPlan
from klcli.errors import InputError

#: Rows of the reference sample from which quantile edges are fitted (exact up to twice this).
SAMPLE_ROWS = 250_000
#: Row groups a Parquet reference is sampled from at least (see ``_profile_from_footer``).
FOOTER_MIN_ROW_GROUPS = 3
#: A column whose reference values all differ looks like an identifier when it has at least this many.
IDENTIFIER_MIN_VALUES = 20


def count_reference(table, plans: list[ColumnPlan], rule: BinRule) -> Counts:
    """Fit the bins on the reference ``table`` and count it on them (passes 1 and 2)."""
    counted = [plan for plan in plans if plan.kind not in UNCOUNTED_KINDS]
    table = pin_types(table, counted)
    stats, categories, sample, rows, failed = _profile_reference(table, counted) if counted else ({}, {}, RowSample(), 0, {})
    counted = [_settle_integer_kind(plan, categories) for plan in counted if plan.column not in failed]
    edges: dict[str, np.ndarray] = {}
    coarse_edges: dict[str, np.ndarray | None] = {}
    for plan in (p for p in counted if p.kind == "numeric"):
        column_stats, values = stats[plan.column], sample.values(plan.column)
        if values.size == 0:  # no finite value: one bin for every value
            edges[plan.column], coarse_edges[plan.column] = np.empty(0), None
            continue
        edges[plan.column] = fit_edges(rule, values, minimum=column_stats.minimum, maximum=column_stats.maximum, count=column_stats.count)
        coarse_edges[plan.column] = fit_coarse_edges(rule, values, minimum=column_stats.minimum, maximum=column_stats.maximum)
    bins = _count_numeric(table, edges) if edges else {}
    columns = {}
    for plan in counted:
        temporal = _temporal(table, plan.column)
        if plan.kind == "numeric":
            values = sample.values(plan.column)
            integers = sample.integers(plan.column)
            distinct = integers is not None and integers.size >= IDENTIFIER_MIN_VALUES and np.unique(integers).size == integers.size
            kept = values if plan.metric in SAMPLE_METRICS else None
            columns[plan.column] = ColumnCounts(
                plan.column,
                "numeric",
                edges=edges[plan.column],
                coarse_edges=coarse_edges[plan.column],
                bins=bins[plan.column],
                temporal=temporal,
                all_distinct=bool(distinct),
                sample=kept,
            )
        else:
            found = categories[plan.column]
            distinct = found.count >= IDENTIFIER_MIN_VALUES and len(found.counts) == found.count
            columns[plan.column] = ColumnCounts(plan.column, "categorical", categories=found, all_distinct=distinct)
    for column, reason in failed.items():
        columns[column] = ColumnCounts(column, "numeric", status="unreadable", reason=reason)
    ordered = {plan.column: columns.get(plan.column) or _uncounted(plan) for plan in plans}
    return Counts(table.name, rows, ordered, rule)


def count_current(table, plans: list[ColumnPlan], reference: Counts) -> Counts:
    """Count ``table`` on the bins of ``reference`` (one pass)."""
    counted = [plan for plan in plans if reference.columns[plan.column].counted]
    table = pin_types(table, counted)
    edges = {plan.column: reference.columns[plan.column].edges for plan in counted if reference.columns[plan.column].kind == "numeric"}
    categorical = [plan.column for plan in counted if reference.columns[plan.column].kind == "categorical"]
    sampled = [name for name in edges if reference.columns[name].sample is not None]
    bins, categories, samples, rows, failed = (
        _count_current(table, [plan.column for plan in counted], edges, categorical, sampled) if counted else ({}, {}, {}, 0, {})
    )
    columns = {}
    for plan in plans:
        ref = reference.columns[plan.column]
        if not ref.counted:
            columns[plan.column] = ref
        elif plan.column in failed:
            columns[plan.column] = ColumnCounts(plan.column, ref.kind, status="unreadable", reason=failed[plan.column])
        elif ref.kind == "numeric":
            columns[plan.column] = ColumnCounts(
                plan.column,
                "numeric",
                edges=ref.edges,
                coarse_edges=ref.coarse_edges,
                bins=bins[plan.column],
                temporal=ref.temporal,
                sample=samples.get(plan.column),
            )
        else:
            columns[plan.column] = ColumnCounts(plan.column, "categorical", categories=categories[plan.column])
    return Counts(table.name, rows, columns, reference.rule)


def _uncounted(plan: ColumnPlan) -> ColumnCounts:
    return ColumnCounts(plan.column, plan.kind, status=plan.kind, reason=plan.reason)


def _temporal(table, column: str) -> str | None:
    import pyarrow as pa

    kind = table.type_of(column)
    return str(kind) if pa.types.is_date(kind) or pa.types.is_timestamp(kind) or pa.types.is_time(kind) else None


def pin_types(table, plans: list[ColumnPlan]):
    """Read forced-categorical numeric columns of text tables as text.

    Forced-numeric text columns stay text: :func:`klcli.tables.numeric_values`
    parses them, so a cell that is not a number makes that column
    ``unreadable`` instead of failing the reader for the whole table.
    """
    import pyarrow as pa

    from klcli.tables import is_numeric_type

    types = {plan.column: pa.string() for plan in plans if plan.kind == "categorical" and is_numeric_type(table.type_of(plan.column))}
    return table.with_column_types(types)


# ---------------------------------------------------------------------------
# Accumulators


class RowSample:
    """A uniform sample of rows kept in a bounded buffer (Bernoulli, rate halving when full).

    Each row is in the sample with the same probability ``rate``. It starts
    at 1, or at ``1.5 * capacity / expected_rows`` when the row count is known
    (Parquet); whenever the sample holds more than ``2 * capacity`` rows, the
    rate and the sample are halved. So the sample is uniform and holds at most
    ``2 * capacity`` rows, and all rows of a table of up to that many.
    """

    def __init__(self, capacity: int = SAMPLE_ROWS, *, expected_rows: int | None = None, seed: int = 0) -> None:
        self.capacity = capacity
        self.rate = 1.0 if not expected_rows or expected_rows <= 2 * capacity else 1.5 * capacity / expected_rows
        self.rng = np.random.default_rng(seed)
        self.parts: dict[str | tuple, list[np.ndarray]] = {}
        self.kept = 0

    def pick(self, n: int) -> np.ndarray | None:
        """Indices of a batch of ``n`` rows to keep, in order (None: all of them)."""
        if self.rate == 1.0:
            self.kept += n
            return None
        chosen = np.sort(self.rng.choice(n, self.rng.binomial(n, self.rate), replace=False))
        self.kept += chosen.size
        return chosen

    def add(self, column: str | tuple[str, str], values: np.ndarray) -> None:
        """Store the picked values of one column (the same rows for every column)."""
        self.parts.setdefault(column, []).append(values)

    def thin(self) -> None:
        """Halve the rate (and the sample) while it holds more than ``2 * capacity`` rows."""
        while self.kept > 2 * self.capacity:
            keep = self.rng.random(self.kept) < 0.5
            for column, parts in self.parts.items():
                self.parts[column] = [np.concatenate(parts)[keep]]
            self.kept = int(keep.sum())
            self.rate /= 2.0

    def integers(self, column: str) -> np.ndarray | None:
        """The sampled non-missing values of an integer column, exact (None when it is not one)."""
        parts = self.parts.get((column, "integers"))
        if parts is None:
            return None
        return np.concatenate(parts)[~np.isnan(np.concatenate(self.parts[column]))]

    def drop(self, column: str) -> None:
        """Forget a column (it could not be read)."""
        self.parts.pop(column, None)
        self.parts.pop((column, "integers"), None)

    def values(self, column: str) -> np.ndarray:
        """The sampled values of a column, without the missing and infinite ones."""
        values = np.concatenate(self.parts.get(column, [np.empty(0)]))
        return values[np.isfinite(values)]


@dataclass
class NumericStats:
    """Exact count and missing count of a numeric column, and the minimum and maximum of its finite values."""

    count: int = 0
    missing: int = 0
    minimum: float = math.inf
    maximum: float = -math.inf

    def add(self, values: np.ndarray) -> None:
        missing = int(np.count_nonzero(np.isnan(values)))
        self.missing += missing
        if missing < values.size:
            self.count += values.size - missing
            low, high = (np.nanmin(values), np.nanmax(values)) if missing else (values.min(), values.max())
            if not (math.isfinite(low) and math.isfinite(high)):  # ±inf fall in the outer bins, not in the range
                finite = values[np.isfinite(values)]
                low, high = (finite.min(), finite.max()) if finite.size else (math.inf, -math.inf)
            self.minimum = min(self.minimum, float(low))
            self.maximum = max(self.maximum, float(high))


# ---------------------------------------------------------------------------
# Passes


def _profile_reference(reference, plans: list[ColumnPlan]):
    """Pass 1: numeric statistics and row sample, category counts, integer distinct values, row count, unreadable columns."""
    from klcli.tables import category_counts, integer_values, is_integer_type, numeric_values

    footer = _profile_from_footer(reference, plans)
    if footer is not None:
        stats, categories, sample = footer
        first = next(iter(stats.values()))
        return stats, categories, sample, first.count + first.missing, {}
    stats = {p.column: NumericStats() for p in plans if p.kind in ("numeric", "integer")}
    categories = {p.column: CategoryCounts() for p in plans if p.kind in ("categorical", "integer")}
    sample = RowSample(expected_rows=reference.row_count)
    rows = 0
    failed: dict[str, str] = {}
    for first_row, batch in reference.batches([p.column for p in plans]):
        rows += batch.num_rows
        if batch.num_rows == 0:
            continue
        picked = sample.pick(batch.num_rows) if stats else None
        for plan in plans:
            if plan.column in failed:
                continue
            array = batch.column(plan.column)
            if plan.column in stats:
                try:
                    values = numeric_values(array, table=reference, column=plan.column, first_row=first_row)
                except InputError as error:  # a cell that is not a number: this column is unreadable, the others go on
                    failed[plan.column] = str(error)
                    sample.drop(plan.column)
                    continue
                stats[plan.column].add(values)
                sample.add(plan.column, values if picked is None else values[picked])
                if is_integer_type(array.type):  # exact integers for the identifier check (float64 merges them beyond 2**53)
                    integers = integer_values(array)
                    sample.add((plan.column, "integers"), integers if picked is None else integers[picked])
            counter = categories.get(plan.column)
            if counter is not None and not (plan.kind == "integer" and len(counter.counts) > MAX_INTEGER_CATEGORIES):
                counter.add(*category_counts(array))
        sample.thin()
    return stats, categories, sample, rows, failed


def _profile_from_footer(reference, plans: list[ColumnPlan]):
    """Pass 1 without reading the whole reference, when it is Parquet with statistics.

    When every column is numeric (floating, or integer forced numeric), the
    exact minimum, maximum and null count come from the Parquet footer, and
    the quantile sample from evenly spaced row groups (enough for
    ``2 * SAMPLE_ROWS`` rows, at least :data:`FOOTER_MIN_ROW_GROUPS`); the
    reference is then read in full only once, to count. The edges come from a
    sample of whole row groups, but both tables are still counted exactly on
    them. Returns None when that does not apply or would read more than half
    of the table.
    """
    import pyarrow as pa

    from klcli.tables import numeric_values

    columns = [p.column for p in plans]
    if any(
        p.kind != "numeric" or not (pa.types.is_floating(reference.type_of(p.column)) or pa.types.is_integer(reference.type_of(p.column)))
        for p in plans
    ):
        return None
    footer = reference.parquet_statistics(columns)
    if footer is None:
        return None
    rows, ranges = footer
    if not all(math.isfinite(low) and math.isfinite(high) for low, high, _ in ranges.values()):
        return None  # ±inf in the footer: the range of the finite values needs a full pass
    wanted = max(math.ceil(2 * SAMPLE_ROWS * len(rows) / max(sum(rows), 1)), FOOTER_MIN_ROW_GROUPS)
    if 2 * wanted > len(rows):
        return None
    groups = np.unique(np.linspace(0, len(rows) - 1, wanted).round().astype(int)).tolist()
    sample = RowSample(expected_rows=sum(rows[g] for g in groups))
    for first_row, batch in reference.batches(columns, row_groups=groups):
        picked = sample.pick(batch.num_rows)
        for column in columns:
            values = numeric_values(batch.column(column), table=reference, column=column, first_row=first_row)
            sample.add(column, values if picked is None else values[picked])
        sample.thin()
    stats = {c: NumericStats(count=sum(rows) - nulls, missing=nulls, minimum=low, maximum=high) for c, (low, high, nulls) in ranges.items()}
    return stats, {}, sample


def _settle_integer_kind(plan: ColumnPlan, categories: dict) -> ColumnPlan:
    if plan.kind != "integer":
        return plan
    few = len(categories[plan.column].counts) <= MAX_INTEGER_CATEGORIES
    return ColumnPlan(plan.column, "categorical" if few else "numeric", plan.metric, plan.threshold)


def _count_numeric(table, edges: dict) -> dict:
    """Pass 2 over the reference: bin counts of the numeric columns."""
    counts = {column: np.zeros(len(e) + 2, dtype=np.int64) for column, e in edges.items()}
    with _column_pool(len(edges)) as pool:
        for first_row, batch in table.batches(list(edges)):
            failed = _add_bin_counts(pool, counts, table, batch, first_row, edges, {})
            if failed:  # pass 1 read these values already
                raise InputError(next(iter(failed.values())))
    return counts


def _count_current(table, columns: list[str], edges: dict, categorical: list[str], sampled: list[str]) -> tuple[dict, dict, dict, int, dict]:
    """The only pass over the current table: bin counts, category counts, samples of ``sampled`` columns, rows, unreadable columns."""
    from klcli.tables import category_counts, numeric_values

    counts = {column: np.zeros(len(e) + 2, dtype=np.int64) for column, e in edges.items()}
    categories = {column: CategoryCounts() for column in categorical}
    sample = RowSample(expected_rows=table.row_count, seed=1)
    rows = 0
    failed: dict[str, str] = {}
    with _column_pool(len(edges)) as pool:
        for first_row, batch in table.batches(columns):
            rows += batch.num_rows
            _add_bin_counts(pool, counts, table, batch, first_row, edges, failed)
            for column, counter in categories.items():
                counter.add(*category_counts(batch.column(column)))
            if sampled:
                picked = sample.pick(batch.num_rows)
                for column in sampled:
                    if column in failed:
                        sample.drop(column)
                        continue
                    values = numeric_values(batch.column(column), table=table, column=column, first_row=first_row)
                    sample.add(column, values if picked is None else values[picked])
                sample.thin()
    return counts, categories, {column: sample.values(column) for column in sampled if column not in failed}, rows, failed


def _column_pool(columns: int):
    """Threads that count several columns at once (numpy and pyarrow release the GIL)."""
    import os
    from concurrent.futures import ThreadPoolExecutor

    return ThreadPoolExecutor(max_workers=max(1, min(columns, os.cpu_count() or 1)), thread_name_prefix="klcli-count")


def _add_bin_counts(pool, counts: dict, table, batch, first_row: int, edges: dict, failed: dict) -> dict:
    """Add a batch's bin counts; a column with a cell that is not a number joins ``failed`` (and is skipped after)."""
    from klcli.tables import numeric_values

    def count(column: str) -> np.ndarray | InputError:
        try:
            return count_bins(edges[column], numeric_values(batch.column(column), table=table, column=column, first_row=first_row))
        except InputError as error:
            return error

    active = [column for column in edges if column not in failed]
    for column, column_counts in zip(active, pool.map(count, active)):
        if isinstance(column_counts, InputError):
            failed[column] = str(column_counts)
        else:
            counts[column] += column_counts
    return failed


# ---------------------------------------------------------------------------
# Tables


def open_tables(paths: list[str], *, input_format: str | None = None):
    """The table at ``paths`` (several paths: their rows read as one table, see :class:`TableSet`)."""
    from klcli.tables import open_table

    tables = [open_table(path, input_format=input_format if path == "-" else None) for path in paths]
    return tables[0] if len(tables) == 1 else TableSet(tables)


class TableSet:
    """Several tables with the same columns, read as one (the parts of a partitioned table).

    The first table's column types apply to all (CSV and JSON-lines parts are
    read with them); rows are numbered across the parts, in order. Footer
    statistics are not used, so edges come from a sample of all the rows.
    """

    def __init__(self, tables: list) -> None:
        first = tables[0]
        for table in tables[1:]:
            if set(table.columns) != set(first.columns):
                missing = sorted(set(first.columns) - set(table.columns)) or sorted(set(table.columns) - set(first.columns))
                owner = table.name if set(first.columns) - set(table.columns) else first.name
                raise InputError(f"{table.name}: not the columns of {first.name} (no column {missing[0]!r} in {owner})")
        self.tables = [first] + [t.with_column_types({c: first.type_of(c) for c in first.columns}) for t in tables[1:]]
        self.name = " + ".join(t.name for t in tables) if len(tables) <= 3 else f"{first.name} + {len(tables) - 1} more"
        counts = [t.row_count for t in tables]
        self.row_count = None if None in counts else sum(counts)

    @property
    def columns(self) -> list[str]:
        return self.tables[0].columns

    def type_of(self, column: str):
        return self.tables[0].type_of(column)

    def batches(self, columns: list[str], **options):
        offset = 0
        for table in self.tables:
            rows = 0
            for first_row, batch in table.batches(columns, **options):
                yield offset + first_row, batch
                rows = first_row + batch.num_rows
            offset += rows

    def parquet_statistics(self, columns: list[str]):
        return None

    def with_column_types(self, types: dict) -> "TableSet":
        copy = object.__new__(TableSet)
        copy.__dict__.update(self.__dict__, tables=[t.with_column_types(types) for t in self.tables])
        return copy
