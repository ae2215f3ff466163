"""Turn results into a rich table for people, or strict JSON / CSV for machines.

Data goes to stdout, messages to stderr. JSON is strict (RFC 8259): an infinite
value is the string ``"inf"`` (``"-inf"``), and a NaN is a bug that is refused
rather than printed.

>>> to_json({"kl": float("inf"), "js": 0.5})
'{"kl": "inf", "js": 0.5}'
"""

from __future__ import annotations

import csv
import io
import json
import math
import sys
from typing import Any, Iterable

import numpy as np

from klcli.result import VALUE_KEYS, Comparison

FORMATS = ("table", "json", "csv")

#: How each value is labelled in the table.
LABELS = {
    "kl_pq": "KL(P‖Q)",
    "kl_qp": "KL(Q‖P)",
    "symmetric_kl": "symmetric KL",
    "js": "JS divergence",
    "js_distance": "JS distance",
    "entropy_p": "H(P)",
    "entropy_q": "H(Q)",
    "cross_entropy_pq": "cross-entropy H(P,Q)",
    "cross_entropy_qp": "cross-entropy H(Q,P)",
}

UNITS = {"e": "nats", "2": "bits", "10": "hartleys"}


def unit_name(base: str) -> str:
    """``nats``, ``bits``, ``hartleys`` or ``log-base-B units``."""
    return UNITS.get(base, f"log-base-{base} units")


# ---------------------------------------------------------------------------
# Plain data


def plain(value: Any) -> Any:
    """Convert numpy scalars/arrays, tuples and infinities into JSON-ready values."""
    kind = type(value)
    if kind is float and value - value == 0 or kind in (str, int, bool) or value is None:  # the common cases
        return value
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    if isinstance(value, np.ndarray):
        return [plain(v) for v in value.tolist()]
    if isinstance(value, (np.bool_, bool)):
        return bool(value)
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        value = float(value)
        if math.isnan(value):
            raise ValueError("internal error: a NaN reached the output")
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        return value
    return value


def to_json(obj: Any) -> str:
    """Strict JSON text of ``obj`` (see :func:`plain`)."""
    return json.dumps(plain(obj), ensure_ascii=False, allow_nan=False)


def comparison_record(c: Comparison, **extra: Any) -> dict:
    """The JSON object SPEC.md describes for one comparison.

    >>> c = Comparison.from_nats({"kl_pq": 0.5, "kl_qp": 0.25, "js": 0.1}, method="exact")
    >>> sorted(comparison_record(c, p="a", q="b"))[:5]
    ['base', 'js', 'js_distance', 'kl_pq', 'kl_qp']
    """
    record: dict[str, Any] = dict(extra)
    record.update(c.values)
    record["base"] = c.base
    record["unit"] = unit_name(c.base)
    record["method"] = dict(c.method)
    record["stderr"] = dict(c.stderr)
    for key, value in c.info.items():
        record.setdefault(key, value)
    if c.notes:
        record["notes"] = list(c.notes)
    return plain(record)


# ---------------------------------------------------------------------------
# CSV


def records_to_csv(records: list[dict], keys: Iterable[str] | None = None) -> str:
    """CSV with one line per record: scalar fields only, errors as ``<key>_stderr``."""
    rows = []
    for record in records:
        row = {k: v for k, v in record.items() if not isinstance(v, (dict, list))}
        for key, err in record.get("stderr", {}).items():
            row[f"{key}_stderr"] = err
        rows.append(row)
    fieldnames = list(keys) if keys else []
    for row in rows:
        fieldnames += [k for k in row if k not in fieldnames]
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=fieldnames, lineterminator="\n", extrasaction="ignore")
    writer.writeheader()
    writer.writerows(rows)
    return buffer.getvalue()


