"""SVG charts for the HTML report, drawn with matplotlib (the ``klcli[plot]`` extra).

matplotlib is imported here only, and only through ``Figure`` (no pyplot, no
global state, no display). Text stays text in the SVG (``svg.fonttype: none``),
which keeps a chart a few kilobytes; the XML prologue and metadata are removed
so the SVG can sit inline in the page. Labels are data: control characters are
escaped and ``$`` is escaped so that matplotlib never reads a label as mathtext.
"""

from __future__ import annotations

import io
import math
import re
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

from klcli.errors import UsageError
from klcli.text import escape_terminal

if TYPE_CHECKING:
    from matplotlib.typing import RcKeyType

P_COLOUR, Q_COLOUR, BAR_COLOUR, INF_COLOUR = "#1f77b4", "#d62728", "#4c72b0", "#8c1c13"

_RC: dict[RcKeyType, Any] = {
    "svg.fonttype": "none",
    "svg.hashsalt": "klcli",
    "font.family": "sans-serif",
    "font.sans-serif": ["DejaVu Sans", "Arial"],
    "font.size": 9,
    "axes.spines.top": False,
    "axes.spines.right": False,
}


def require_matplotlib() -> None:
    """Refuse ``--format html`` early, with the fix, when the plot extra is missing."""
    import importlib.util

    if importlib.util.find_spec("matplotlib") is None:
        raise UsageError("--format html draws its charts with matplotlib: pip install 'klcli[plot]'")


def label(text: str, limit: int = 40) -> str:
    """A label safe for matplotlib: printable, ``$`` escaped, at most ``limit`` characters.

    >>> print(label("cost in $ (2$)"))
    cost in \\$ (2\\$)
    """
    text = escape_terminal(text)
    if len(text) > limit:
        text = text[: limit - 1] + "…"
    return text.replace("$", r"\$")


def figure(width: float, height: float, *, layout: Literal["constrained", "compressed", "tight"] | None = "constrained"):
    """A matplotlib ``Figure`` (no pyplot) of ``width`` × ``height`` inches
    (``layout=None``: fixed margins, twice as fast to draw as ``constrained``)."""
    from matplotlib.figure import Figure

    return Figure(figsize=(width, height), layout=layout)


def to_svg(fig) -> str:
    """The figure as an inline ``<svg>`` element (no XML prologue, no metadata)."""
    import matplotlib

    buffer = io.StringIO()
    with matplotlib.rc_context(_RC):
        fig.savefig(buffer, format="svg", metadata={"Date": None, "Creator": None})
    svg = buffer.getvalue()
    svg = svg[svg.index("<svg") :]
    return re.sub(r"<metadata>.*?</metadata>\s*", "", svg, flags=re.S)


def _styled(draw):
    """Run ``draw`` under the report's rc settings (fonts are resolved when artists are made)."""
    import matplotlib

    def wrapper(*args, **kwargs):
        with matplotlib.rc_context(_RC):
            return to_svg(draw(*args, **kwargs))

    wrapper.__doc__, wrapper.__name__ = draw.__doc__, draw.__name__
    return wrapper


@_styled
def bars(names: list[str], values: list[float], *, xlabel: str, title: str = ""):
    """Horizontal bars, one per name, top to bottom; an infinite value is a full
    dark bar marked ∞."""
    values = [float(v) for v in values]
    finite = [v for v in values if math.isfinite(v)]
    top = max(finite, default=0.0) or 1.0
    fig = figure(7.5, 0.8 + 0.28 * len(values))
    ax = fig.add_subplot()
    y = np.arange(len(values))
    shown = [v if math.isfinite(v) else top * 1.1 for v in values]
    colours = [BAR_COLOUR if math.isfinite(v) else INF_COLOUR for v in values]
    ax.barh(y, shown, color=colours)
    for yi, v, s in zip(y, values, shown):
        ax.text(s, yi, f" {_short(v)}", va="center", fontsize=8)
    ax.set_yticks(y, [label(n) for n in names])
    ax.invert_yaxis()
    ax.set_xlim(0, top * 1.25)
    ax.set_xlabel(label(xlabel))
    if title:
        ax.set_title(label(title, 100), loc="left")
    return fig


