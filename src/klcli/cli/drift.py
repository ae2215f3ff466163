"""``klcli drift REFERENCE CURRENT``: column-by-column data drift, for CI."""

from __future__ import annotations

import sys
from enum import Enum
from typing import Annotated, Optional

import typer

from klcli.cli import app
from klcli.cli import options as o
from klcli.errors import ExitCode, InputError, UsageError


class DriftFormat(str, Enum):
    table = "table"
    json = "json"
    jsonl = "jsonl"
    csv = "csv"
    markdown = "markdown"
    html = "html"


class DriftMetric(str, Enum):
    js_distance = "js_distance"
    js = "js"
    kl = "kl"
    kl_reverse = "kl_reverse"
    symmetric_kl = "symmetric_kl"
    psi = "psi"
    hellinger = "hellinger"
    total_variation = "total_variation"
    linf = "linf"
    chi2 = "chi2"
    wasserstein = "wasserstein"
    ks = "ks"


class TableFormat(str, Enum):
    csv = "csv"
    tsv = "tsv"
    parquet = "parquet"
    jsonl = "jsonl"


Names = Optional[list[str]]


@app.command()
def drift(
    reference: Annotated[str, typer.Argument(help="The reference table (CSV, TSV, Parquet, JSON lines), or '-' for stdin.")],
    current: Annotated[str, typer.Argument(help="The current table, in the same forms.")],
    columns: Annotated[Names, typer.Option("--columns", help="Only these columns (comma list, repeatable).", metavar="A,B")] = None,
    exclude: Annotated[Names, typer.Option("--exclude", help="Leave out these columns (comma list, repeatable).", metavar="A,B")] = None,
    include: Annotated[
        Names, typer.Option("--include", help="Check these columns even when they look like identifiers (every value distinct).", metavar="A,B")
    ] = None,
    categorical: Annotated[Names, typer.Option("--categorical", help="Compare these columns by category.", metavar="A,B")] = None,
    numeric: Annotated[Names, typer.Option("--numeric", help="Bin these columns as numbers.", metavar="A,B")] = None,
    bins: Annotated[
        Optional[str],
        typer.Option(
            "--bins", help="auto (deciles of the reference; quintiles for small tables), N (equal width), quantile:N, fd, sturges or doane."
        ),
    ] = None,
    metric: Annotated[Optional[DriftMetric], typer.Option("--metric", help="Metric per column (default js_distance).")] = None,
    threshold: Annotated[
        Optional[float],
        typer.Option(
            "--threshold",
            help="Drift when the metric exceeds X and the change is significant (default per metric: js_distance 0.1, psi 0.1, ...).",
            metavar="X",
        ),
    ] = None,
    warn_above: Annotated[
        Optional[float],
        typer.Option(
            "--warn-above", help="Severity 'warn' when the metric exceeds X (default: only above the threshold without significance).", metavar="X"
        ),
    ] = None,
    alpha: Annotated[
        Optional[float], typer.Option("--alpha", help="Significance level of the G-test, Holm-corrected across columns (default 0.05).", metavar="A")
    ] = None,
    no_significance: Annotated[bool, typer.Option("--no-significance", help="Decide on the threshold alone, without the G-test.")] = False,
    fail_if_count: Annotated[
        Optional[int], typer.Option("--fail-if-count", help="Exit 1 when at least N columns drift (default 1).", min=1, metavar="N")
    ] = None,
    fail_if_share: Annotated[
        Optional[float], typer.Option("--fail-if-share", help="Exit 1 when at least this share of the checked columns drift.", metavar="S")
    ] = None,
    fail_on_schema: Annotated[bool, typer.Option("--fail-on-schema", help="A column only in one table (added or removed) counts as drift.")] = False,
    config: Annotated[
        Optional[str], typer.Option("--config", help="A drift.toml with defaults and per-column metric, threshold and kind.", metavar="FILE")
    ] = None,
    max_categories: Annotated[
        Optional[int],
        typer.Option(
            "--max-categories", help="Categories kept by name; rarer ones are pooled as (other). Default: one per 250 rows, 4 to 20.", min=1
        ),
    ] = None,
    max_bins: Annotated[Optional[int], typer.Option("--max-bins", help="Most bins --bins may ask for (default 10000).", min=1, metavar="N")] = None,
    top: Annotated[int, typer.Option("--top", help="How many contributing bins to report per column, in every format.", min=0)] = 3,
    fmt: Annotated[DriftFormat, typer.Option("--format", "-f", help="Output format.")] = DriftFormat.table,
    junit: Annotated[
        Optional[str], typer.Option("--junit", help="Also write a JUnit XML report (one test case per column) to FILE.", metavar="FILE")
    ] = None,
    input_format: Annotated[Optional[TableFormat], typer.Option("--input-format", help="Format of standard input (sniffed by default).")] = None,
    plot: o.Plot = False,
    output: o.Output = None,
    engine: o.TableEngine = "local",
    spark_master: o.SparkMaster = None,
) -> None:
    """Check CURRENT against REFERENCE column by column; exit 1 when any column drifted.

    \b
    Numeric columns are binned on deciles of the reference (quintiles for
    small tables), plus bins below and above its range and one for missing
    values; categorical columns are compared by category. Default: a column
    drifts when the Jensen-Shannon distance in bits exceeds 0.1 and the
    G-test finds the change significant (Holm-corrected, alpha 0.05).
    Either side may be a profile written by `klcli profile`.

    \b
    Examples:
      klcli drift reference.csv current.csv
      klcli drift ref.parquet today.parquet --metric psi --format markdown
      klcli drift ref.csv cur.csv --config drift.toml --junit drift.xml
      cat today.csv | klcli drift reference.csv -
      klcli drift ref.csv cur.csv --format html -o drift.html
      klcli drift reference.json today.parquet
    """
    from klcli.cli.profile import open_side
    from klcli.drift import DriftOptions, check_sides, load_config
    from klcli.drift.engines import get_engine
    from klcli.render import drift_junit, drift_summary, print_drift
    from klcli.text import escape_terminal

    from klcli.cli.output import check_plot, output_to

    check_plot(plot, fmt.value)
    if reference == "-" and current == "-":
        raise UsageError("only one of REFERENCE and CURRENT can be '-' (standard input)")
    from klcli.drift.options import check_decision

    check_decision(threshold, warn_above, alpha, fail_if_share)
    options = DriftOptions(
        columns=split_names(columns) if columns is not None else None,
        exclude=split_names(exclude),
        categorical=split_names(categorical),
        numeric=split_names(numeric),
        bins=bins,
        metric=metric.value if metric else None,
        threshold=threshold,
        max_categories=max_categories,
        config=load_config(config) if config else {},
        config_name=config or "config",
        top=top,
        alpha=alpha,
        significance=not no_significance,
        warn_above=warn_above,
        fail_if_count=fail_if_count,
        fail_if_share=fail_if_share,
        fail_on_schema=fail_on_schema,
        include=split_names(include),
        max_bins=max_bins,
    )
    from klcli.drift import parse_bins

    parse_bins(options.bins_text, limit=options.bin_limit)
    get_engine(engine)
    sides = [
        open_side(source, engine, spark_master=spark_master, input_format=input_format.value if input_format else None)
        for source in (reference, current)
    ]
    report = check_sides(sides[0], sides[1], options, engine=engine)
    record = report.record()
    names = {"reference": _display(reference), "current": _display(current)}
    if junit:
        try:
            with open(junit, "w", encoding="utf-8") as handle:
                handle.write(drift_junit(record, **names))
        except OSError as error:
            raise InputError(f"{junit}: cannot write the JUnit report: {error.strerror or error}") from None
    with output_to(output):
        print_drift(record, fmt.value, **names, plot=plot, report_object=report)
    for warning in record["warnings"]:
        print(f"klcli: warning: {escape_terminal(warning)}", file=sys.stderr)
    if record["drifted"]:
        print(f"klcli: {escape_terminal(drift_summary(record))}", file=sys.stderr)
        raise typer.Exit(ExitCode.THRESHOLD)


def split_names(values: list[str] | None) -> list[str]:
    """Column names from repeated options and comma lists: ``["a,b", "c"]`` -> ``["a", "b", "c"]``."""
    names = [name.strip() for value in values or [] for name in value.split(",")]
    if any(not name for name in names):
        raise UsageError(f"empty column name in {','.join(values or [])!r}")
    return names


def _display(source: str) -> str:
    return "stdin" if source == "-" else source
