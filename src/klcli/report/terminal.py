"""Terminal pictures (``--plot``): bars drawn with rich, fitted to the console width.

Colour is a rich style, so it appears only on a terminal and never under
``NO_COLOR``; the pictures read the same without it (P grows to the left of
the axis, Q to the right).

>>> bar(0.5, 1.0, 8)
'████'
>>> bar(0.3, 1.0, 4)
'█▎'
"""

from __future__ import annotations

import math

import numpy as np

from klcli.report.fit import DEFAULT_WIDTH
from klcli.text import escape_terminal

#: How many bins the share chart shows before summing the rest in one row.
TOP_BINS = 10

#: How many rows of an unreduced batch get a bar (the largest).
TOP_ROWS = 40

_EIGHTHS = " ▏▎▍▌▋▊▉"

P_STYLE, Q_STYLE, BAR_STYLE = "cyan", "magenta", "blue"


def bar(value: float, scale: float, width: int) -> str:
    """A bar of ``value / scale`` of ``width`` cells, in eighths of a cell."""
    if width <= 0 or scale <= 0 or not value > 0:
        return ""
    if math.isinf(value):
        return "█" * width
    eighths = min(round(value / scale * width * 8), width * 8)
    full, part = divmod(eighths, 8)
    return "█" * full + (_EIGHTHS[part] if part else "")


def left_bar(value: float, scale: float, width: int) -> str:
    """A bar growing leftwards (whole cells, a half cell ``▐`` at the tip), right-aligned."""
    if width <= 0 or scale <= 0 or not value > 0:
        return " " * max(width, 0)
    halves = min(round(value / scale * width * 2), width * 2)
    full, half = divmod(halves, 2)
    return ("▐" if half else "").rjust(width - full) + "█" * full


def largest(values: np.ndarray, limit: int) -> np.ndarray:
    """Indices of the ``limit`` largest values (∞ first), in their original order.

    >>> largest(np.array([3.0, 1.0, np.inf, 2.0]), 2).tolist()
    [0, 2]
    """
    values = np.asarray(values, dtype=float)
    if len(values) <= limit:
        return np.arange(len(values))
    return np.sort(np.argpartition(-values, limit)[:limit])


def short(value: float) -> str:
    """Three significant digits, ``∞`` spelled out.

    >>> short(0.012345), short(float("inf")), short(0.0)
    ('0.0123', '∞', '0')
    """
    if math.isinf(value):
        return "∞"
    return "0" if value == 0 else f"{value:.3g}"


def clip(text: str, width: int) -> str:
    """``text`` shortened to ``width`` cells with ``…`` (labels in a picture only)."""
    text = escape_terminal(text)
    return text if len(text) <= width else text[: max(width - 1, 0)] + "…"


