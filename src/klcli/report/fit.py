"""Rich tables that fit the terminal, with column widths chosen here rather than by rich.

Rich shrinks a table that is too wide by cutting cells (``0.3496…``) or folding
words mid-way. Here every column gets a fixed width of at least its longest
word, so a number is never cut and a name never broken; what does not fit is
left out by the caller and said in a note.

>>> cols = [FitColumn("file", ["a.csv", "bb.csv"]), FitColumn("KL(P‖Q)", ["0.25", "1"], justify="right")]
>>> natural_widths(cols), table_width(natural_widths(cols))
([6, 7], 20)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from klcli.text import escape_terminal

#: Width rich gives a plain terminal or a CI log when it cannot ask (and COLUMNS is unset).
DEFAULT_WIDTH = 80


@dataclass
class FitColumn:
    """One column: header, cells (``str`` or rich ``Text``), and how to show them."""

    header: str
    cells: list[Any]
    justify: Literal["default", "left", "center", "right", "full"] = "left"
    style: str | None = None


def cell_width(cell: Any) -> int:
    """Terminal cells taken by the longest line of ``cell``."""
    from rich.cells import cell_len

    text = cell.plain if hasattr(cell, "plain") else str(cell)
    return max((cell_len(line) for line in text.splitlines()), default=0)


def word_width(cell: Any) -> int:
    """Terminal cells taken by the longest word of ``cell`` (it may wrap between words)."""
    from rich.cells import cell_len

    text = cell.plain if hasattr(cell, "plain") else str(cell)
    return max((cell_len(word) for word in text.split()), default=0)


def natural_widths(columns: list[FitColumn]) -> list[int]:
    """The narrowest width of each column that breaks no word, header or cell."""
    return [max([word_width(c.header), 1] + [word_width(cell) for cell in c.cells]) for c in columns]


def full_widths(columns: list[FitColumn]) -> list[int]:
    """The width of each column with every header and cell on one line."""
    return [max([cell_width(c.header), 1] + [cell_width(cell) for cell in c.cells]) for c in columns]


def table_width(widths: list[int], compact: bool = False) -> int:
    """Width of a rich table with box edges and one space of padding each side of a cell
    (``compact``: no edges, no padding, one space between columns).

    >>> table_width([3, 4]), table_width([3, 4], compact=True)
    (14, 8)
    """
    if compact:
        return sum(widths) + len(widths) - 1
    return 1 + sum(w + 3 for w in widths)


def fits(columns: list[FitColumn], width: int, compact: bool = False) -> bool:
    """Whether ``columns`` fit in ``width`` terminal cells without breaking a word."""
    return table_width(natural_widths(columns), compact) <= width


def spread_widths(columns: list[FitColumn], width: int, compact: bool = False) -> list[int]:
    """Natural widths, then the spare room given to the columns whose lines would wrap.

    >>> spread_widths([FitColumn("a long header", ["x"]), FitColumn("n", ["12345"])], 30)
    [13, 5]
    >>> spread_widths([FitColumn("a long header", ["x"]), FitColumn("n", ["12345"])], 20)
    [8, 5]
    """
    widths = natural_widths(columns)
    wanted = full_widths(columns)
    spare = width - table_width(widths, compact)
    while spare > 0:
        short = [wanted[i] - widths[i] for i in range(len(widths))]
        i = max(range(len(widths)), key=short.__getitem__)
        if short[i] <= 0:
            break
        step = min(spare, short[i])
        widths[i] += step
        spare -= step
    return widths


def fitted_table(columns: list[FitColumn], width: int, compact: bool = False):
    """A rich ``Table`` of ``columns`` at most ``width`` cells wide, words never broken.

    The caller checks :func:`fits` first (and leaves columns out until it does).
    """
    from rich import box
    from rich.table import Table

    options: dict[str, Any] = dict(box=box.SIMPLE_HEAD, show_edge=False, padding=(0, 0)) if compact else {}
    table = Table(title_justify="left", caption_justify="left", **options)
    for column, w in zip(columns, spread_widths(columns, width, compact)):
        table.add_column(column.header, justify=column.justify, style=column.style, width=w, overflow="fold")
    for row in zip(*(c.cells for c in columns)):
        table.add_row(*(escape_terminal(cell) if isinstance(cell, str) else cell for cell in row))
    return table


def notes_text(notes: list[str]):
    """The notes under a table, ``• note``, wrapped at spaces under their first word."""
    from rich.table import Table

    grid = Table.grid(padding=(0, 1, 0, 0))
    grid.add_column(width=1)
    grid.add_column()
    for note in notes:
        grid.add_row("•", escape_terminal(note))
    return grid


def numbered_names(names: list[str]):
    """``1  name`` lines: the legend of a table whose rows are numbered."""
    from rich.text import Text

    digits = len(str(len(names)))
    return Text("\n".join(f"{i + 1:>{digits}}  {escape_terminal(name)}" for i, name in enumerate(names)))