def comparison_rows(c: Comparison) -> list[dict]:
    """One record per batch row for ``--reduction none``, else one record."""
    record = comparison_record(c)
    lists = {k: v for k, v in record.items() if k in VALUE_KEYS and isinstance(v, list)}
    if not lists:
        return [record]
    n = len(next(iter(lists.values())))
    rows = []
    for i in range(n):
        row = {"row": i}
        row.update({k: (v[i] if k in lists else v) for k, v in record.items() if not isinstance(v, dict)})
        row["stderr"] = {k: (v[i] if isinstance(v, list) else v) for k, v in record["stderr"].items()}
        rows.append(row)
    return rows


# ---------------------------------------------------------------------------
# Tables


def format_number(value: Any) -> str:
    """Six significant digits; ``inf`` spelled out."""
    if isinstance(value, str):
        return value
    value = float(value)
    if math.isinf(value):
        return "∞" if value > 0 else "-∞"
    if value == 0:
        return "0"
    return f"{value:.6g}"


def console(stderr: bool = False):
    """A rich console on stdout (or stderr); imported lazily to keep start-up fast."""
    from rich.console import Console

    return Console(file=sys.stderr if stderr else sys.stdout, highlight=False, soft_wrap=False, markup=False)


def print_table(table) -> None:
    """Print a rich table on stdout, its text from the data escaped first.

    Titles, captions (notes) and plain-text cells can hold file names, labels
    and column names: their control and bidi characters are spelled out
    (:func:`klcli.text.escape_terminal`), line by line, so the table's own
    line breaks stay. Styled cells (``rich.text.Text``) are klcli's own words.
    """
    from klcli.text import escape_terminal

    def lines(text):
        return "\n".join(escape_terminal(line) for line in text.split("\n")) if isinstance(text, str) else text

    table.title, table.caption = lines(table.title), lines(table.caption)
    for column in table.columns:
        column.header = lines(column.header)
        column._cells = [escape_terminal(cell) if isinstance(cell, str) else cell for cell in column._cells]
    console().print(table)


def comparison_table(c: Comparison, *, p_name: str, q_name: str):
    """A rich table of every value, its method and standard error, with notes below."""
    from rich.table import Table

    unit = unit_name(c.base)
    batch = any(isinstance(v, np.ndarray) for v in c.values.values())
    title = f"P: {p_name}   Q (reference): {q_name}"
    table = Table(title=title, title_justify="left", caption_justify="left", show_lines=False)
    if batch:
        keys = [k for k in ("kl_pq", "kl_qp", "symmetric_kl", "js", "js_distance") if k in c.values]
        table.add_column("row", justify="right", style="dim")
        for key in keys:
            table.add_column(f"{LABELS[key]}", justify="right")
        n = len(next(v for v in c.values.values() if isinstance(v, np.ndarray)))
        for i in range(n):
            table.add_row(str(i), *(format_number(np.asarray(c.values[k]).ravel()[i]) for k in keys))
    else:
        has_stderr = bool(c.stderr)
        table.add_column("quantity")
        table.add_column(f"value ({unit})", justify="right", style="bold")
        if has_stderr:
            table.add_column("± std. error", justify="right")
        table.add_column("method", style="dim")
        for key, value in c.values.items():
            if key not in LABELS:
                continue
            label = LABELS[key] + (" (√ of JS)" if key == "js_distance" else "")
            cells = [label, format_number(value)]
            if has_stderr:
                cells.append(format_number(c.stderr[key]) if key in c.stderr else "")
            cells.append(c.method.get(key, "").replace("_", " "))
            table.add_row(*cells)
    notes = list(c.notes)
    if batch:
        notes.insert(0, f"values in {unit}, one row per input row (--reduction none)")
    if notes:
        table.caption = "\n".join(f"• {note}" for note in notes)
    return table


