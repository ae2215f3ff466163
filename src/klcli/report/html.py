"""``--format html``: one self-contained page that works offline.

Everything is inline: the style sheet, and the charts as SVG (:mod:`klcli.report.charts`).
A Content-Security-Policy forbids the page any request (``default-src 'none'``;
only ``data:`` images, which the heatmap's embedded PNG is, and the inline
style). Every name and label is data, escaped with :func:`html.escape`.

>>> print(esc('<b>"x" & y</b>'))
&lt;b&gt;&quot;x&quot; &amp; y&lt;/b&gt;
"""

from __future__ import annotations

import math
from typing import Any, Iterable

import numpy as np

from klcli.text import escape_html

#: Forbids the page every request: no script, font, frame or remote image; inline styles and data: images only
#: (in-page links like ``#col-3`` are not requests).
CSP = "default-src 'none'; img-src data:; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'"

#: Bins in the compare page's chart and table; the rest are summed in one row.
TOP_BINS = 20

#: Rows of a table of files or batch rows; the rest are counted (``--format csv`` has them all).
MAX_TABLE_ROWS = 1000

#: Bars in a chart of files or rows (the largest values); the table lists them all.
MAX_BARS = 60

STYLE = """
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; color: #1b1b1b; margin: 2em auto; max-width: 75em; padding: 0 1em; }
h1 { font-size: 1.5em; margin-bottom: .2em; } h2 { font-size: 1.15em; margin-top: 2em; border-bottom: 1px solid #ddd; }
table { border-collapse: collapse; margin: .8em 0; } th, td { padding: .2em .7em; border-bottom: 1px solid #eee; text-align: left; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; } code { background: #f4f4f4; padding: 0 .25em; }
.drift { color: #b00020; font-weight: 600; } .ok { color: #1b7f3b; } .warn { color: #a15c00; font-weight: 600; }
.muted { color: #666; } figure { margin: 1em 0; } figure svg { max-width: 100%; height: auto; }
ul.notes { color: #444; } .scroll { overflow-x: auto; } td { white-space: nowrap; }
"""


def esc(value: Any) -> str:
    """Text for HTML: control characters spelled out, then ``& < > " '`` escaped (:func:`klcli.text.escape_html`)."""
    return escape_html(value)


def number(value: Any) -> str:
    """A value as the tables print it (six significant digits, ``∞``)."""
    from klcli.render import format_number

    return esc(format_number(value)) if value is not None and value != "" else ""


def page(title: str, body: Iterable[str]) -> str:
    """The whole document around ``body`` (strings of HTML already escaped)."""
    from klcli import __version__

    return (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        f'<meta http-equiv="Content-Security-Policy" content="{CSP}">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{esc(title)}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n"
        + "\n".join(body)
        + f'\n<p class="muted">klcli {esc(__version__)}: a self-contained report; it loads nothing.</p>\n</body>\n</html>\n'
    )


def table(headers: list[tuple[str, bool]], rows: Iterable[list[str]]) -> str:
    """An HTML table; ``headers`` are ``(text, numeric)``, cells are escaped HTML already."""
    numeric = ' class="num"'
    head = "".join(f"<th{numeric if num else ''}>{esc(text)}</th>" for text, num in headers)
    lines = []
    for row in rows:
        cells = "".join(f"<td{numeric if num else ''}>{cell}</td>" for (_, num), cell in zip(headers, row))
        lines.append(f"<tr>{cells}</tr>")
    return f'<div class="scroll"><table><thead><tr>{head}</tr></thead><tbody>' + "".join(lines) + "</tbody></table></div>"


def notes_list(notes: list[str]) -> str:
    return '<ul class="notes">' + "".join(f"<li>{esc(n)}</li>" for n in notes) + "</ul>" if notes else ""


def _more(count: int, what: str) -> str:
    """A line saying how many rows a table left out, or nothing."""
    return f'<p class="muted">{count:,} more {what}: <code>--format csv</code> lists them all.</p>' if count > 0 else ""


