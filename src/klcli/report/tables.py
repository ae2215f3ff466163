"""The tables for people (``--format table``) of compare, batch, pairwise and families, fitted to the width.

Each builder returns a rich renderable: the title as plain lines, the table(s)
with widths from :mod:`klcli.report.fit`, and the notes below. Text from the
data goes through :func:`klcli.text.escape_terminal`.
"""

from __future__ import annotations

import math

import numpy as np
from rich.console import Group
from rich.text import Text

from klcli.render import BATCH_TABLE_KEYS, LABELS, format_number, shared_folder, unit_name
from klcli.report.fit import DEFAULT_WIDTH, FitColumn, fits, fitted_table, notes_text, numbered_names
from klcli.result import Comparison
from klcli.text import escape_terminal


def comparison_table(c: Comparison, *, p_name: str, q_name: str, width: int | None = None):
    """The title, a table of every value (method, standard error) and the notes, fitted to ``width``."""

    width = width or DEFAULT_WIDTH
    unit = unit_name(c.base)
    notes = list(c.notes)
    rows, reduction = c.info.get("rows"), c.info.get("reduction")
    if rows is not None and reduction in ("batchmean", "sum"):
        notes.insert(0, f"{'mean' if reduction == 'batchmean' else 'sum'} over {rows:,} rows (--reduction {reduction})")
    if str(c.info.get("backend", "")).startswith("torch") and "samples" not in c.info:
        notes.append(f"computed with {c.info['backend']} (--device)")
    if any(np.ndim(v) for v in c.values.values()):
        keys = [k for k in BATCH_TABLE_KEYS if k in c.values]
        n = len(next(v for v in c.values.values() if isinstance(v, np.ndarray)))
        columns = [FitColumn("row", [str(i) for i in range(n)], justify="right", style="dim")]
        columns += [FitColumn(LABELS[k], [format_number(v) for v in np.asarray(c.values[k]).ravel()], justify="right") for k in keys]
        notes.insert(0, f"values in {unit}, one row per input row (--reduction none)")
        columns, left_out = _drop_until_fits(columns, width, optional=range(len(columns) - 1, 1, -1))
        if left_out:
            notes.append(f"not shown at this width: {', '.join(left_out)} (see --format csv)")
    else:
        keys = [k for k in c.values if k in LABELS]
        columns = [
            FitColumn("quantity", [LABELS[k] + (" (√ of JS)" if k == "js_distance" else "") for k in keys]),
            FitColumn(f"value ({unit})", [format_number(c.values[k]) for k in keys], justify="right", style="bold"),
        ]
        if c.stderr:
            columns.append(FitColumn("± std. error", [format_number(c.stderr[k]) if k in c.stderr else "" for k in keys], justify="right"))
        if c.interval:
            bounds = [c.interval.get(k) for k in keys]
            columns.append(FitColumn("interval", [f"{format_number(b[0])} – {format_number(b[1])}" if b else "" for b in bounds], justify="right"))
        methods = {k: c.method.get(k, "").replace("_", " ") for k in keys}
        method_column = FitColumn("method", list(methods.values()), style="dim")
        if fits(columns + [method_column], width):
            columns.append(method_column)
        else:
            notes.insert(
                0,
                "method: "
                + "; ".join(
                    f"{m} ({', '.join(LABELS[k] for k in keys if methods[k] == m)})" if len(set(methods.values())) > 1 else m
                    for m in dict.fromkeys(methods.values())
                ),
            )
    title = Text(escape_terminal(f"P: {p_name}") + "\n" + escape_terminal(f"Q (reference): {q_name}"))
    parts = [title, fitted_table(columns, width)]
    if notes:
        parts.append(notes_text(notes))
    return Group(*parts)


def _drop_until_fits(columns, width: int, optional) -> tuple[list, list[str]]:
    """Leave out the ``optional`` columns (indices, first dropped first) until the rest fit."""

    dropped: list[int] = []
    for index in optional:
        if fits([c for i, c in enumerate(columns) if i not in dropped], width):
            break
        dropped.append(index)
    return [c for i, c in enumerate(columns) if i not in dropped], [columns[i].header for i in sorted(dropped)]


