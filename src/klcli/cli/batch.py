"""``klcli batch``: many histogram files against a reference, or all pairs of them."""

from __future__ import annotations

import importlib
import sys
from typing import Annotated, Optional

import typer

from klcli.cli import app, unshield
from klcli.cli import options as o
from klcli.cli.compare import check_metric, threshold_line
from klcli.errors import ExitCode, InputError, UsageError
from klcli.text import escape_terminal

Files = Annotated[Optional[list[str]], typer.Argument(help="Histogram files (P), or directories of them (sorted by name).", show_default=False)]
Reference = Annotated[Optional[str], typer.Option("--reference", "-r", help="Q, the reference every FILE is compared with.", metavar="REF")]
Pairwise = Annotated[bool, typer.Option("--pairwise", help="Compare every pair of files: a matrix, rows P and columns Q.")]
FilesFrom = Annotated[Optional[str], typer.Option("--files-from", help="A text file with one path per line ('-': stdin).", metavar="LIST")]
BatchMetric = Annotated[
    Optional[str], typer.Option("--metric", help="Value for --fail-above (default kl_pq) and the --pairwise matrix (default js).")
]
Sort = Annotated[Optional[str], typer.Option("--sort", help="Order the table and CSV by this value, largest first.", metavar="METRIC")]
Top = Annotated[Optional[int], typer.Option("--top", help="Show only the first N rows of the table and CSV.", metavar="N", min=1)]
Cluster = Annotated[bool, typer.Option("--cluster", help="--pairwise: order files by hierarchical clustering on the JS distance.")]
KeepGoing = Annotated[bool, typer.Option("--keep-going", "-k", help="Report a bad file in the output and go on (exit 2 at the end).")]
Jobs = Annotated[Optional[int], typer.Option("--jobs", "-j", help="Reader threads (default: CPU count + 4).", min=1)]


@app.command()
def batch(
    files: Files = None,
    reference: Reference = None,
    pairwise: Pairwise = False,
    files_from: FilesFrom = None,
    base: o.Base = "e",
    smooth: o.Smooth = None,
    from_: o.HistogramFromOpt = o.HistogramFrom.probs,
    temperature: o.Temperature = 1.0,
    reduction: o.ReductionOpt = o.Reduction.batchmean,
    fmt: o.BatchFormatOpt = o.BatchFormat.table,
    fail_above: o.FailAbove = None,
    metric: BatchMetric = None,
    sort: Sort = None,
    top: Top = None,
    cluster: Cluster = False,
    keep_going: KeepGoing = False,
    jobs: Jobs = None,
    device: o.Device = None,
    column: o.Column = None,
    key: o.Key = None,
    input_format: o.InputFormatOpt = None,
    plot: o.Plot = False,
    output: o.Output = None,
) -> None:
    """Compare many histogram files with a reference, or every pair of them.

    \b
    Examples:
      klcli batch --reference baseline.csv daily/*.csv
      klcli batch -r baseline.csv daily/ --sort js --top 5
      find daily -name '*.csv' | klcli batch -r baseline.csv --files-from - --format json
      klcli batch -r baseline.csv daily/ --fail-above 0.05 --metric js
      klcli batch --pairwise daily/ --cluster
      klcli batch -r baseline.csv daily/ --plot --metric js
      klcli batch --pairwise daily/ --format html -o alike.html
    """
    core = importlib.import_module("klcli.batch")  # the module: `klcli.batch` is the API function
    from klcli.cli.output import check_plot, output_to
    from klcli.compare import CompareOptions
    from klcli.render import DelayedProgress, print_batch, print_pairwise
    from klcli.result import parse_base

    if pairwise == (reference is not None):
        raise UsageError("give either --reference REF (each file against REF) or --pairwise (every pair of files)")
    metric = metric or ("js" if pairwise else "kl_pq")
    check_metric(metric, fail_above)
    check_plot(plot, fmt.value)
    if sort is not None:
        check_metric(sort, None)
    if cluster and not pairwise:
        raise UsageError("--cluster orders a --pairwise matrix")
    if pairwise and (sort or top):
        raise UsageError("--sort and --top order the rows of a --reference batch, not a --pairwise matrix")
    if fmt.value in ("json", "jsonl") and (sort or top):
        raise UsageError("--sort and --top apply to --format table and csv; JSON keeps the input order")
    if pairwise and fmt.value == "jsonl":
        raise UsageError("--format jsonl writes one object per file of a --reference batch; a --pairwise matrix is --format json or csv")
    options = CompareOptions(
        base=base,
        smooth=smooth,
        from_=from_.value,
        temperature=temperature,
        reduction=reduction.value,
        column=column,
        key=key,
        input_format=input_format.value if input_format else None,
        device=device,
    )
    if pairwise and device is not None:
        raise UsageError("--device applies to --reference batches; --pairwise runs with numpy")
    options.validate()
    if reference == "-" and files_from == "-":
        raise UsageError("only one of REF and --files-from can be read from standard input")
    paths = core.collect_files([unshield(f) for f in files or []], files_from=files_from)

    with output_to(output):
        with DelayedProgress(len(paths), "reading files") as progress:
            if pairwise:
                result = core.pairwise_matrix(paths, options, metric=metric, cluster=cluster, keep_going=keep_going, jobs=jobs, progress=progress)
            else:
                result = core.compare_batch(reference, paths, options, keep_going=keep_going, jobs=jobs, progress=progress)
        if pairwise:
            print_pairwise(result, fmt.value, plot=plot)
        else:
            shown = core.sort_results(result, sort, top)
            print_batch(
                shown,
                fmt.value,
                reference="stdin" if reference == "-" else str(reference),
                base=parse_base(base)[0],
                total=len(result),
                plot=plot,
                metric=metric,
            )
    if pairwise:
        failed = result.failed
        over = (
            []
            if fail_above is None
            else [
                f"{p} vs {q}: {threshold_line(metric, result.matrix[result.files.index(p), result.files.index(q)], fail_above)}"
                for p, q in core.exceeding_pairs(result, fail_above)
            ]
        )
    else:
        failed = [r for r in result if r.failed]
        over = (
            []
            if fail_above is None
            else [f"{r.file}: {threshold_line(metric, r.comparison.values[metric], fail_above)}" for r in core.exceeding(result, metric, fail_above)]
        )
    sys.stdout.flush()
    if failed:
        raise InputError(f"{len(failed)} of {len(paths)} files could not be compared (first: {failed[0].error})")
    if over:
        print(f"klcli: {metric} exceeds {fail_above:g} for {len(over)} {'pair' if pairwise else 'file'}(s):", file=sys.stderr)
        for line in over:
            print(f"  {escape_terminal(line)}", file=sys.stderr)
        raise typer.Exit(ExitCode.THRESHOLD)