def figure(svg: str, caption: str) -> str:
    return f'<figure>{svg}<figcaption class="muted">{esc(caption)}</figcaption></figure>'


# ---------------------------------------------------------------------------
# compare


def comparison_page(c, *, p_name: str, q_name: str) -> str:
    """The compare report: the values, the divergence bars, and the bins that drive KL(P‖Q)."""
    from klcli.discrete import kl_terms
    from klcli.render import LABELS, unit_name
    from klcli.report import charts
    from klcli.result import parse_base

    unit = unit_name(c.base)
    body = [
        "<h1>klcli compare</h1>",
        f"<p>P: <code>{esc(p_name)}</code><br>Q (reference): <code>{esc(q_name)}</code><br>values in {esc(unit)}</p>",
    ]
    keys = [k for k in c.values if k in LABELS]
    batch = any(np.ndim(c.values[k]) for k in keys)
    if batch:
        rows = np.asarray(c.values["kl_pq"]).ravel()
        headers = [("row", True)] + [(LABELS[k], True) for k in keys]
        listed = min(len(rows), MAX_TABLE_ROWS)
        body.append(table(headers, ([str(i)] + [number(np.asarray(c.values[k]).ravel()[i]) for k in keys] for i in range(listed))))
        body.append(_more(len(rows) - listed, "rows"))
        from klcli.report.terminal import largest

        shown = largest(rows, MAX_BARS)
        caption = "KL(P‖Q) of each row" + (f" (the {len(shown)} largest of {len(rows)}, in row order)" if len(shown) < len(rows) else "")
        body.append(figure(charts.bars([f"row {i}" for i in shown], [rows[i] for i in shown], xlabel=f"KL(P‖Q), {unit}"), caption))
    else:
        headers = [("quantity", False), (f"value ({unit})", True)] + ([("± std. error", True)] if c.stderr else []) + [("method", False)]
        body.append(
            table(
                headers,
                (
                    [esc(LABELS[k]), number(c.values[k])]
                    + ([number(c.stderr.get(k, ""))] if c.stderr else [])
                    + [esc(c.method.get(k, "").replace("_", " "))]
                    for k in keys
                ),
            )
        )
        present = [k for k in ("kl_pq", "kl_qp", "js") if k in c.values]
        body.append(
            figure(
                charts.bars([LABELS[k] for k in present], [c.values[k] for k in present], xlabel=unit),
                "divergences (an infinite value is drawn as a full dark bar marked ∞)",
            )
        )
    body.append(notes_list(list(c.notes)))
    if c.bins is not None:
        body += _bins_section(c.bins, kl_terms(c.bins.p, c.bins.q) / parse_base(c.base)[1], unit)
    return page(f"klcli compare {p_name} vs {q_name}", body)


def _bins_section(bins, terms: np.ndarray, unit: str) -> list[str]:
    from klcli.report import charts

    from klcli.report.terminal import top_rows

    k = len(terms)
    rows = top_rows(bins, terms, TOP_BINS)
    shown = k if len(rows) == k else len(rows) - 1  # else the last row sums the rest
    total = float(terms.sum())
    share = (lambda t: f"{t / total:.1%}") if math.isfinite(total) and total > 0 else (lambda t: "")
    chart = charts.shares(
        [r[0] for r in rows], np.array([r[1] for r in rows]), np.array([r[2] for r in rows]), np.array([r[3] for r in rows], dtype=float), unit=unit
    )
    return [
        "<h2>Which bins drive KL(P‖Q)</h2>",
        f"<p>Each bin adds p·log(p/q) − p + q (never negative; the terms sum to KL(P‖Q)). "
        f"The {shown} largest of {k} bins{', the rest summed' if shown < k else ''}.</p>",
        figure(chart, "shares of P and Q per bin, and each bin's term of KL(P‖Q)"),
        table(
            [("bin", False), ("P share", True), ("Q share", True), (f"KL term ({unit})", True), ("of KL(P‖Q)", True)],
            ([esc(name), f"{p:.2%}", f"{q:.2%}", number(t), share(t) if math.isfinite(t) else "∞"] for name, p, q, t in rows),
        ),
    ]


