"""Drift and profiles from tables or profiles: each side of a check is a table (counted by an engine) or a profile.

- :func:`check_sides`: ``klcli drift`` where either side may be a profile. A
  profile stands in for its table: the columns, kinds and edges come from the
  reference (table or profile), the current side is counted on them (or, as a
  profile, must have been counted on them), and the same pure comparison
  reads the counts, so the report is the one the tables give.
- :func:`profile_tables`: ``klcli profile``: fit the bins on tables and count
  them, or count them on the bins of an existing profile (``--edges-from``).

>>> import io
>>> from klcli.tables import open_table
>>> ref = open_table("-", stdin=io.BytesIO(b"colour\\n" + b"red\\n" * 80 + b"blue\\n" * 20))
>>> cur = open_table("-", stdin=io.BytesIO(b"colour\\n" + b"red\\n" * 50 + b"blue\\n" * 50))
>>> profile = profile_tables(ref, DriftOptions(), sources=["ref.csv"])
>>> check_sides(profile, cur, DriftOptions()).record() == check_sides(ref, cur, DriftOptions()).record()
True
"""

from __future__ import annotations

import numpy as np

from klcli.drift.binning import parse_bins
from klcli.drift.compare import compare
from klcli.drift.engines import get_engine
from klcli.drift.options import UNCOUNTED_KINDS, DriftOptions, plan_columns
from klcli.drift.profile import MAX_STORED_CATEGORIES, Profile, check_same_bins, counted_only, profile_of
from klcli.drift.report import DriftReport
from klcli.errors import InputError, UsageError


def check_sides(reference, current, options: DriftOptions | None = None, *, engine: str = "local") -> DriftReport:
    """Check ``current`` against ``reference``; each is a table of ``engine`` or a :class:`Profile`.

    A reference profile fixes the kinds and the bins (``--bins`` or
    ``--categorical``/``--numeric`` that say otherwise are errors), and the
    columns it was restricted to are the default selection. A current
    profile must have been counted on the reference's bins (``klcli profile
    --edges-from``), else the error says what differs.
    """
    options = options or DriftOptions()
    counting = get_engine(engine)
    if isinstance(reference, Profile):
        options = _with_profile_columns(options, reference, current)
    plans = plan_columns(reference, current, options)
    with np.errstate(all="ignore"):  # ±inf, empty and constant columns are handled, not warned about
        if isinstance(reference, Profile):
            _check_reference_profile(reference, plans, options)
            reference_counts = reference.counts_of(plans)
        else:
            reference_counts = counting.count_reference(reference, plans, parse_bins(options.bins_text, limit=options.bin_limit))
        if isinstance(current, Profile):
            current_counts = current.counts_on(plans, reference_counts)
            check_same_bins(
                counted_only(reference_counts, current_counts),
                counted_only(current_counts, reference_counts),
                reference.name,
                current.name,
                action="cannot compare",
            )
        else:
            current_counts = counting.count_current(current, plans, reference_counts)
        return compare(reference_counts, current_counts, options)


def profile_tables(
    table,
    options: DriftOptions | None = None,
    *,
    sources: list[str],
    engine: str = "local",
    edges_from: Profile | None = None,
    max_stored_categories: int = MAX_STORED_CATEGORIES,
) -> Profile:
    """Profile ``table`` (an engine's table): its bins fitted here, or those of ``edges_from``.

    With ``edges_from``, the columns, kinds and bins are that profile's; options
    that would choose them are errors.
    """
    options = options or DriftOptions()
    counting = get_engine(engine)
    stored = {"max_stored_categories": max_stored_categories}
    if edges_from is not None:
        given = [
            flag
            for flag, value in (
                ("--columns", options.columns),
                ("--exclude", options.exclude),
                ("--categorical", options.categorical),
                ("--numeric", options.numeric),
                ("--bins", options.bins),
                ("--config", options.config),
            )
            if value
        ]
        if given:
            raise UsageError(f"`--edges-from` takes the columns, kinds and bins of {edges_from.name}; {given[0]} cannot be given with it")
        plans = plan_columns(edges_from, table, DriftOptions(columns=edges_from.columns))
        missing = [plan.column for plan in plans if plan.kind == "removed"]
        if missing:
            raise InputError(f"{table.name}: no column {missing[0]!r}, which {edges_from.name} has: profile tables of the reference's columns")
        with np.errstate(all="ignore"):
            counts = counting.count_current(table, plans, edges_from.counts)
        options_record = {**edges_from.options, **stored, "edges_from": edges_from.name}
        profile = profile_of(counts, plans, sources=sources, engine=engine, options=options_record, forced=set())
        profile.decided_by = dict(edges_from.decided_by)
        return profile
    plans = plan_columns(table, table, options)
    with np.errstate(all="ignore"):
        counts = counting.count_reference(table, plans, parse_bins(options.bins_text, limit=options.bin_limit))
    config_kinds = {name: settings["kind"] for name, settings in options.config.get("columns", {}).items() if "kind" in settings}
    categorical = sorted(set(options.categorical) | {n for n, k in config_kinds.items() if k == "categorical"})
    numeric = sorted(set(options.numeric) | {n for n, k in config_kinds.items() if k == "numeric"})
    options_record = {
        "bins": options.bins_text,
        "columns": options.columns,
        "exclude": list(options.exclude),
        "categorical": categorical,
        "numeric": numeric,
        "edges_from": None,
        **stored,
    }
    return profile_of(counts, plans, sources=sources, engine=engine, options=options_record, forced=set(categorical) | set(numeric))


def _with_profile_columns(options: DriftOptions, reference: Profile, current) -> DriftOptions:
    """The columns a reference profile was restricted to (``--columns``, ``--exclude``) are the default."""
    from dataclasses import replace

    chosen = reference.options.get("columns")
    excluded = [c for c in reference.options.get("exclude", []) if c not in options.exclude and c in current.columns]
    return replace(options, columns=chosen if options.columns is None else options.columns, exclude=[*options.exclude, *excluded])


def _check_reference_profile(reference: Profile, plans, options: DriftOptions) -> None:
    """A reference profile decides the bins and the kinds: options that disagree are errors."""
    if options.bins is not None or "bins" in options.config:
        asked = parse_bins(options.bins_text)
        if asked != reference.counts.rule:
            raise UsageError(
                f"{reference.name} was binned with --bins {reference.options.get('bins', '?')}, not {options.bins_text}: "
                f"leave --bins out, or profile the reference again with it"
            )
    for plan in plans:
        stored = reference.counts.columns.get(plan.column)
        if stored is None or not stored.counted or plan.kind in UNCOUNTED_KINDS:
            continue
        kind = stored.kind
        if plan.kind not in ("integer", kind):
            raise UsageError(
                f"{reference.name}: column {plan.column!r} was profiled as {kind}, so it cannot be checked as {plan.kind}: "
                f"profile the reference again with --{plan.kind} {plan.column}"
            )
