"""``klcli compare P Q``: one pair, both directions of KL, symmetric KL and JS."""

from __future__ import annotations

import sys
from typing import Annotated, Any, Optional

import numpy as np
import typer

from klcli.cli import app, unshield
from klcli.cli import options as o
from klcli.errors import ExitCode, UsageError
from klcli.result import VALUE_KEYS


@app.command()
def compare(
    p: Annotated[
        Optional[str], typer.Argument(help="P: a file, '-' for stdin, a spec like 'normal(0,1)', or numbers like 0.2,0.8.", show_default=False)
    ] = None,
    q: Annotated[Optional[str], typer.Argument(help="Q, the reference, in the same forms.", show_default=False)] = None,
    base: o.Base = "e",
    smooth: o.Smooth = None,
    from_: o.From = o.FromMode.probs,
    temperature: o.Temperature = 1.0,
    reduction: o.ReductionOpt = o.Reduction.batchmean,
    engine: o.EngineOpt = o.Engine.auto,
    samples: o.Samples = 100_000,
    seed: o.Seed = 0,
    device: o.Device = None,
    fmt: o.Format = o.OutputFormat.table,
    fail_above: o.FailAbove = None,
    metric: o.Metric = "kl_pq",
    column: o.Column = None,
    key: o.Key = None,
    input_format: o.InputFormatOpt = None,
    estimator: Annotated[
        str,
        typer.Option(
            "--estimator", help="--from samples: auto, knn, knn-ensemble or classifier (auto: classifier, with knn-ensemble as cross-check)."
        ),
    ] = "auto",
    k: Annotated[Optional[int], typer.Option("--k", help="--from samples: neighbour order of --estimator knn (default 3).", min=1)] = None,
    bootstrap: Annotated[
        Optional[int],
        typer.Option(
            "--bootstrap",
            help="--from samples: half-sample resamples for standard errors (default 10 up to 50,000 samples per set; 0: per-point standard errors).",
            min=0,
        ),
    ] = None,
    standardize: Annotated[
        bool, typer.Option("--standardize/--no-standardize", help="--from samples: whiten by the pooled covariance of P and Q.")
    ] = True,
    columns: Annotated[
        Optional[str],
        typer.Option(
            "--columns", help="--from samples: comma-separated columns (names, or 0-based indices); P_NAME:Q_NAME pairs differently named columns."
        ),
    ] = None,
    summary: Annotated[
        bool,
        typer.Option(
            "--summary",
            help="Batches: per-row statistics of each divergence (mean, stderr, median, p90, p99, p99.9, min, max, top rows) and top-1 agreement.",
        ),
    ] = False,
    top: Annotated[int, typer.Option("--top", help="With --summary: how many of the rows with the largest values to list.", min=0)] = 5,
    targets: Annotated[
        Optional[str],
        typer.Option(
            "--targets",
            help="Batches: the observed category of each row (an integer array): perplexities of P and Q, and Δp with --summary.",
            metavar="SRC",
        ),
    ] = None,
    mask: Annotated[
        Optional[str],
        typer.Option("--mask", help="Batches and --from sampled-logprobs: 1 keeps a row, 0 drops it (padding positions).", metavar="SRC"),
    ] = None,
    plot: o.Plot = False,
    output: o.Output = None,
    scale_t2: Annotated[
        bool, typer.Option("--scale-t2", help="Multiply the KL values by T^2, as distillation losses do (soft-target gradients scale as 1/T^2).")
    ] = False,
    stream: Annotated[
        bool,
        typer.Option("--stream", help='Read JSON lines from stdin, each {"p": [...], "q": [...]} (or [P, Q]); write one JSON line per input line.'),
    ] = False,
    drawn_from: Annotated[
        o.DrawnFrom, typer.Option("--drawn-from", help="--from sampled-logprobs: the side the draws were taken from.")
    ] = o.DrawnFrom.p,
    group: Annotated[
        Optional[str],
        typer.Option(
            "--group", help="--from sampled-logprobs: a source of sequence ids, one per row; log-ratios are summed per sequence.", metavar="SRC"
        ),
    ] = None,
    per_dimension: Annotated[
        bool,
        typer.Option("--per-dimension", help="Batches of products (e.g. diagonal Gaussians): the mean KL per dimension and the active dimensions."),
    ] = False,
    active_threshold: Annotated[
        float, typer.Option("--active-threshold", help="--per-dimension: a dimension is active when its mean KL(P||Q) exceeds X nats.", metavar="X")
    ] = 0.01,
) -> None:
    """Compare P with the reference Q: KL(P||Q), KL(Q||P), symmetric KL, JS, entropies.

    \b
    Examples:
      klcli compare 0.1,0.9 0.5,0.5
      klcli compare today.csv baseline.csv --base 2 --format json
      klcli compare teacher.npy student.npy --from logits -T 2 --scale-t2
      klcli compare -1,-2,-3 -1,-1,-1 --from logprobs
      tail -f log.jsonl | klcli compare --stream --from logits
      klcli compare 'normal(0,1)' 'studentt(df=3)'
      klcli compare before.csv after.csv --from samples --estimator knn --k 5
      klcli compare today.csv baseline.csv --plot
      klcli compare today.csv baseline.csv --format html -o report.html
      klcli compare logp_policy.npy logp_ref.npy --from sampled-logprobs --group seq.npy
    """
    from klcli.cli.output import check_plot, output_to
    from klcli.compare import CompareOptions, compare_sources
    from klcli.render import print_comparison

    check_metric(metric, fail_above)
    check_plot(plot, fmt.value)
    if stream != (p is None and q is None):
        raise UsageError(
            "give P and Q, or --stream (pairs read from standard input), not both" if stream else "missing P and Q: give two sources, or --stream"
        )
    if not stream and q is None:
        raise UsageError("missing Q: give the reference after P")
    options = CompareOptions(
        base=base,
        smooth=smooth,
        from_=from_.value,
        temperature=temperature,
        reduction=reduction.value,
        engine=engine.value,
        samples=samples,
        seed=seed,
        device=device,
        column=column,
        key=key,
        input_format=input_format.value if input_format else None,
        k=k,
        bootstrap=bootstrap,
        standardize=standardize,
        estimator=estimator,
        columns=[name.strip() for name in columns.split(",") if name.strip()] if columns else None,
        summary=summary,
        top=top,
        targets=targets,
        mask=mask,
        scale_t2=scale_t2,
        drawn_from=drawn_from.value,
        group=group,
        per_dimension=per_dimension,
        active_threshold=active_threshold,
    )
    if stream:
        from klcli.cli.stream import compare_stream

        if fmt.value not in ("table", "json") or plot or fail_above is not None or output is not None:
            raise UsageError("--stream writes JSON lines to stdout: --format, --plot, --fail-above and --output do not apply")
        raise typer.Exit(compare_stream(sys.stdin, sys.stdout, options))
    assert p is not None and q is not None
    p, q = unshield(p), unshield(q)
    with output_to(output), _SampleProgress() as progress:
        comparison = compare_sources(p, q, options, progress=progress)
        if fail_above is not None and metric not in comparison.values:
            raise UsageError(f"--fail-above: {metric} was not computed with --engine {options.engine} (see the notes); use --engine auto")
        print_comparison(comparison, fmt.value, p_name=_display(p), q_name=_display(q), plot=plot)
    if fail_above is not None and exceeds(comparison.values[metric], fail_above):
        print(f"klcli: {threshold_line(metric, comparison.values[metric], fail_above)}", file=sys.stderr)
        raise typer.Exit(ExitCode.THRESHOLD)


