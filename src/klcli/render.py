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

FORMATS = ("table", "json", "csv", "jsonl", "html")

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


def write_lines(records: Iterable[Any]) -> None:
    """``--format jsonl``: one strict JSON object per line on stdout, each flushed as it is written."""
    for record in records:
        sys.stdout.write(to_json(record) + "\n")
        sys.stdout.flush()


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
    if c.interval:
        record["interval"] = {key: list(bounds) for key, bounds in c.interval.items()}
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


def comparison_rows(c: Comparison, **extra: Any) -> list[dict]:
    """One record per batch row for ``--reduction none``, else one record (``extra`` first: ``p``, ``q``)."""
    record = comparison_record(c, **extra)
    lists = {k: v for k, v in record.items() if k in VALUE_KEYS and isinstance(v, list)}
    if not lists:
        return [record]
    n = len(next(iter(lists.values())))
    rows = []
    for i in range(n):
        row: dict[str, Any] = {"row": i}
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


#: ``--color``: ``always``, ``never``, or None (auto: colour on a terminal, unless ``NO_COLOR`` is set
#: or ``FORCE_COLOR`` asks for it anyway; rich reads both variables).
COLOR: str | None = None


def console(stderr: bool = False):
    """A rich console on stdout (or stderr); imported lazily to keep start-up fast."""
    from rich.console import Console

    color: dict[str, Any] = {}
    if COLOR == "never":
        color = {"no_color": True, "color_system": None}
    elif COLOR == "always":
        color = {"no_color": False, "force_terminal": True}
    return Console(file=sys.stderr if stderr else sys.stdout, highlight=False, soft_wrap=False, markup=False, emoji=False, **color)


def print_comparison(c: Comparison, fmt: str, *, p_name: str, q_name: str, plot: bool = False) -> None:
    """Print one comparison in ``fmt`` (table, json, csv or html) to stdout; ``plot`` adds pictures to the table."""
    if fmt == "json":
        sys.stdout.write(to_json(comparison_record(c, p=p_name, q=q_name)) + "\n")
    elif fmt == "csv":
        rows = comparison_rows(c, p=p_name, q=q_name)
        sys.stdout.write(records_to_csv(rows, keys=["row", "p", "q"] if _is_batch(c) else ["p", "q"]))
    elif fmt == "html":
        from klcli.report.html import comparison_page

        sys.stdout.write(comparison_page(c, p_name=p_name, q_name=q_name))
    else:
        from klcli.report.tables import comparison_table

        out = console()
        out.print(comparison_table(c, p_name=p_name, q_name=q_name, width=out.width))
        if plot:
            from klcli.report.terminal import comparison_plot

            out.print()
            out.print(comparison_plot(c, width=out.width))
        if any(key in c.info for key in ("summary", "perplexity_p")):
            out.print(rows_table(c))


#: How the per-row statistics of ``--summary`` are labelled in the table.
SUMMARY_LABELS = {"kl_pq": "KL(P‖Q)", "kl_qp": "KL(Q‖P)", "symmetric_kl": "sym. KL", "js": "JS", "delta_p": "Δp"}


def rows_table(c: Comparison):
    """``--summary`` and ``--targets``: per-row statistics, one line per divergence, and perplexities below.

    Four significant digits keep it within 80 columns; JSON has every statistic in full (and p90).
    """
    from rich import box
    from rich.table import Table

    summary = c.info.get("summary", {})
    short = lambda v: "" if v is None else format_number(v) if isinstance(v, str) or math.isinf(v) or v == 0 else f"{v:.4g}"  # noqa: E731
    title = f"per-row statistics of {c.info['rows']:,} rows, in {unit_name(c.base)}" + (
        " (Δp = p(target) − q(target))" if "delta_p" in summary else ""
    )
    table = Table(title=title, title_justify="left", caption_justify="left", box=box.SIMPLE_HEAD)
    for name in ("", "mean ± stderr", "median", "p99", "p99.9", "max"):
        table.add_column(name, justify="left" if not name else "right", no_wrap=True)
    notes = []
    for key, stats in summary.items():
        spread = "" if stats["stderr"] is None else f" ± {short(stats['stderr'])}"
        table.add_row(SUMMARY_LABELS[key], short(stats["mean"]) + spread, *(short(stats[k]) for k in ("median", "p99", "p99_9", "max")))
        if stats.get("top") and key in ("kl_pq", "js"):
            notes.append(f"largest {SUMMARY_LABELS[key]}: rows {', '.join(str(t['row']) for t in stats['top'])}")
    if "top1_agreement" in c.info:
        notes.append(f"top-1 agreement (same arg-max): {c.info['top1_agreement']:.2%} of rows")
    if "perplexity_p" in c.info:
        ratio = c.info.get("log_perplexity_ratio")
        shown = "" if ratio is None else f", log(PPL(P)/PPL(Q)) = {short(ratio)}"
        notes.append(f"perplexity on the targets: P {short(c.info['perplexity_p'])}, Q {short(c.info['perplexity_q'])}{shown}")
    if not summary:  # --targets alone: the perplexities as a line
        table = Table(box=None, show_header=False, pad_edge=False)
        table.add_column()
        table.add_row(*(f"• {note}" for note in notes))
        return table
    table.caption = "\n".join(f"• {note}" for note in notes)
    return table


