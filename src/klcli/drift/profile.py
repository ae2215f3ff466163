"""Profiles: the counts of a table, stored as versioned JSON (``klcli profile``), read back and merged.

A profile is a :class:`~klcli.drift.counts.Counts` object plus what shaped it
(sources, engine, options), written as JSON that follows
``profile.schema.json`` (shipped in this package, validated on every read).
It holds no rows, only:

- numeric columns: the edges fitted on the reference (and, for ``--bins
  auto``, the coarse edges) and the exact count of every bin: below the first
  edge, each interior bin, from the last edge up, missing;
- categorical columns: every category with its exact count, and the missing
  count. Every category is kept, not only the 20 that drift names, because
  drift decides how many it names from *both* tables' row counts and calls a
  current category ``(unseen)`` only when the reference never had it. A column
  with more than ``--max-stored-categories`` (default 10,000) categories keeps
  the most frequent ones and pools the rest as ``other``; drift and merge
  refuse such a column (leave it out with ``--exclude``);
- per column what the comparison reads besides counts: ``temporal`` (dates
  and times shown as such), ``all_distinct`` (the ``identifier`` status), and
  for a column without counts (``unsupported``, ``unreadable``) its status
  and reason (``"kind": "uncounted"``).

The reference's row sample (:attr:`ColumnCounts.sample`) is not stored: from
a profile, ``wasserstein`` and ``ks`` fall back to ``js_distance`` as the
comparison does whenever the sample is absent.

Why drift from a profile equals drift from the table, bit for bit: the local
engine fits the edges from a seeded sample of the reference, then counts both
tables exactly on them. A profile stores the *result* of that fit (the edges,
which JSON round-trips exactly) and the exact counts, so it needs no sample:
the comparison (:func:`klcli.drift.compare.compare`) reads the same integers
either way. Counts on the same edges add, so profiles of partitions merge
exactly (:func:`merge_profiles`).

>>> import numpy as np
>>> from klcli.drift.counts import CategoryCounts, ColumnCounts, Counts
>>> age = ColumnCounts("age", "numeric", edges=np.array([0.0, 30.0, 60.5]), bins=np.array([0, 4, 5, 1, 2]))
>>> colour = ColumnCounts("colour", "categorical", categories=CategoryCounts({"red": 8, "blue": 4}))
>>> part = Profile(Counts("a.csv", 12, {"age": age, "colour": colour}, parse_bins("2")), ["a.csv"])
>>> whole = merge_profiles([part, part])
>>> whole.counts.rows, whole.counts.columns["age"].bins.tolist(), whole.counts.columns["colour"].categories.counts
(24, [0, 8, 10, 2, 4], {'red': 16, 'blue': 8})
>>> Profile.from_record(whole.record(), "merged.json").record() == whole.record()
True
"""

from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np

from klcli.drift.binning import BinRule, parse_bins
from klcli.drift.counts import CategoryCounts, ColumnCounts, Counts
from klcli.drift.options import UNCOUNTED_KINDS
from klcli.errors import InputError

#: Version of the profile format (``"klcli_profile"`` in the file, ``const`` in the schema).
PROFILE_VERSION = 1
#: The key that marks a JSON file as a profile; written first, so it is in the first bytes.
MARKER = "klcli_profile"
#: Categories stored per column by default; beyond, the rarest are pooled (and drift refuses the column).
MAX_STORED_CATEGORIES = 10_000
SCHEMA_FILE = "profile.schema.json"