# ---------------------------------------------------------------------------
# batch


def batch_page(results, *, reference: str, base: str, total: int, metric: str) -> str:
    """The batch report: a bar per file of ``metric`` (the largest :data:`MAX_BARS`) and every file's values."""
    from klcli.render import BATCH_TABLE_KEYS, LABELS, shared_folder, unit_name
    from klcli.report import charts

    unit = unit_name(base)
    folder, names = shared_folder([r.file for r in results])
    body = [
        "<h1>klcli batch</h1>",
        f"<p>Q (reference): <code>{esc(reference)}</code><br>values in {esc(unit)}"
        + (f"<br>files in <code>{esc(folder)}</code>" if folder else "")
        + (f"<br>showing {len(results)} of {total} files" if len(results) < total else "")
        + "</p>",
    ]
    done = [(name, float(np.max(r.comparison.values[metric]))) for name, r in zip(names, results) if not r.failed]
    if done:
        ranked = sorted(done, key=lambda item: -item[1] if not math.isnan(item[1]) else 0)[:MAX_BARS] if len(done) > MAX_BARS else done
        caption = f"{LABELS.get(metric, metric)} of each file" + (f" (the {MAX_BARS} largest of {len(done)})" if len(done) > MAX_BARS else "")
        body.append(figure(charts.bars([n for n, _ in ranked], [v for _, v in ranked], xlabel=f"{LABELS.get(metric, metric)}, {unit}"), caption))
    headers = [("file (P)", False)] + [(LABELS[k], True) for k in BATCH_TABLE_KEYS]
    rows = []
    for name, r in list(zip(names, results))[:MAX_TABLE_ROWS]:
        if r.failed:
            rows.append([esc(name), f'<span class="drift">failed</span>: {esc(r.error)}'] + [""] * (len(BATCH_TABLE_KEYS) - 1))
        else:
            rows.append([esc(name)] + [number(np.max(r.comparison.values[k])) for k in BATCH_TABLE_KEYS])
    body.append(table(headers, rows))
    body.append(_more(len(results) - len(rows), "files"))
    return page(f"klcli batch against {reference}", body)


def pairwise_page(m) -> str:
    """The pairwise report: a heatmap in cluster order, the files in that order, and the matrix."""
    from klcli.render import LABELS, shared_folder, unit_name
    from klcli.report import charts
    from klcli.report.terminal import cluster_display_order

    label = LABELS.get(m.metric, m.metric)
    unit = unit_name(m.base)
    folder, names = shared_folder(list(m.files))
    order = cluster_display_order(m)
    matrix = np.asarray(m.matrix, dtype=float)[np.ix_(order, order)]
    ordered = [names[i] for i in order]
    body = [
        "<h1>klcli batch --pairwise</h1>",
        f"<p>{esc(label)} in {esc(unit)} between every pair of {len(names)} files"
        + (f" in <code>{esc(folder)}</code>" if folder else "")
        + (". Rows are P, columns are Q: KL is not symmetric." if m.metric in ("kl_pq", "kl_qp") else ".")
        + "</p>",
        figure(
            charts.heatmap(matrix, title=f"{label} ({unit}), files in cluster order"),
            "files numbered in hierarchical-clustering order (average linkage, optimal leaf order) as in the table below: alike files sit together",
        ),
        notes_list([r.error for r in m.failed]),
    ]
    if len(names) <= 30:
        headers = [("#", True), ("file", False)] + [(str(j + 1), True) for j in range(len(names))]
        body.append(table(headers, ([str(i + 1), esc(name)] + [number(v) for v in row] for i, (name, row) in enumerate(zip(ordered, matrix)))))
    else:
        body.append(table([("#", True), ("file", False)], ([str(i + 1), esc(name)] for i, name in enumerate(ordered))))
        body.append('<p class="muted">The matrix itself: <code>--format csv</code>.</p>')
    return page("klcli batch --pairwise", body)