def batch_table(results, *, reference: str, base: str, total: int, width: int | None = None, keep: tuple[str, ...] = ("kl_pq", "js")):
    """One row per file, fitted to ``width``: a failed file's row says so.
    Returns the rich renderable and whether the rows are numbered.

    When the names and every value do not fit, the values other than ``keep``
    are left out (and named in a note); when the names still do not fit, the
    rows are numbered and the names listed below the table.
    """

    width = width or DEFAULT_WIDTH
    folder, names = shared_folder([r.file for r in results])
    title = Text(
        escape_terminal(f"Q (reference): {reference}")
        + f"\nvalues in {unit_name(base)}"
        + (escape_terminal(f", files in {folder}") if folder else "")
    )
    values = {
        key: [
            Text("failed", style="red")
            if r.failed and key == BATCH_TABLE_KEYS[0]
            else ""
            if r.failed
            else format_number(np.max(r.comparison.values[key]))
            for r in results
        ]
        for key in BATCH_TABLE_KEYS
    }
    value_columns = {key: FitColumn(LABELS[key], values[key], justify="right") for key in BATCH_TABLE_KEYS}
    essential = [k for k in BATCH_TABLE_KEYS if k in keep] or [BATCH_TABLE_KEYS[0]]
    if "failed" in [str(v) for v in values[BATCH_TABLE_KEYS[0]]] and BATCH_TABLE_KEYS[0] not in essential:
        essential.insert(0, BATCH_TABLE_KEYS[0])
    named = FitColumn("file (P)", names)
    numbered = FitColumn("#", [str(i + 1) for i in range(len(names))], justify="right", style="dim")
    layouts = [(named, BATCH_TABLE_KEYS), (named, essential), (numbered, BATCH_TABLE_KEYS), (numbered, essential)]
    for first, keys in layouts:
        columns = [first] + [value_columns[k] for k in BATCH_TABLE_KEYS if k in keys]
        if fits(columns, width):
            break
    notes = []
    if len(keys) < len(BATCH_TABLE_KEYS):
        notes.append(f"not shown at this width: {', '.join(LABELS[k] for k in BATCH_TABLE_KEYS if k not in keys)} (see --format csv)")
    notes += [r.error for r in results if r.failed]
    if len(results) < total:
        notes.insert(0, f"showing {len(results)} of {total} files")
    if any(not r.failed and r.comparison.info.get("rows") for r in results):
        notes.append("a file holding several rows shows its --reduction (with none: the largest row)")
    parts = [title, fitted_table(columns, width)]
    if first is numbered:
        parts.append(numbered_names(names))
    if notes:
        parts.append(notes_text(notes))
    return Group(*parts), first is numbered


def pairwise_table(m, *, width: int | None = None):
    """The matrix with numbered rows and columns and the file names beside or below it.

    Values get six significant digits, or three when six do not fit; a matrix
    too wide even so is not drawn: a line says so and points to csv and html.
    """

    width = width or DEFAULT_WIDTH
    symmetric = m.metric not in ("kl_pq", "kl_qp")
    label = LABELS.get(m.metric, m.metric)
    folder, names = shared_folder(m.files)
    title = Text(f"{label} in {unit_name(m.base)}" + (escape_terminal(f", files in {folder}") if folder else ""))
    n = len(names)
    numbers = FitColumn("#", [str(i + 1) for i in range(n)], justify="right", style="dim")
    named = FitColumn("file", names)
    notes = [] if symmetric else ["rows are P, columns are Q: KL is not symmetric"]
    layout = None
    for digits, compact in ((6, False), (6, True), (3, False), (3, True)):
        cells = [FitColumn(str(j + 1), [_significant(v, digits) for v in m.matrix[:, j]], justify="right") for j in range(n)]
        for columns in ([numbers, named] + cells, [numbers] + cells):
            if fits(columns, width, compact):
                layout = columns, digits, compact
                break
        if layout:
            break
    if layout is None:
        line = f"the {n} × {n} matrix is too wide for {width} columns: see --format csv or --format html (a heatmap)"
        return Group(title, notes_text([line] + notes + [r.error for r in m.failed]))
    columns, digits, compact = layout
    if digits < 6:
        notes.append(f"values to {digits} significant digits at this width (--format csv gives them all)")
    parts = [title, fitted_table(columns, width, compact)]
    if named not in columns:
        parts.append(numbered_names(names))
    notes += [r.error for r in m.failed]
    if notes:
        parts.append(notes_text(notes))
    return Group(*parts)


def _significant(value: float, digits: int) -> str:
    """``value`` to ``digits`` significant digits (``∞`` spelled out).

    >>> _significant(0.123456789, 3), _significant(float("inf"), 3)
    ('0.123', '∞')
    """
    value = float(value)
    if math.isinf(value) or value == 0:
        return format_number(value)
    return f"{value:.{digits}g}"


def families_table(records: list[dict], *, pairs: int, width: int | None = None):
    """The families table, fitted to ``width``; too narrow for one table, two, then one block per family."""

    width = width or DEFAULT_WIDTH
    title = Text("Distribution families (klcli compare 'family(args)' ...)")
    column = {
        "family": FitColumn("family", [r["family"] for r in records]),
        "parameters": FitColumn("parameters", [r["parameters"] for r in records]),
        "support": FitColumn("support", [r["support"] for r in records]),
        "kind": FitColumn("kind", [r["kind"] for r in records]),
        "closed": FitColumn("closed-form KL(P‖Q) with Q =", [", ".join(r["closed_form_with"]) or "-" for r in records]),
    }
    note = notes_text([f"{pairs} closed-form pairs; other pairs use quadrature (1-D) or Monte Carlo."])
    for groups in ((("family", "parameters", "support", "kind", "closed"),), (("family", "parameters", "support", "kind"), ("family", "closed"))):
        tables = [[column[name] for name in group] for group in groups]
        if all(fits(t, width) for t in tables):
            return Group(title, *(fitted_table(t, width) for t in tables), note)
    blocks = [
        f"{r['family']} ({r['kind']}; support {r['support']})\n  parameters: {r['parameters']}\n  closed form with: {', '.join(r['closed_form_with']) or '-'}"
        for r in records
    ]
    return Group(title, Text("\n".join(blocks)), note)