@dataclass
class Profile:
    """Counts of one or more tables plus what shaped them (see the module docstring).

    ``decided_by`` says per column what set its kind (``option``, ``type`` or
    ``distinct_values``: an integer column settled on its distinct values);
    ``other`` holds per categorical column the ``(categories, count)`` pooled
    beyond ``max_stored_categories`` (absent: none). ``name`` is how messages
    refer to the profile (its path).
    """

    counts: Counts
    sources: list[str]
    engine: str = "local"
    options: dict = field(default_factory=dict)
    decided_by: dict = field(default_factory=dict)
    other: dict = field(default_factory=dict)
    name: str = "profile"

    # -- what plan_columns reads of a table ---------------------------------

    @property
    def columns(self) -> list[str]:
        """The column names, in profile order."""
        return list(self.counts.columns)

    def type_of(self, column: str):
        """A column type that makes :func:`~klcli.drift.options.plan_columns` plan it as it was planned.

        An integer column settled on its distinct values is planned as an
        integer again (so that the current table is read the same way); the
        others by their stored kind (a column stored with a status as text:
        it is not counted again, see :meth:`counts_of`).
        """
        import pyarrow as pa

        if self.decided_by.get(column) == "distinct_values":
            return pa.int64()
        return pa.float64() if self.counts.columns[column].kind == "numeric" and self.counts.columns[column].counted else pa.string()

    # -- JSON ---------------------------------------------------------------

    def record(self) -> dict:
        """The JSON object of the profile (``profile.schema.json``)."""
        from klcli import __version__

        rule = self.counts.rule or parse_bins("auto")
        options = {
            "bins": "auto",
            "columns": None,
            "exclude": [],
            "categorical": [],
            "numeric": [],
            "edges_from": None,
            "max_stored_categories": MAX_STORED_CATEGORIES,
            **self.options,
        }
        return {
            MARKER: PROFILE_VERSION,
            "created_by": f"klcli {__version__}",
            "sources": list(self.sources),
            "engine": self.engine,
            "rows": int(self.counts.rows),
            "bins": {"method": rule.method, "count": rule.count, "adaptive": rule.adaptive},
            "options": options,
            "columns": [self._column_record(c) for c in self.counts.columns.values()],
        }

    def _column_record(self, column: ColumnCounts) -> dict:
        if not column.counted:
            return {"name": column.column, "kind": "uncounted", "planned_kind": column.kind, "status": column.status, "reason": column.reason}
        head = {
            "name": column.column,
            "kind": column.kind,
            "decided_by": self.decided_by.get(column.column, "type"),
            "all_distinct": bool(column.all_distinct),
        }
        if column.kind == "numeric":
            assert column.bins is not None and column.edges is not None, "a counted numeric column has edges and bins"
            bins = [int(n) for n in column.bins]
            if column.edges.size == 0:  # no finite value in the reference: one bin, [values, missing]
                bins = [0, bins[0], bins[1]]
            return {
                **head,
                "temporal": column.temporal,
                "edges": _encode_edges(column.edges),
                "coarse_edges": None if column.coarse_edges is None else _encode_edges(column.coarse_edges),
                "underflow": bins[0],
                "counts": bins[1:-2],
                "overflow": bins[-2],
                "missing": bins[-1],
            }
        assert column.categories is not None, "a counted categorical column has categories"
        ranked = sorted(column.categories.counts.items(), key=lambda item: (-item[1], item[0]))
        pooled, pooled_count = self.other.get(column.column, (0, 0))
        return {
            **head,
            "categories": {label: int(n) for label, n in ranked},
            "other": {"categories": int(pooled), "count": int(pooled_count)},
            "missing": int(column.categories.missing),
        }

    @classmethod
    def from_record(cls, record: dict, name: str) -> "Profile":
        """A profile from its JSON object, validated against the schema and for consistency."""
        check_profile_record(record, name)
        rule = record["bins"]
        columns, decided_by, other = {}, {}, {}
        for column in record["columns"]:
            column_name = column["name"]
            if column["kind"] == "uncounted":
                columns[column_name] = ColumnCounts(column_name, column["planned_kind"], status=column["status"], reason=column["reason"])
                continue
            decided_by[column_name] = column["decided_by"]
            distinct = column.get("all_distinct", False)
            if column["kind"] == "numeric":
                bins = np.array([column["underflow"], *column["counts"], column["overflow"], column["missing"]], dtype=np.int64)
                if not column["edges"]:
                    bins = bins[-2:]
                coarse = None if column["coarse_edges"] is None else _decode_edges(column["coarse_edges"])
                columns[column_name] = ColumnCounts(
                    column_name,
                    "numeric",
                    edges=_decode_edges(column["edges"]),
                    coarse_edges=coarse,
                    bins=bins,
                    temporal=column.get("temporal"),
                    all_distinct=distinct,
                )
            else:
                pooled = column["other"]
                if pooled["categories"]:
                    other[column_name] = (pooled["categories"], pooled["count"])
                categories = CategoryCounts(dict(column["categories"]), missing=column["missing"])
                columns[column_name] = ColumnCounts(column_name, "categorical", categories=categories, all_distinct=distinct)
        counts = Counts(tables_name(record["sources"]), record["rows"], columns, BinRule(rule["method"], rule["count"], rule["adaptive"]))
        return cls(counts, list(record["sources"]), record["engine"], dict(record["options"]), decided_by, other, name)

    def counts_of(self, plans) -> Counts:
        """The counts of the planned columns, for a comparison (as a reference); a column with pooled categories is refused.

        A column stored with a status keeps it; a column the plan does not
        count (``added``, ``removed``, ``unsupported``) gets the plan's status.
        """
        names = [plan.column for plan in plans]
        for column in names:
            if column in self.other:
                pooled, _ = self.other[column]
                categories = self.counts.columns[column].categories
                assert categories is not None, "only categorical columns have pooled categories"
                kept = len(categories.counts)
                raise InputError(
                    f"{self.name}: column {column!r} keeps only its {kept:,} most frequent categories ({pooled:,} more are pooled), "
                    f"so a rare category cannot be told from an unseen one: leave it out (--exclude {column}) "
                    f"or profile again with --max-stored-categories {kept + pooled}"
                )
        columns = {}
        for plan in plans:
            stored = self.counts.columns.get(plan.column)
            if stored is not None and (not stored.counted or plan.kind not in UNCOUNTED_KINDS):
                columns[plan.column] = stored
            else:
                columns[plan.column] = ColumnCounts(plan.column, plan.kind, status=plan.kind, reason=plan.reason)
        return Counts(self.counts.source, self.counts.rows, columns, self.counts.rule)

    def counts_on(self, plans, reference: Counts) -> Counts:
        """The counts of the planned columns as the current side: what the engines' ``count_current`` gives.

        Columns the reference did not count are the reference's (status and
        reason), as an engine returns them.
        """
        counts = self.counts_of(plans)
        for name, ref_side in reference.columns.items():
            if not ref_side.counted:
                counts.columns[name] = ref_side
        return counts