def _is_batch(c: Comparison) -> bool:
    return any(isinstance(v, np.ndarray) for v in c.values.values())


# ---------------------------------------------------------------------------
# Batch and pairwise results

#: Columns of the batch table, in order.
BATCH_TABLE_KEYS = ("kl_pq", "kl_qp", "symmetric_kl", "js", "js_distance")


def batch_records(results, *, reference: str) -> list[dict]:
    """One JSON object per file: the ``compare`` object plus ``"file"``, or ``file`` and ``error``."""
    return [{"file": r.file, "error": r.error} if r.failed else comparison_record(r.comparison, file=r.file, p=r.file, q=reference) for r in results]


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


def print_batch(results, fmt: str, *, reference: str, base: str, total: int, plot: bool = False, metric: str = "kl_pq") -> None:
    """Print batch results in ``fmt`` (table, json, csv or html) to stdout; ``plot`` adds a bar per file of ``metric``."""
    if fmt == "json":
        sys.stdout.write(to_json(batch_records(results, reference=reference)) + "\n")
    elif fmt == "jsonl":
        write_lines(batch_records(results, reference=reference))
    elif fmt == "csv":
        sys.stdout.write(records_to_csv(batch_records(results, reference=reference), keys=["file"]))
    elif fmt == "html":
        from klcli.report.html import batch_page

        sys.stdout.write(batch_page(results, reference=reference, base=base, total=total, metric=metric))
    else:
        from klcli.report.tables import batch_table

        out = console()
        table, numbered = batch_table(
            results, reference=reference, base=base, total=total, width=out.width, keep=tuple(dict.fromkeys(("kl_pq", "js", metric)))
        )
        out.print(table)
        if plot:
            from klcli.report.terminal import batch_plot

            out.print()
            out.print(batch_plot(results, metric=metric, base=base, width=out.width, numbered=numbered))


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


def print_pairwise(m, fmt: str, *, plot: bool = False) -> None:
    """Print a pairwise matrix in ``fmt`` (table, json, csv or html) to stdout; ``plot`` adds a shaded matrix."""
    if fmt == "json":
        sys.stdout.write(to_json(pairwise_record(m)) + "\n")
    elif fmt == "csv":
        sys.stdout.write(pairwise_csv(m))
    elif fmt == "html":
        from klcli.report.html import pairwise_page

        sys.stdout.write(pairwise_page(m))
    else:
        from klcli.report.tables import pairwise_table

        out = console()
        out.print(pairwise_table(m, width=out.width))
        if plot:
            from klcli.report.terminal import pairwise_plot

            out.print()
            out.print(pairwise_plot(m, width=out.width))


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
        self._bar: Any = None

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
    notes += [
        f"{c['column']}: missing {c['reference_missing_rate']:.1%} in the reference, {c['current_missing_rate']:.1%} now"
        for c in columns
        if c["reference_missing_rate"] or c["current_missing_rate"]
    ]
    notes += [
        f"{c['column']}: {c['unseen_count']} unseen categor{'y' if c['unseen_count'] == 1 else 'ies'}: {', '.join(c['unseen_categories'][:5])}"
        + (", ..." if c["unseen_count"] > 5 else "")
        for c in columns
        if c.get("unseen_count")
    ]
    return notes + list(report.get("warnings", []))


def _value_text(c: dict) -> str:
    return "-" if c["value"] is None else f"{c['value']:.4g}"


def _p_text(c: dict) -> str:
    return "-" if c["p_value"] is None else "<1e-300" if c["p_value"] == 0 else f"{c['p_value']:.2g}"