def print_comparison(c: Comparison, fmt: str, *, p_name: str, q_name: str) -> None:
    """Print one comparison in ``fmt`` (table, json or csv) to stdout."""
    if fmt == "json":
        sys.stdout.write(to_json(comparison_record(c, p=p_name, q=q_name)) + "\n")
    elif fmt == "csv":
        sys.stdout.write(records_to_csv(comparison_rows(c), keys=["row"] if _is_batch(c) else None))
    else:
        print_table(comparison_table(c, p_name=p_name, q_name=q_name))


def _is_batch(c: Comparison) -> bool:
    return any(isinstance(v, np.ndarray) for v in c.values.values())


# ---------------------------------------------------------------------------
# Batch and pairwise results

#: Columns of the batch table, in order.
BATCH_TABLE_KEYS = ("kl_pq", "kl_qp", "symmetric_kl", "js", "js_distance")


def batch_records(results, *, reference: str) -> list[dict]:
    """One JSON object per file: the ``compare`` object plus ``"file"``, or ``file`` and ``error``."""
    return [
        {"file": r.file, "error": r.error} if r.failed else comparison_record(r.comparison, file=r.file, p=r.file, q=reference)
        for r in results
    ]


def shared_folder(files) -> tuple[str, list[str]]:
    """The folder every file is in (``""`` if none), and the names relative to it.

    >>> shared_folder(["data/a.csv", "data/b.csv"])
    ('data/', ['a.csv', 'b.csv'])
    """
    import os

    folders = {os.path.dirname(f) for f in files}
    if len(files) < 2 or len(folders) != 1 or folders == {""}:
        return "", list(files)
    folder = folders.pop()
    return folder + os.sep, [os.path.basename(f) for f in files]


def batch_table(results, *, reference: str, base: str, total: int):
    """A rich table with one row per file; a failed file's row says so."""
    from rich.table import Table
    from rich.text import Text

    folder, names = shared_folder([r.file for r in results])
    title = f"Q (reference): {reference}   values in {unit_name(base)}" + (f"\nfiles in {folder}" if folder else "")
    table = Table(title=title, title_justify="left", caption_justify="left")
    table.add_column("file (P)", overflow="fold")
    for key in BATCH_TABLE_KEYS:
        table.add_column(LABELS[key], justify="right", no_wrap=True)
    notes = []
    for r, name in zip(results, names):
        if r.failed:
            table.add_row(name, Text("failed", style="red"), *[""] * (len(BATCH_TABLE_KEYS) - 1))
            notes.append(r.error)
        else:
            table.add_row(name, *(format_number(np.max(r.comparison.values[k])) for k in BATCH_TABLE_KEYS))
    if len(results) < total:
        notes.insert(0, f"showing {len(results)} of {total} files")
    if any(not r.failed and r.comparison.info.get("rows") for r in results):
        notes.append("a file holding several rows shows its --reduction (with none: the largest row)")
    if notes:
        table.caption = "\n".join(f"• {note}" for note in notes)
    return table


def print_batch(results, fmt: str, *, reference: str, base: str, total: int) -> None:
    """Print batch results in ``fmt`` (table, json or csv) to stdout."""
    if fmt == "json":
        sys.stdout.write(to_json(batch_records(results, reference=reference)) + "\n")
    elif fmt == "csv":
        sys.stdout.write(records_to_csv(batch_records(results, reference=reference), keys=["file"]))
    else:
        print_table(batch_table(results, reference=reference, base=base, total=total))


def pairwise_record(m) -> dict:
    """``{"files", "metric", "base", "matrix"}`` (plus ``"errors"`` when files were left out)."""
    record = {"files": list(m.files), "metric": m.metric, "base": m.base, "matrix": m.matrix}
    if m.failed:
        record["errors"] = [{"file": r.file, "error": r.error} for r in m.failed]
    return plain(record)