def profile_of(counts: Counts, plans, *, sources: list[str], engine: str, options: dict, forced: set[str]) -> Profile:
    """A profile from the counts of tables; ``plans`` (before integer columns were settled) give ``decided_by``.

    Categorical columns with more than ``options["max_stored_categories"]``
    categories keep the most frequent ones and pool the rest.
    """
    limit = options.get("max_stored_categories", MAX_STORED_CATEGORIES)
    decided_by = {p.column: "option" if p.column in forced else "distinct_values" if p.kind == "integer" else "type" for p in plans}
    other = {}
    columns = dict(counts.columns)
    for name, column in counts.columns.items():
        if column.counted and column.kind == "categorical" and column.categories is not None and len(column.categories.counts) > limit:
            ranked = sorted(column.categories.counts.items(), key=lambda item: (-item[1], item[0]))
            other[name] = (len(ranked) - limit, sum(n for _, n in ranked[limit:]))
            columns[name] = ColumnCounts(
                name, "categorical", categories=CategoryCounts(dict(ranked[:limit]), column.categories.missing), all_distinct=column.all_distinct
            )
    counts = Counts(counts.source, counts.rows, columns, counts.rule)
    return Profile(counts, sources, engine, options, decided_by, other)


# ---------------------------------------------------------------------------
# Files


def is_profile(path: str) -> bool:
    """Whether ``path`` is a file that says it is a profile (its first bytes hold the marker key).

    A profile is one JSON object whose first key is ``"klcli_profile"``; a
    JSON-lines table is not one (unless a column has that name, which drift
    would then read as a profile).
    """
    if path == "-" or not os.path.isfile(path):
        return False
    with open(path, "rb") as handle:
        head = handle.read(256).lstrip(b"\xef\xbb\xbf \t\r\n")
    return head.startswith(b"{") and f'"{MARKER}"'.encode() in head