def drift_table(report: dict, *, reference: str, current: str, width: int | None = None):
    """One row per column, coloured by severity, fitted to ``width``; text from the data is escaped.

    When the table is too wide, the top contributors (then the kind) move to
    a second table; when even that does not fit, each column gets a block.
    """
    from rich.console import Group
    from rich.text import Text

    from klcli.report.fit import DEFAULT_WIDTH, FitColumn, fits, fitted_table, notes_text
    from klcli.text import escape_terminal

    width = width or DEFAULT_WIDTH
    columns = report["columns"]
    uniform = len({(c["metric"], c["threshold"]) for c in columns}) == 1
    title = f"reference: {escape_terminal(reference)}\ncurrent:   {escape_terminal(current)}"
    if uniform and columns and columns[0]["threshold"] is not None:
        unit = f" ({columns[0]['unit']})" if columns[0]["unit"] else ""
        title += f"\nmetric:    {columns[0]['metric']}{unit}, threshold {format_number(columns[0]['threshold'])}"
    styles = {"drift": ("DRIFT", "bold red"), "warn": ("warn", "yellow"), "ok": ("ok", "green")}

    def severity(c: dict):
        word, style = styles[c["severity"]]
        return Text(word if c["status"] == "compared" else f"{word} ({c['status']})", style=style)

    cells = {
        "column": FitColumn("column", [c["column"] for c in columns]),
        "kind": FitColumn("kind", [c["kind"] for c in columns]),
        "metric": FitColumn("metric", [c["metric"] for c in columns]),
        "value": FitColumn("value", [_value_text(c) for c in columns], justify="right"),
        "threshold": FitColumn("threshold", ["-" if c["threshold"] is None else format_number(c["threshold"]) for c in columns], justify="right"),
        "p": FitColumn("p", [_p_text(c) for c in columns], justify="right"),
        "severity": FitColumn("severity", [severity(c) for c in columns]),
        "top": FitColumn("top contributors", [contributors_text(c) for c in columns]),
    }
    main = ["column", "kind"] + ([] if uniform else ["metric"]) + ["value"] + ([] if uniform else ["threshold"]) + ["p", "severity"]
    layouts = [(main + ["top"], []), (main, ["column", "top"]), ([k for k in main if k != "kind"], ["column", "kind", "top"])]
    units = sorted({f"{c['metric']} in {c['unit']}" for c in columns if c["unit"]})
    notes = notes_text([drift_summary(report)] + (["; ".join(units)] if units else []) + drift_notes(report))
    for first, second in layouts:
        tables = [[cells[k] for k in first]] + ([[cells[k] for k in second]] if second else [])
        if all(fits(t, width) for t in tables):
            return Group(Text(title), *(fitted_table(t, width) for t in tables), notes)
    blocks = Text()
    for c in columns:
        blocks.append(escape_terminal(c["column"]) + "\n", style="bold")
        blocks.append(f"  {c['kind']}, {c['metric']} {_value_text(c)} (threshold {cells['threshold'].cells[columns.index(c)]}, p {_p_text(c)}) ")
        blocks.append_text(severity(c))
        blocks.append(f"\n  top contributors: {escape_terminal(contributors_text(c)) or '-'}\n")
    return Group(Text(title), blocks, notes)


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
        lines.append(
            f"| {cell(c['column'])} | {c['kind']} | {c['metric']} | {value} | {threshold} | {_p_text(c)} | {severity} | {missing} | {cell(contributors_text(c))} |"
        )
    notes = drift_notes(report)
    if notes:
        lines.append("")
        lines += [f"- {cell(note)}" for note in notes]
    return "\n".join(lines) + "\n"


def drift_csv(report: dict) -> str:
    """CSV, one line per column; the top contributors as one text field; booleans ``true``/``false``."""
    rows = []
    for c in report["columns"]:
        row = {
            k: ("true" if v else "false") if isinstance(v, bool) else ("" if v is None else v)
            for k, v in c.items()
            if not isinstance(v, (list, dict))
        }
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


def print_drift(report: dict, fmt: str, *, reference: str, current: str, plot: bool = False, report_object=None) -> None:
    """Print a drift report in ``fmt`` (table, json, csv, markdown or html) to stdout.

    ``report_object`` (the :class:`~klcli.drift.DriftReport` behind ``report``)
    holds every column's bins, for ``plot`` and html.
    """
    if fmt == "json":
        sys.stdout.write(to_json(report) + "\n")
    elif fmt == "jsonl":
        summary = {k: v for k, v in report.items() if k != "columns"}
        write_lines([*report["columns"], summary])
    elif fmt == "csv":
        sys.stdout.write(drift_csv(plain(report)))
    elif fmt == "markdown":
        sys.stdout.write(drift_markdown(report, reference=reference, current=current))
    elif fmt == "html":
        from klcli.report.html import drift_page

        sys.stdout.write(drift_page(report_object, reference=reference, current=current))
    else:
        out = console()
        out.print(drift_table(report, reference=reference, current=current, width=out.width))
        if plot:
            from klcli.report.terminal import drift_plot

            out.print()
            out.print(drift_plot(report_object, width=out.width))
