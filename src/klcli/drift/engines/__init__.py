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
"""