def read_profile(path: str) -> Profile:
    """Read and validate a profile; every problem is one :class:`InputError` line naming the file."""
    try:
        with open(path, "rb") as handle:
            data = handle.read()
    except FileNotFoundError:
        raise InputError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise InputError(f"{path}: is a directory, not a profile") from None
    except OSError as error:
        raise InputError(f"{path}: cannot read: {error.strerror or error}") from None
    if not data.strip():
        raise InputError(f"{path}: empty file, not a klcli profile")
    try:
        record = json.loads(data, parse_constant=_reject_constant)
    except (UnicodeDecodeError, json.JSONDecodeError, ValueError) as error:
        looks = data.lstrip(b"\xef\xbb\xbf \t\r\n").startswith(b"{") and f'"{MARKER}"'.encode() in data[:256]
        what = "a truncated or damaged klcli profile" if looks else "not a klcli profile"
        raise InputError(f"{path}: {what} (invalid JSON: {getattr(error, 'msg', error)})") from None
    return Profile.from_record(record, path)


def write_profile(profile: Profile, path: str) -> None:
    """Write the profile as JSON to ``path`` (``-``: standard output), atomically: a temporary file renamed."""
    text = json.dumps(profile.record(), indent=1, allow_nan=False) + "\n"
    if path == "-":
        import sys

        sys.stdout.write(text)
        return
    write_atomically(path, text)


def write_atomically(path: str, text: str) -> None:
    """Write ``text`` to a temporary file next to ``path`` and rename it: ``path`` is whole or untouched."""
    import tempfile

    folder = os.path.dirname(os.path.abspath(path))
    try:
        handle = tempfile.NamedTemporaryFile("w", encoding="utf-8", dir=folder, prefix=f".{os.path.basename(path)}.", suffix=".tmp", delete=False)
    except OSError as error:
        raise InputError(f"{path}: cannot write: {error.strerror or error}") from None
    try:
        with handle:
            handle.write(text)
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(handle.name, 0o666 & ~umask)  # as open() would create it, not the temporary file's 0600
        os.replace(handle.name, path)
    except OSError as error:
        os.unlink(handle.name)
        raise InputError(f"{path}: cannot write: {error.strerror or error}") from None


# ---------------------------------------------------------------------------
# Merge and alignment


def merge_profiles(profiles: list[Profile]) -> Profile:
    """Add the counts of profiles counted on the same bins (partitions of one table, or of one day's data).

    Refused, with a message that says what differs: other columns, kinds,
    edges or bin rules, and columns with pooled categories.
    """
    first = profiles[0]
    merged = {name: _copy(column) for name, column in first.counts.columns.items()}
    for profile in profiles[1:]:
        check_same_bins(first.counts, profile.counts, first.name, profile.name, action="cannot merge")
        for name, column in profile.counts.columns.items():
            if not merged[name].counted:  # a status (unreadable, unsupported) stays
                continue
            if not column.counted:
                merged[name] = column
            elif column.kind == "numeric":
                ours = merged[name].bins
                assert ours is not None and column.bins is not None, "counted numeric columns have bins"
                merged[name].bins = ours + column.bins
            else:
                categories = merged[name].categories
                assert categories is not None and column.categories is not None, "counted categorical columns have categories"
                categories.add(column.categories.counts, column.categories.missing)
    for profile in profiles:
        if profile.other:
            column = next(iter(profile.other))
            raise InputError(
                f"{profile.name}: cannot merge: column {column!r} has pooled categories (beyond --max-stored-categories), which do not add exactly"
            )
    sources = [s for p in profiles for s in p.sources]
    counts = Counts(tables_name(sources), sum(p.counts.rows for p in profiles), merged, first.counts.rule)
    engines = sorted({part for p in profiles for part in p.engine.split("+")})
    return Profile(counts, sources, "+".join(engines), first.options, first.decided_by)