def bar_chart(rows: list[tuple[str, float]], *, width: int, unit: str, style: str = BAR_STYLE):
    """One labelled horizontal bar per row, scaled to the largest finite value."""
    from rich.text import Text

    finite = [v for _, v in rows if math.isfinite(v)]
    scale = max(finite, default=0.0) or 1.0
    label_width = min(max((len(escape_terminal(name)) for name, _ in rows), default=1), max(width // 3, 8))
    value_width = max((len(short(v)) for _, v in rows), default=1)
    room = max(width - label_width - value_width - 2, 1)
    text = Text()
    for name, value in rows:
        text.append(f"{clip(name, label_width):<{label_width}} ")
        drawn = bar(value, scale, room)
        text.append(drawn, style="red" if math.isinf(value) else style)
        text.append(" " * (room - len(drawn)) + f" {short(value):>{value_width}}\n")
    text.append(f"{'':<{label_width}} scale: full bar = {short(scale)} {unit}" + ("; ∞ drawn full" if len(finite) < len(rows) else ""))
    return text


def mirrored_chart(rows: list[tuple[str, float, float, str]], *, width: int, left: str, right: str, last: str):
    """Rows of ``(name, left share, right share, text)``: the left share grows leftwards
    from the axis, the right one rightwards, both on one scale; ``text`` ends the row."""
    from rich.text import Text

    label_width = min(max(len(escape_terminal(r[0])) for r in rows), max(width // 5, 10))
    last_width = max(max(len(r[3]) for r in rows), len(last))
    # a row: label, space, left bar, " 12.3% │ 45.6% ", right bar, space, text
    half = max((width - label_width - last_width - 19) // 2, 1)
    scale = max(max(r[1], r[2]) for r in rows) or 1.0
    text = Text()
    text.append(f"{'bin':<{label_width}} {left:>{half + 7}} │ {right:<{half + 7}} {last:>{last_width}}\n", style="bold")
    for name, left_share, right_share, tail in rows:
        text.append(f"{clip(name, label_width):<{label_width}} ")
        text.append(left_bar(left_share, scale, half), style=P_STYLE)
        text.append(f" {left_share:>6.1%} │ {right_share:<6.1%} ")
        drawn = bar(right_share, scale, half)
        text.append(drawn, style=Q_STYLE)
        text.append(" " * (half - len(drawn)) + f" {tail:>{last_width}}\n")
    text.rstrip()
    return text


def top_rows(bins, terms: np.ndarray, top: int) -> list[tuple[str, float, float, float]]:
    """``(name, p, q, term)`` of the ``top`` bins with the largest terms, largest first, and one
    row summing the others (when there are at least two). A partial sort: cheap for millions of bins.

    >>> from klcli.result import Bins
    >>> b = Bins(np.array([0.1, 0.2, 0.3, 0.4]), np.array([0.4, 0.3, 0.2, 0.1]))
    >>> [(name, round(t, 2)) for name, _, _, t in top_rows(b, np.array([0.5, 0.1, 0.2, 0.3]), 2)]
    [('0', 0.5), ('3', 0.3), ('(2 more)', 0.3)]
    """
    k = len(terms)
    if k <= top + 1:
        shown = np.argsort(-terms, kind="stable")
    else:
        part = np.argpartition(-terms, top)[:top]
        shown = part[np.argsort(-terms[part], kind="stable")]
    rows = [(bins.name(i), float(bins.p[i]), float(bins.q[i]), float(terms[i])) for i in shown]
    if len(shown) < k:
        rest = np.ones(k, dtype=bool)
        rest[shown] = False
        rows.append((f"({k - len(shown)} more)", float(bins.p[rest].sum()), float(bins.q[rest].sum()), float(terms[rest].sum())))
    return rows


def share_chart(bins, terms: np.ndarray, *, width: int, unit_scale: float, top: int = TOP_BINS):
    """P's and Q's shares of the bins that add most to KL(P‖Q), mirrored about an axis.

    ``terms`` are the bins' KL(P‖Q) terms in nats (:func:`klcli.discrete.kl_terms`);
    they are shown divided by ``unit_scale`` (ln of the base) with their share
    of the total. Bins past ``top`` are summed in one row.
    """
    rows = top_rows(bins, terms, top)
    total = float(np.sum(terms))
    tails = [short(t / unit_scale) + ("" if not math.isfinite(total) or total == 0 else f" {t / total:4.0%}") for *_, t in rows]
    return mirrored_chart([(n, a, b, tail) for (n, a, b, _), tail in zip(rows, tails)], width=width, left="P", right="Q (reference)", last="KL term")


def drift_plot(report, *, width: int | None = None):
    """One small chart per drifting column: current and reference shares of every bin
    (in bin order), and each bin's share of the column's metric."""
    from rich.console import Group
    from rich.text import Text

    width = width or DEFAULT_WIDTH
    parts = []
    for c in report.columns:
        if c.severity != "drift" or c.histogram is None:
            continue
        h = c.histogram
        current, reference = np.asarray(h["current"], dtype=float), np.asarray(h["reference"], dtype=float)
        current, reference = current / (current.sum() or 1), reference / (reference.sum() or 1)
        rows = [(label, float(cs), float(rs), f"{part:.0%}") for label, cs, rs, part in zip(h["labels"], current, reference, h["contributions"])]
        parts += [Text(""), Text(escape_terminal(f"{c.column}: {c.metric} {c.value:.4g} > {c.threshold:.4g}"), style="bold")]
        parts.append(mirrored_chart(rows, width=width, left="current", right="reference", last="share"))
    unbinned = [f"{c.column} ({c.status})" for c in report.columns if c.severity == "drift" and c.histogram is None]
    if unbinned:
        parts += [Text(""), Text(escape_terminal("drifting, with no bins to draw: " + ", ".join(unbinned)))]
    if not parts:
        return Text("no drifting column to draw")
    return Group(*parts[1:])


def comparison_plot(c, *, width: int | None = None):
    """Divergence bars, then (for two 1-D histograms) the bins that drive KL(P‖Q)."""
    from rich.console import Group
    from rich.text import Text

    from klcli.discrete import kl_terms
    from klcli.render import LABELS, unit_name
    from klcli.result import parse_base

    width = width or DEFAULT_WIDTH
    unit = unit_name(c.base)
    parts = []
    keys = [k for k in ("kl_pq", "kl_qp", "js") if k in c.values]
    if all(np.ndim(c.values[k]) == 0 for k in keys):
        parts += [Text(f"divergences in {unit}", style="bold"), bar_chart([(LABELS[k], float(c.values[k])) for k in keys], width=width, unit=unit)]
    else:
        rows = np.asarray(c.values["kl_pq"]).ravel()
        shown = largest(rows, TOP_ROWS)
        title = f"KL(P‖Q) of each row, in {unit}" + (f" (the {len(shown)} largest of {len(rows)}, in row order)" if len(shown) < len(rows) else "")
        parts += [Text(title, style="bold"), bar_chart([(f"row {i}", float(rows[i])) for i in shown], width=width, unit=unit)]
    if c.bins is not None:
        terms = kl_terms(c.bins.p, c.bins.q)
        parts += [Text(""), Text("bins adding most to KL(P‖Q): shares of P and Q, and each bin's term", style="bold")]
        parts.append(share_chart(c.bins, terms, width=width, unit_scale=parse_base(c.base)[1]))
    return Group(*parts)


def batch_plot(results, *, metric: str, base: str, width: int | None = None, numbered: bool = False):
    """One bar per file of ``metric`` (a failed file is left out); ``numbered``: labelled
    by the row numbers of the table above instead of the names."""
    from rich.console import Group
    from rich.text import Text

    from klcli.render import LABELS, shared_folder, unit_name

    width = width or DEFAULT_WIDTH
    _, names = shared_folder([r.file for r in results])
    if numbered:
        names = [str(i + 1) for i in range(len(names))]
    rows = [(name, float(np.max(r.comparison.values[metric]))) for name, r in zip(names, results) if not r.failed]
    unit = unit_name(base)
    return Group(Text(f"{LABELS.get(metric, metric)} of each file, in {unit}", style="bold"), bar_chart(rows, width=width, unit=unit))


_SHADES = " ░▒▓█"


def cluster_display_order(m) -> np.ndarray:
    """The order that puts alike files together: hierarchical clustering of the matrix
    (made symmetric, square-rooted for JS, infinity read as twice the largest value).

    >>> from types import SimpleNamespace
    >>> m = SimpleNamespace(metric="js", matrix=np.array([[0, 0.6, 0.01], [0.6, 0, 0.5], [0.01, 0.5, 0]]))
    >>> cluster_display_order(m).tolist()
    [1, 2, 0]
    """
    from klcli.batch import cluster_order

    matrix = np.asarray(m.matrix, dtype=float)
    n = len(matrix)
    if n < 3:
        return np.arange(n)
    distance = (matrix + matrix.T) / 2
    finite = distance[np.isfinite(distance)]
    distance = np.where(np.isfinite(distance), distance, 2 * (finite.max() if finite.size else 1.0) or 1.0)
    if m.metric == "js":
        distance = np.sqrt(np.maximum(distance, 0.0))
    return np.asarray(cluster_order(distance))


def pairwise_plot(m, *, width: int | None = None):
    """The matrix shaded ``░▒▓█`` (darker: further apart), in cluster order, when it fits."""
    from rich.text import Text

    from klcli.render import LABELS, shared_folder

    width = width or DEFAULT_WIDTH
    n = len(m.files)
    digits = len(str(n))
    if digits + 1 + 2 * n > width:
        return Text(f"the {n} × {n} matrix is too large to shade in {width} columns: see --format html (a heatmap)")
    order = cluster_display_order(m)
    matrix = np.asarray(m.matrix, dtype=float)[np.ix_(order, order)]
    finite = matrix[np.isfinite(matrix)]
    top = finite.max() if finite.size and finite.max() > 0 else 1.0
    _, names = shared_folder(list(m.files))
    text = Text(f"{LABELS.get(m.metric, m.metric)}, files in cluster order (darker: further apart; ∞ in red)\n", style="bold")
    for row, i in zip(matrix, order):
        text.append(f"{i + 1:>{digits}} ")
        for value in row:
            if math.isinf(value):
                text.append("██", style="red")
            else:
                text.append(_SHADES[min(int(value / top * (len(_SHADES) - 1) + 0.5), len(_SHADES) - 1)] * 2)
        text.append("\n")
    text.append(f"{'':>{digits}} scale: █ = {short(top)}; row numbers as in the table above")
    return text
