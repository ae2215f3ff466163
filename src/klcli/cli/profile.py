"""``klcli profile TABLE... -o PROFILE.json`` and ``klcli profile merge A.json B.json... -o C.json``."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated, Optional

import typer

from klcli.cli import app
from klcli.cli import options as o
from klcli.cli.drift import Names, TableFormat, split_names
from klcli.errors import UsageError


@app.command()
def profile(
    tables: Annotated[
        Optional[list[str]],
        typer.Argument(help="Tables (CSV, TSV, Parquet, JSON lines; read as one), or 'merge' followed by profiles.", show_default=False),
    ] = None,
    *,
    output: Annotated[str, typer.Option("--output", "-o", help="Write the profile (JSON) to FILE, atomically; '-' for stdout.", metavar="FILE")],
    edges_from: Annotated[
        Optional[str],
        typer.Option("--edges-from", help="Count on the columns, kinds and bins of this profile (partitions, current data).", metavar="PROFILE"),
    ] = None,
    columns: Annotated[Names, typer.Option("--columns", help="Only these columns (comma list, repeatable).", metavar="A,B")] = None,
    exclude: Annotated[Names, typer.Option("--exclude", help="Leave out these columns (comma list, repeatable).", metavar="A,B")] = None,
    categorical: Annotated[Names, typer.Option("--categorical", help="Count these columns by category.", metavar="A,B")] = None,
    numeric: Annotated[Names, typer.Option("--numeric", help="Bin these columns as numbers.", metavar="A,B")] = None,
    bins: Annotated[
        Optional[str],
        typer.Option("--bins", help="auto (deciles; quintiles kept for small tables), N (equal width), quantile:N, fd, sturges or doane."),
    ] = None,
    config: Annotated[Optional[str], typer.Option("--config", help="A drift.toml (its bins and column kinds are used).", metavar="FILE")] = None,
    max_stored_categories: Annotated[
        int,
        typer.Option(
            "--max-stored-categories", help="Categories stored per column; rarer ones are pooled, and drift then refuses the column.", min=1
        ),
    ] = 10_000,
    engine: o.TableEngine = "local",
    spark_master: o.SparkMaster = None,
    spark_table: Annotated[
        Optional[list[str]], typer.Option("--spark-table", help="A table of Spark's catalog to profile (repeatable; --engine spark).", metavar="NAME")
    ] = None,
    input_format: Annotated[Optional[TableFormat], typer.Option("--input-format", help="Format of standard input (sniffed by default).")] = None,
) -> None:
    """Count TABLE... on bins fitted to it, or on the bins of --edges-from, into a mergeable profile.

    \b
    A profile holds exact counts, no rows: per numeric column its edges and
    the count of every bin (with the overflow and missing ones), per
    categorical column every category with its count. `klcli drift` takes a
    profile wherever it takes a table, with the same result.

    \b
    Examples:
      klcli profile reference.parquet -o reference.json
      klcli profile part-1.parquet --edges-from reference.json -o part-1.json
      klcli profile merge part-*.json -o today.json
      klcli drift reference.json today.json
    """
    from klcli.drift.profile import merge_profiles, read_profile, write_profile

    tables = list(tables or [])
    if tables and tables[0] == "merge":
        given = [
            flag
            for flag, value in (
                ("--edges-from", edges_from),
                ("--columns", columns),
                ("--exclude", exclude),
                ("--categorical", categorical),
                ("--numeric", numeric),
                ("--bins", bins),
                ("--config", config),
                ("--spark-table", spark_table),
            )
            if value
        ]
        if given:
            raise UsageError(f"`profile merge` takes profiles and -o only, not {given[0]}")
        if len(tables) < 2:
            raise UsageError("`profile merge` needs at least one profile: klcli profile merge A.json B.json -o C.json")
        write_profile(merge_profiles([read_profile(path) for path in tables[1:]]), output)
        return
    if not tables and not spark_table:
        raise UsageError("give the tables to profile (or `merge` and profiles): klcli profile TABLE... -o PROFILE.json")
    if tables.count("-") > 1:
        raise UsageError("standard input ('-') can be given only once")
    from klcli.drift import DriftOptions, load_config
    from klcli.drift.sides import profile_tables

    options = DriftOptions(
        columns=split_names(columns) if columns is not None else None,
        exclude=split_names(exclude),
        categorical=split_names(categorical),
        numeric=split_names(numeric),
        bins=bins,
        config=load_config(config) if config else {},
        config_name=config or "config",
    )
    if bins is not None:
        from klcli.drift import parse_bins

        parse_bins(bins)
    from klcli.drift.engines import get_engine

    get_engine(engine)
    reference = read_profile(edges_from) if edges_from else None
    table = open_engine_tables(
        engine, tables, spark_tables=spark_table or [], spark_master=spark_master, input_format=input_format.value if input_format else None
    )
    sources = [_display(t) for t in tables] + [f"table:{name}" for name in spark_table or []]
    result = profile_tables(table, options, sources=sources, engine=engine, edges_from=reference, max_stored_categories=max_stored_categories)
    write_profile(result, output)


def open_engine_tables(
    engine: str, paths: list[str], *, spark_tables: Sequence[str] = (), spark_master: str | None = None, input_format: str | None = None
):
    """The tables at ``paths`` (and Spark catalog tables) opened by ``engine``, read as one table."""
    from klcli.drift.engines import get_engine

    if engine == "spark":
        return get_engine("spark").open_tables(paths, spark_tables=list(spark_tables), master=spark_master)
    if spark_tables or spark_master:
        raise UsageError(f"`{'--spark-table' if spark_tables else '--spark-master'}` needs --engine spark")
    return get_engine("local").open_tables(paths, input_format=input_format)


def _display(source: str) -> str:
    return "stdin" if source == "-" else source


def open_side(source: str, engine: str, *, spark_master: str | None = None, input_format: str | None = None):
    """One side of ``klcli drift``: a profile (a JSON file that says it is one), else a table of ``engine``."""
    from klcli.drift.profile import is_profile, read_profile

    if is_profile(source):
        return read_profile(source)
    return open_engine_tables(engine, [source], spark_master=spark_master, input_format=input_format if source == "-" else None)
