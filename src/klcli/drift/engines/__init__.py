"""Counting engines: how a table is binned and counted into a :class:`~klcli.drift.counts.Counts`.

An engine is one module with two functions:

- ``count_reference(table, plans, rule) -> Counts``: fit the bins on the
  reference (edges of numeric columns, kinds of integer columns) and count it;
- ``count_current(table, plans, reference) -> Counts``: count another table on
  the reference's bins.

``plans`` are the :class:`~klcli.drift.options.ColumnPlan` objects of
:func:`~klcli.drift.options.plan_columns`. Engines differ only in where the
counting happens; on the same bins they must return the same counts, to the
last count, so that the comparison cannot tell them apart.

- :mod:`klcli.drift.engines.local`: streams the table in batches on this machine.
- :mod:`klcli.drift.engines.spark`: bins and counts inside Spark (``klcli[spark]``).

Each engine also has ``open_tables(paths, ...)``: the table (or tables, read
as one) that its two functions take. :func:`get_engine` picks one by name.
"""

import importlib
from types import ModuleType

#: ``--engine`` choices of ``drift`` and ``profile``.
ENGINES = ("local", "spark")


def get_engine(name: str) -> ModuleType:
    """The engine module called ``name`` (imported on first use).

    >>> get_engine("local").__name__
    'klcli.drift.engines.local'
    """
    if name not in ENGINES:
        from klcli.errors import UsageError

        raise UsageError(f"`--engine` must be one of {', '.join(ENGINES)}, not {name!r}")
    return importlib.import_module(f"klcli.drift.engines.{name}")