@_styled
def shares(names: list[str], p: np.ndarray, q: np.ndarray, terms: np.ndarray, *, unit: str):
    """Two panels: P's and Q's share of each bin side by side, and each bin's term of KL(P‖Q)."""
    k = len(names)
    fig = figure(7.5, 1.0 + 0.3 * k)
    ax_share, ax_term = fig.subplots(1, 2, sharey=True, width_ratios=[3, 2])
    y = np.arange(k)
    ax_share.barh(y - 0.2, p, height=0.4, color=P_COLOUR, label="P")
    ax_share.barh(y + 0.2, q, height=0.4, color=Q_COLOUR, label="Q (reference)")
    ax_share.set_yticks(y, [label(n, 24) for n in names])
    ax_share.invert_yaxis()
    ax_share.set_xlabel("share of the total")
    ax_share.legend(loc="lower left", bbox_to_anchor=(0, 1), ncols=2, fontsize=8, frameon=False)
    finite = terms[np.isfinite(terms)]
    top = finite.max() if finite.size and finite.max() > 0 else 1.0
    shown = np.where(np.isfinite(terms), terms, top * 1.1)
    ax_term.barh(y, shown, color=[BAR_COLOUR if math.isfinite(t) else INF_COLOUR for t in terms])
    for yi, t, s in zip(y, terms, shown):
        ax_term.text(s, yi, f" {_short(t)}", va="center", fontsize=8)
    ax_term.set_xlim(0, top * 1.35)
    ax_term.set_xlabel(label(f"term of KL(P‖Q), {unit}"))
    return fig


@_styled
def heatmap(matrix: np.ndarray, *, title: str):
    """The matrix as an image (one pixel block per pair, embedded as PNG: small for
    any size), rows and columns numbered from 1 up to 60 files, ∞ in a dark colour."""
    n = len(matrix)
    side = min(3.5 + 0.16 * n, 9.0)
    fig = figure(side + 1.8, side)
    ax = fig.add_subplot()
    data = np.asarray(matrix, dtype=float)
    finite = data[np.isfinite(data)]
    top = finite.max() if finite.size and finite.max() > 0 else 1.0
    shown = np.ma.masked_invalid(np.where(np.isinf(data), np.nan, data))
    import matplotlib

    cmap = matplotlib.colormaps["viridis"].with_extremes(bad=INF_COLOUR)
    image = ax.imshow(shown, cmap=cmap, vmin=0, vmax=top, interpolation="nearest")
    fig.colorbar(image, ax=ax, shrink=0.8)
    if n <= 60:
        ticks = [str(i + 1) for i in range(n)]
        ax.set_xticks(range(n), ticks, rotation=90 if n > 20 else 0, fontsize=7)
        ax.set_yticks(range(n), ticks, fontsize=7)
    else:
        ax.set_xticks([])
        ax.set_yticks([])
    ax.set_title(label(title, 100), loc="left")
    return fig


@_styled
def histogram(names: list[str], reference: np.ndarray, current: np.ndarray):
    """Reference and current shares of each bin, side by side (drift)."""
    k = len(names)
    fig = figure(7.5, 2.6, layout=None)  # one per column: fixed margins keep 100 columns fast
    fig.subplots_adjust(left=0.09, right=0.99, top=0.95, bottom=0.34 if k > 6 else 0.14)
    ax = fig.add_subplot()
    x = np.arange(k)
    ax.bar(x - 0.2, reference, width=0.4, color=Q_COLOUR, label="reference")
    ax.bar(x + 0.2, current, width=0.4, color=P_COLOUR, label="current")
    ax.set_xticks(x, [label(n, 18) for n in names], rotation=45 if k > 6 else 0, ha="right" if k > 6 else "center", fontsize=7)
    ax.set_ylabel("share of rows")
    ax.legend(fontsize=8, frameon=False)
    return fig


def _short(value: float) -> str:
    return "∞" if math.isinf(value) else f"{value:.3g}"