def check_same_bins(reference: Counts, other: Counts, reference_name: str, other_name: str, *, action: str) -> None:
    """Raise an :class:`InputError` saying what differs unless ``other`` was counted on the bins of ``reference``.

    Same columns in the same order, same kinds, same edges (exactly) and same
    bin rule.
    """
    where = f"{action} {other_name} with {reference_name}"
    if list(other.columns) != list(reference.columns):
        missing = [c for c in reference.columns if c not in other.columns]
        extra = [c for c in other.columns if c not in reference.columns]
        if missing or extra:
            parts = ([f"{other_name} lacks {', '.join(map(repr, missing))}"] if missing else []) + (
                [f"{reference_name} lacks {', '.join(map(repr, extra))}"] if extra else []
            )
            raise InputError(f"{where}: other columns ({'; '.join(parts)})")
        raise InputError(f"{where}: the columns are in another order ({', '.join(other.columns)} against {', '.join(reference.columns)})")
    for name, ours in reference.columns.items():
        theirs = other.columns[name]
        if not (ours.counted and theirs.counted):  # a status: no bins to agree on
            continue
        if ours.kind != theirs.kind:
            raise InputError(f"{where}: column {name!r} is {theirs.kind} in {other_name} and {ours.kind} in {reference_name}")
        if ours.kind == "numeric":
            for label, a, b in (("edges", ours.edges, theirs.edges), ("coarse edges", ours.coarse_edges, theirs.coarse_edges)):
                if not _same_edges(a, b):
                    raise InputError(
                        f"{where}: column {name!r} has other {label} ({_edge_difference(a, b, reference_name, other_name)}); profile both with --edges-from the same profile"
                    )
    if other.rule != reference.rule:
        raise InputError(f"{where}: other bins ({_rule_text(other.rule)} against {_rule_text(reference.rule)})")


def counted_only(counts: Counts, other: Counts) -> Counts:
    """``counts`` restricted to the columns counted in both ``counts`` and ``other`` (the ones with bins to agree on)."""
    names = [name for name, column in counts.columns.items() if column.counted and name in other.columns and other.columns[name].counted]
    return Counts(counts.source, counts.rows, {name: counts.columns[name] for name in names}, counts.rule)


def tables_name(sources: list[str]) -> str:
    """How messages name the tables a profile counted: as the engines name tables read as one.

    >>> tables_name(["a.csv"]), tables_name(["a", "b", "c", "d"])
    ('a.csv', 'a + 3 more')
    """
    return " + ".join(sources) if len(sources) <= 3 else f"{sources[0]} + {len(sources) - 1} more"


def _copy(column: ColumnCounts) -> ColumnCounts:
    if not column.counted:
        return column
    if column.kind == "numeric":
        assert column.bins is not None, "a counted numeric column has bins"
        return ColumnCounts(
            column.column,
            "numeric",
            edges=column.edges,
            coarse_edges=column.coarse_edges,
            bins=column.bins.copy(),
            temporal=column.temporal,
            all_distinct=column.all_distinct,
        )
    assert column.categories is not None, "a counted categorical column has categories"
    return ColumnCounts(
        column.column,
        "categorical",
        categories=CategoryCounts(dict(column.categories.counts), column.categories.missing),
        all_distinct=column.all_distinct,
    )


def _same_edges(a, b) -> bool:
    if a is None or b is None:
        return a is None and b is None
    return a.shape == b.shape and bool(np.array_equal(a, b))


def _edge_difference(a, b, a_name: str, b_name: str) -> str:
    if a is None or b is None:
        return f"{'none' if a is None else len(a)} in {a_name}, {'none' if b is None else len(b)} in {b_name}"
    if len(a) != len(b):
        return f"{len(a)} edges in {a_name}, {len(b)} in {b_name}"
    i = int(np.flatnonzero(a != b)[0])
    return f"edge {i} is {float(a[i])!r} in {a_name} and {float(b[i])!r} in {b_name}"


def _rule_text(rule: BinRule | None) -> str:
    if rule is None:
        return "none"
    if rule.adaptive:
        return "auto"
    return f"{rule.method}:{rule.count}" if rule.method == "quantile" else str(rule.count) if rule.method == "width" else rule.method