def pairwise_csv(m) -> str:
    """A square CSV: a ``file`` column, then one column per file (rows are P, columns Q)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["file", *m.files])
    for name, row in zip(m.files, plain(m.matrix)):
        writer.writerow([name, *row])
    return buffer.getvalue()


def pairwise_table(m):
    """A rich table of the matrix; columns are numbered to keep it narrow."""
    from rich.table import Table

    symmetric = m.metric not in ("kl_pq", "kl_qp")
    label = LABELS.get(m.metric, m.metric)
    folder, names = shared_folder(m.files)
    title = f"{label} in {unit_name(m.base)}" + (f", files in {folder}" if folder else "")
    table = Table(title=title, title_justify="left", caption_justify="left")
    table.add_column("#", justify="right", style="dim")
    table.add_column("file", overflow="fold")
    for j in range(len(m.files)):
        table.add_column(str(j + 1), justify="right", no_wrap=True)
    for i, name in enumerate(names):
        table.add_row(str(i + 1), name, *(format_number(v) for v in m.matrix[i]))
    notes = [] if symmetric else ["rows are P, columns are Q: KL is not symmetric"]
    notes += [r.error for r in m.failed]
    if notes:
        table.caption = "\n".join(f"• {note}" for note in notes)
    return table


def print_pairwise(m, fmt: str) -> None:
    """Print a pairwise matrix in ``fmt`` (table, json or csv) to stdout."""
    if fmt == "json":
        sys.stdout.write(to_json(pairwise_record(m)) + "\n")
    elif fmt == "csv":
        sys.stdout.write(pairwise_csv(m))
    else:
        print_table(pairwise_table(m))


class DelayedProgress:
    """A rich progress bar on stderr that appears only once a run has taken
    more than ``delay`` seconds, and only when stderr is a terminal.

    Use as a context manager; call the instance with the number of items done.
    """

    def __init__(self, total: int, description: str, *, delay: float = 1.0, stream=None) -> None:
        import time

        self._clock = time.monotonic
        self._start = self._clock()
        self._total, self._description, self._delay = total, description, delay
        self._stream = stream or sys.stderr
        self._enabled = bool(getattr(self._stream, "isatty", lambda: False)())
        self._done = 0
        self._bar = None

    def __call__(self, advance: int) -> None:
        self._done += advance
        if not self._enabled:
            return
        if self._bar is None and self._clock() - self._start > self._delay:
            from rich.console import Console
            from rich.progress import Progress

            self._bar = Progress(console=Console(file=self._stream), transient=True)
            self._bar.start()
            self._task = self._bar.add_task(self._description, total=self._total, completed=self._done)
        elif self._bar is not None:
            self._bar.update(self._task, completed=self._done)

    def __enter__(self) -> "DelayedProgress":
        return self

    def __exit__(self, *exc) -> None:
        if self._bar is not None:
            self._bar.stop()

# Drift reports (``klcli drift``)

DRIFT_FORMATS = ("table", "json", "csv", "markdown")


def contributors_text(record: dict) -> str:
    """The bins that contribute most (as many as ``--top`` kept), as ``label (share%)``, separated by ``; ``.

    >>> contributors_text({"top_contributors": [{"bin": "a", "contribution": 0.61}, {"bin": "b", "contribution": 0.2}]})
    'a (61%); b (20%)'
    """
    return "; ".join(f"{c['bin']} ({c['contribution']:.0%})" for c in record["top_contributors"])


def drift_summary(report: dict) -> str:
    """One line: how many columns drifted, and which (raw text: escape it for the output)."""
    drifted = [c["column"] for c in report["columns"] if c["severity"] == "drift"]
    total = len(report["columns"])
    if not drifted:
        return f"no drift in {total} column{'s' if total != 1 else ''}"
    verdict = "" if report["drifted"] else f" (below the rule: {report['rule']})"
    return f"drift in {len(drifted)} of {total} columns: {', '.join(drifted)}{verdict}"


def drift_notes(report: dict) -> list[str]:
    """Reasons, missing shares, unseen categories and warnings, one line each (raw text)."""
    columns = report["columns"]
    notes = [f"{c['column']}: {c['status']}: {c['reason']}" for c in columns if c["reason"]]
    notes += [f"{c['column']}: missing {c['reference_missing_rate']:.1%} in the reference, {c['current_missing_rate']:.1%} now" for c in columns if c["reference_missing_rate"] or c["current_missing_rate"]]
    notes += [f"{c['column']}: {c['unseen_count']} unseen categor{'y' if c['unseen_count'] == 1 else 'ies'}: {', '.join(c['unseen_categories'][:5])}" + (", ..." if c["unseen_count"] > 5 else "") for c in columns if c.get("unseen_count")]
    return notes + list(report.get("warnings", []))


def _value_text(c: dict) -> str:
    return "-" if c["value"] is None else f"{c['value']:.4g}"


def _p_text(c: dict) -> str:
    return "-" if c["p_value"] is None else "<1e-300" if c["p_value"] == 0 else f"{c['p_value']:.2g}"


def drift_table(report: dict, *, reference: str, current: str):
    """A rich table: one row per column, coloured by severity; text from the data is escaped."""
    from rich.table import Table
    from rich.text import Text

    from klcli.text import escape_terminal

    columns = report["columns"]
    uniform = len({(c["metric"], c["threshold"]) for c in columns}) == 1
    title = f"reference: {escape_terminal(reference)}\ncurrent:   {escape_terminal(current)}"
    if uniform and columns and columns[0]["threshold"] is not None:
        unit = f" ({columns[0]['unit']})" if columns[0]["unit"] else ""
        title += f"\nmetric:    {columns[0]['metric']}{unit}, threshold {format_number(columns[0]['threshold'])}"
    table = Table(title=Text(title), title_justify="left", caption_justify="left")
    headers = [("column", "left", 8), ("kind", "left", None)]
    headers += [] if uniform else [("metric", "left", None)]
    headers += [("value", "right", None)] + ([] if uniform else [("threshold", "right", None)])
    headers += [("p", "right", None), ("severity", "left", None), ("top contributors", "left", 16)]
    for name, justify, min_width in headers:
        table.add_column(name, justify=justify, min_width=min_width, overflow="fold")
    styles = {"drift": ("DRIFT", "bold red"), "warn": ("warn", "yellow"), "ok": ("ok", "green")}
    for c in columns:
        word, style = styles[c["severity"]]
        status = Text(word if c["status"] == "compared" else f"{word} ({c['status']})", style=style)
        cells = [Text(escape_terminal(c["column"])), c["kind"]] + ([] if uniform else [c["metric"]]) + [_value_text(c)]
        cells += ([] if uniform else ["-" if c["threshold"] is None else format_number(c["threshold"])]) + [_p_text(c), status, Text(escape_terminal(contributors_text(c)))]
        table.add_row(*cells)
    units = sorted({f"{c['metric']} in {c['unit']}" for c in columns if c["unit"]})
    notes = [drift_summary(report)] + (["; ".join(units)] if units else []) + drift_notes(report)
    table.caption = Text("\n".join(f"• {escape_terminal(note)}" for note in notes))
    return table


def drift_markdown(report: dict, *, reference: str, current: str) -> str:
    """A Markdown report for a pull-request comment; text from the data is escaped (``| < >`` included)."""
    from klcli.text import escape_markdown as cell

    icon = {"drift": "**drift**", "warn": "warn", "ok": "ok"}
    lines = [
        f"### Data drift: {'❌ ' if report['drifted'] else '✅ '}{cell(drift_summary(report))}",
        "",
        f"Reference {cell(reference)}, current {cell(current)}.",
        "",
        "| column | kind | metric | value | threshold | p-value | severity | missing (ref → cur) | top contributors |",
        "| --- | --- | --- | ---: | ---: | ---: | --- | ---: | --- |",
    ]
    for c in report["columns"]:
        severity = icon[c["severity"]] + ("" if c["status"] == "compared" else f" ({c['status']})")
        missing = "-" if c["reference_missing_rate"] is None else f"{c['reference_missing_rate']:.1%} → {c['current_missing_rate']:.1%}"
        threshold = "-" if c["threshold"] is None else format_number(c["threshold"])
        value = "-" if c["value"] is None else format_number(c["value"])
        lines.append(f"| {cell(c['column'])} | {c['kind']} | {c['metric']} | {value} | {threshold} | {_p_text(c)} | {severity} | {missing} | {cell(contributors_text(c))} |")
    notes = drift_notes(report)
    if notes:
        lines.append("")
        lines += [f"- {cell(note)}" for note in notes]
    return "\n".join(lines) + "\n"


def drift_csv(report: dict) -> str:
    """CSV, one line per column; the top contributors as one text field; booleans ``true``/``false``."""
    rows = []
    for c in report["columns"]:
        row = {k: ("true" if v else "false") if isinstance(v, bool) else ("" if v is None else v) for k, v in c.items() if not isinstance(v, (list, dict))}
        row["top_contributors"] = contributors_text(c)
        if "unseen_categories" in c:
            row["unseen_categories"] = ";".join(c["unseen_categories"])
        rows.append(row)
    return records_to_csv(rows)


def drift_junit(report: dict, *, reference: str, current: str) -> str:
    """JUnit XML: one test case per column, a failure for each drifting one, skipped when not compared.

    Written by hand with :mod:`klcli.text`'s XML escapes, so any column or
    category name (control characters included) gives well-formed XML 1.0.
    """
    from klcli.text import escape_xml, escape_xml_attribute as attr

    columns = report["columns"]
    failures = sum(c["severity"] == "drift" for c in columns)
    skipped = sum(c["value"] is None and c["severity"] != "drift" for c in columns)
    lines = [
        '<?xml version="1.0" encoding="UTF-8"?>',
        f'<testsuites name="klcli drift" tests="{len(columns)}" failures="{failures}">',
        f'  <testsuite name="{attr(f"drift {current} vs {reference}")}" tests="{len(columns)}" failures="{failures}" errors="0" skipped="{skipped}">',
    ]
    for c in columns:
        lines.append(f'    <testcase classname="klcli.drift" name="{attr(c["column"])}">')
        value = "-" if c["value"] is None else format_number(c["value"])
        threshold = "-" if c["threshold"] is None else format_number(c["threshold"])
        detail = f"{c['metric']} = {value} {c['unit']} (threshold {threshold}, p-value {_p_text(c)}, severity {c['severity']}, status {c['status']}); top contributors: {contributors_text(c)}"
        if c["reason"]:
            detail += f"; {c['reason']}"
        if c["severity"] == "drift":
            message = f"{c['column']}: {c['metric']} {value} > {threshold}" if c["value"] is not None else f"{c['column']}: {c['status']}"
            lines.append(f'      <failure message="{attr(message)}" type="drift">{escape_xml(detail)}</failure>')
        elif c["value"] is None:
            lines.append(f'      <skipped message="{attr(c["status"] + ": " + c["reason"])}"/>')
        else:
            lines.append(f"      <system-out>{escape_xml(detail)}</system-out>")
        lines.append("    </testcase>")
    lines += ["  </testsuite>", "</testsuites>"]
    return "\n".join(lines) + "\n"


def print_drift(report: dict, fmt: str, *, reference: str, current: str) -> None:
    """Print a drift report in ``fmt`` (table, json, csv or markdown) to stdout."""
    if fmt == "json":
        sys.stdout.write(to_json(report) + "\n")
    elif fmt == "csv":
        sys.stdout.write(drift_csv(plain(report)))
    elif fmt == "markdown":
        sys.stdout.write(drift_markdown(report, reference=reference, current=current))
    else:
        print_table(drift_table(report, reference=reference, current=current))