def check_metric(metric: str, fail_above: float | None) -> None:
    """Validate ``--metric`` before any work is done."""
    if metric not in VALUE_KEYS:
        raise UsageError(f"`--metric` must be one of {', '.join(VALUE_KEYS)}, not {metric!r}")
    if fail_above is not None and not np.isfinite(fail_above):
        raise UsageError(f"`--fail-above` must be a finite number, not {fail_above!r}")


def threshold_line(metric: str, value, threshold: float) -> str:
    """What went over ``--fail-above``, with the value.

    >>> threshold_line("kl_pq", 0.42, 0.1)
    'kl_pq = 0.42 exceeds 0.1'
    >>> threshold_line("js", np.array([0.01, 0.3, 0.2]), 0.1)
    'js = 0.3 exceeds 0.1 (largest of 3 rows; 2 over)'
    """
    from klcli.render import format_number

    if np.ndim(value) == 0:
        return f"{metric} = {format_number(value)} exceeds {threshold:g}"
    values = np.asarray(value)
    return (
        f"{metric} = {format_number(values.max())} exceeds {threshold:g} (largest of {values.size:,} rows; {int((values > threshold).sum()):,} over)"
    )


def exceeds(value, threshold: float) -> bool:
    """True when a value (or any value of an unreduced batch) is above ``threshold``."""
    return bool(np.any(np.asarray(value) > threshold))


class _SampleProgress:
    """A progress bar on stderr for long sample estimates: after 2 s, and only on a terminal."""

    def __init__(self) -> None:
        self._bar: Any = None  # a klcli.render.DelayedProgress once the first points are in

    def __call__(self, advance: int, total: int) -> None:
        if self._bar is None:
            from klcli.render import DelayedProgress

            self._bar = DelayedProgress(total, "estimating from samples", delay=2.0)
        self._bar(advance)

    def __enter__(self) -> "_SampleProgress":
        return self

    def __exit__(self, *exc) -> None:
        if self._bar is not None:
            self._bar.__exit__(*exc)


def _display(source: str) -> str:
    return "stdin" if source == "-" else source