# ---------------------------------------------------------------------------
# drift


def drift_page(report, *, reference: str, current: str) -> str:
    """The drift report: the verdict, a summary table, then each column's histogram and contributions."""
    from klcli.render import drift_notes, drift_summary
    from klcli.report import charts

    record = report.record()
    columns = record["columns"]
    verdict = "drift" if record["drifted"] else "ok"
    body = [
        "<h1>klcli drift</h1>",
        f"<p>Reference <code>{esc(reference)}</code>, current <code>{esc(current)}</code>.</p>",
        f'<p class="{verdict}">{esc(drift_summary(record))}</p>',
        f'<p class="muted">The table drifts when {esc(record["rule"])}; a column drifts when its metric exceeds the threshold '
        "and the change is significant (G-test, Holm-adjusted p-value).</p>",
    ]
    headers = [
        ("column", False),
        ("kind", False),
        ("metric", False),
        ("value", True),
        ("threshold", True),
        ("p-value (Holm)", True),
        ("noise floor", True),
        ("severity", False),
        ("status", False),
    ]
    body.append(
        table(
            headers,
            (
                [
                    f'<a href="#col-{i}">{esc(c["column"])}</a>',
                    esc(c["kind"]),
                    esc(c["metric"]),
                    number(c["value"]),
                    number(c["threshold"]),
                    _p_value(c.get("p_value_adjusted", c["p_value"])),
                    number(c["noise_floor"]),
                    f'<span class="{c["severity"]}">{esc(c["severity"])}</span>',
                    esc(c["status"]),
                ]
                for i, c in enumerate(columns)
            ),
        )
    )
    body.append(notes_list(drift_notes(record)))
    for i, (c, column) in enumerate(zip(columns, report.columns)):
        body.append(f'<h2 id="col-{i}">{esc(c["column"])} <span class="{c["severity"]}">{esc(c["severity"])}</span></h2>')
        facts = [f"{esc(c['kind'])}, {esc(c['metric'])}" + (f" = {number(c['value'])} {esc(c['unit'])}" if c["value"] is not None else "")]
        if c["threshold"] is not None:
            facts.append(f"threshold {number(c['threshold'])}")
        if c["p_value"] is not None:
            method = f", {esc(c['p_value_method'])}" if c.get("p_value_method") else ""
            facts.append(f"p-value {_p_value(c['p_value'])} (Holm-adjusted {_p_value(c.get('p_value_adjusted'))}{method})")
        if c["noise_floor"] is not None:
            method = f" ({esc(c['noise_floor_method'])})" if c.get("noise_floor_method") else ""
            facts.append(f"noise floor {number(c['noise_floor'])}{method}")
        facts.append(f"{c['reference_rows']:,} reference rows, {c['current_rows']:,} current rows")
        body.append("<p>" + "; ".join(facts) + (f'<br><span class="muted">{esc(c["reason"])}</span>' if c["reason"] else "") + "</p>")
        h = column.histogram
        if h is not None:
            ref = np.asarray(h["reference"], dtype=float)
            cur = np.asarray(h["current"], dtype=float)
            ref, cur = ref / (ref.sum() or 1), cur / (cur.sum() or 1)
            body.append(figure(charts.histogram(h["labels"], ref, cur), "share of rows in each bin (missing values last)"))
        if c["top_contributors"]:
            body.append(
                table(
                    [("bin", False), ("reference share", True), ("current share", True), ("share of the metric", True)],
                    (
                        [esc(t["bin"]), f"{t['reference_share']:.2%}", f"{t['current_share']:.2%}", f"{t['contribution']:.1%}"]
                        for t in c["top_contributors"]
                    ),
                )
            )
    return page(f"klcli drift {current} vs {reference}", body)


def _p_value(p) -> str:
    if p is None:
        return ""
    return "&lt;1e-300" if p == 0 else esc(f"{p:.2g}")