def _encode_edges(edges: np.ndarray) -> list:
    """Edges as JSON values: floats (which round-trip exactly), and "inf"/"-inf"."""
    return [float(e) if math.isfinite(e) else ("inf" if e > 0 else "-inf") for e in edges.tolist()]


def _decode_edges(values: list) -> np.ndarray:
    return np.array([float(v) for v in values], dtype=np.float64)


def _reject_constant(name: str):
    raise ValueError(f"{name} is not JSON")


# ---------------------------------------------------------------------------
# Validation


@lru_cache(maxsize=1)
def profile_schema() -> dict:
    """The JSON Schema of profiles, shipped with the package."""
    from importlib import resources

    return json.loads(resources.files("klcli.drift").joinpath(SCHEMA_FILE).read_text(encoding="utf-8"))


def check_profile_record(record, name: str) -> None:
    """Validate a profile's JSON object: marker and version, the schema, then what a schema cannot say.

    >>> check_profile_record({"klcli_profile": 2}, "p.json")
    Traceback (most recent call last):
    ...
    klcli.errors.InputError: p.json: a klcli profile of version 2; this klcli reads version 1 (profile the table again)
    """
    if not isinstance(record, dict) or MARKER not in record:
        raise InputError(f'{name}: not a klcli profile (no "{MARKER}" key; write one with `klcli profile`)')
    version = record[MARKER]
    if version != PROFILE_VERSION:
        raise InputError(f"{name}: a klcli profile of version {version!r}; this klcli reads version {PROFILE_VERSION} (profile the table again)")
    problem = schema_problem(record, profile_schema())
    if problem:
        raise InputError(f"{name}: not a valid klcli profile: {problem}")
    names = [c["name"] for c in record["columns"]]
    if len(set(names)) != len(names):
        raise InputError(f"{name}: not a valid klcli profile: column {sorted(n for n in names if names.count(n) > 1)[0]!r} appears twice")
    for column in record["columns"]:
        where = f"{name}: not a valid klcli profile: column {column['name']!r}"
        if column["kind"] == "uncounted":
            continue
        if column["kind"] == "numeric":
            edges = _decode_edges(column["edges"])
            if np.any(np.diff(edges) <= 0):
                raise InputError(f"{where}: the edges do not increase")
            if len(column["counts"]) != max(len(edges) - 1, 0):
                raise InputError(f"{where}: {len(column['counts'])} interior counts for {len(edges)} edges (needs {max(len(edges) - 1, 0)})")
            if not len(edges) and column["underflow"]:
                raise InputError(f"{where}: no edges, so every value is in overflow, none in underflow")
            if column["coarse_edges"] is not None and not set(_decode_edges(column["coarse_edges"]).tolist()) <= set(edges.tolist()):
                raise InputError(f"{where}: the coarse edges are not a subset of the edges")
            total = column["underflow"] + sum(column["counts"]) + column["overflow"] + column["missing"]
        else:
            total = sum(column["categories"].values()) + column["other"]["count"] + column["missing"]
        if total != record["rows"]:
            raise InputError(f"{where}: its counts add up to {total:,}, not to the {record['rows']:,} rows")


_TYPES = {
    "object": lambda v: isinstance(v, dict),
    "array": lambda v: isinstance(v, list),
    "string": lambda v: isinstance(v, str),
    "integer": lambda v: isinstance(v, int) and not isinstance(v, bool),
    "number": lambda v: isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v),
    "boolean": lambda v: isinstance(v, bool),
    "null": lambda v: v is None,
}


def schema_problem(value, schema: dict, root: dict | None = None, path: str = "") -> str | None:
    """The first way ``value`` breaks ``schema``, or None: a small JSON Schema validator.

    It knows the keywords ``profile.schema.json`` uses: ``type``, ``const``,
    ``enum``, ``required``, ``properties``, ``additionalProperties``,
    ``items``, ``minItems``, ``minimum``, ``oneOf``, ``anyOf`` and local
    ``$ref``; any other keyword in a schema is an error, so the validator
    cannot silently ignore a rule.

    >>> schema_problem({"rows": -1}, {"type": "object", "properties": {"rows": {"type": "integer", "minimum": 0}}})
    'rows: -1 is less than the minimum 0'
    """
    root = root or schema
    where = path or "the top level"
    unknown = set(schema) - _KEYWORDS
    if unknown:
        raise ValueError(f"schema keyword {sorted(unknown)[0]!r} is not supported")
    if "$ref" in schema:
        problem = schema_problem(value, _resolve(schema, root), root, path)
        if problem:
            return problem
    if "type" in schema:
        types = schema["type"] if isinstance(schema["type"], list) else [schema["type"]]
        if not any(_TYPES[t](value) for t in types):
            return f"{where}: expected {' or '.join(types)}, found {_shown(value)}"
    if "const" in schema and not _equal(value, schema["const"]):
        return f"{where}: expected {json.dumps(schema['const'])}, found {_shown(value)}"
    if "enum" in schema and not any(_equal(value, option) for option in schema["enum"]):
        return f"{where}: expected one of {', '.join(json.dumps(o) for o in schema['enum'])}, found {_shown(value)}"
    if "minimum" in schema and _TYPES["number"](value) and value < schema["minimum"]:
        return f"{where}: {value!r} is less than the minimum {schema['minimum']}"
    if isinstance(value, dict):
        for key in schema.get("required", []):
            if key not in value:
                return f"{where}: missing key {key!r}"
        properties = schema.get("properties", {})
        extra = schema.get("additionalProperties", True)
        for key, item in value.items():
            inner = f"{path}.{key}" if path else key
            if key in properties:
                problem = schema_problem(item, properties[key], root, inner)
            elif extra is False:
                problem = f"{where}: unknown key {key!r}"
            elif isinstance(extra, dict):
                problem = schema_problem(item, extra, root, inner)
            else:
                problem = None
            if problem:
                return problem
    if isinstance(value, list):
        if len(value) < schema.get("minItems", 0):
            return f"{where}: needs at least {schema['minItems']} item(s)"
        if "items" in schema:
            for i, item in enumerate(value):
                problem = schema_problem(item, schema["items"], root, f"{path}[{i}]")
                if problem:
                    return problem
    for keyword in ("oneOf", "anyOf"):
        if keyword in schema:
            options = [_resolve(option, root) for option in schema[keyword]]
            kinds = [option.get("properties", {}).get("kind", {}).get("const") for option in options]
            if isinstance(value, dict) and all(kinds):
                # Objects told apart by their "kind": judge by the form of that kind only.
                if value.get("kind") not in kinds:
                    return f"{where}: `kind` must be one of {', '.join(map(json.dumps, kinds))}, found {_shown(value.get('kind'))}"
                return schema_problem(value, options[kinds.index(value["kind"])], root, path)
            problems = [schema_problem(value, option, root, path) for option in options]
            matches = sum(p is None for p in problems)
            if matches == 0:
                return problems[0]
            if keyword == "oneOf" and matches > 1:
                return f"{where}: matches more than one form"
    return None


def _resolve(schema: dict, root: dict) -> dict:
    """A schema with its local ``$ref`` followed."""
    while "$ref" in schema:
        target = root
        for part in schema["$ref"].removeprefix("#/").split("/"):
            target = target[part]
        schema = target
    return schema


_KEYWORDS = {
    "$schema",
    "$id",
    "$defs",
    "$ref",
    "title",
    "description",
    "type",
    "const",
    "enum",
    "required",
    "properties",
    "additionalProperties",
    "items",
    "minItems",
    "minimum",
    "oneOf",
    "anyOf",
}


def _equal(a, b) -> bool:
    """JSON equality: ``true`` is not ``1``."""
    return a == b and isinstance(a, bool) == isinstance(b, bool)


def _shown(value) -> str:
    text = json.dumps(value) if not isinstance(value, (dict, list)) else ("an object" if isinstance(value, dict) else "a list")
    return text if len(text) <= 40 else text[:37] + "..."
