"""``klcli compare P Q``: one pair, both directions of KL, symmetric KL and JS."""

from __future__ import annotations

import sys
from typing import Annotated, Optional

import numpy as np
import typer

from klcli.cli import app
from klcli.cli import options as o
from klcli.errors import ExitCode, UsageError
from klcli.result import VALUE_KEYS


@app.command()
def compare(
    p: Annotated[str, typer.Argument(help="P: a file, '-' for stdin, a spec like 'normal(0,1)', or numbers like 0.2,0.8.")],
    q: Annotated[str, typer.Argument(help="Q, the reference, in the same forms.")],
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
    estimator: Annotated[str, typer.Option("--estimator", help="--from samples: auto, knn, knn-ensemble or classifier (auto: classifier, with knn-ensemble as cross-check).")] = "auto",
    k: Annotated[Optional[int], typer.Option("--k", help="--from samples: neighbour order of --estimator knn (default 3).", min=1)] = None,
    bootstrap: Annotated[Optional[int], typer.Option("--bootstrap", help="--from samples: half-sample resamples for standard errors (default 10 up to 50,000 samples per set; 0: per-point standard errors).", min=0)] = None,
    standardize: Annotated[bool, typer.Option("--standardize/--no-standardize", help="--from samples: whiten by the pooled covariance of P and Q.")] = True,
    columns: Annotated[Optional[str], typer.Option("--columns", help="--from samples: comma-separated columns (names, or 0-based indices); P_NAME:Q_NAME pairs differently named columns.")] = None,
    summary: Annotated[bool, typer.Option("--summary", help="Batches: per-row statistics of each divergence (mean, stderr, median, p90, p99, p99.9, min, max, top rows) and top-1 agreement.")] = False,
    top: Annotated[int, typer.Option("--top", help="With --summary: how many of the rows with the largest values to list.", min=0)] = 5,
    targets: Annotated[Optional[str], typer.Option("--targets", help="Batches: the observed category of each row (an integer array): perplexities of P and Q, and Δp with --summary.", metavar="SRC")] = None,
    mask: Annotated[Optional[str], typer.Option("--mask", help="Batches: 1 keeps a row, 0 drops it (padding positions).", metavar="SRC")] = None,
) -> None:
    """Compare P with the reference Q: KL(P||Q), KL(Q||P), symmetric KL, JS, entropies.

    \b
    Examples:
      klcli compare 0.1,0.9 0.5,0.5
      klcli compare today.csv baseline.csv --base 2 --format json
      klcli compare student.npy teacher.npy --from logits -T 2
      klcli compare 'normal(0,1)' 'studentt(df=3)'
      klcli compare before.csv after.csv --from samples --estimator knn --k 5
    """
    from klcli.compare import CompareOptions, compare_sources
    from klcli.render import print_comparison

    check_metric(metric, fail_above)
    options = CompareOptions(
        base=base, smooth=smooth, from_=from_.value, temperature=temperature, reduction=reduction.value,
        engine=engine.value, samples=samples, seed=seed, device=device, column=column, key=key,
        input_format=input_format.value if input_format else None,
        k=k, bootstrap=bootstrap, standardize=standardize, estimator=estimator,
        columns=[name.strip() for name in columns.split(",") if name.strip()] if columns else None,
        summary=summary, top=top, targets=targets, mask=mask,
    )
    with _SampleProgress() as progress:
        comparison = compare_sources(p, q, options, progress=progress)
    print_comparison(comparison, fmt.value, p_name=_display(p), q_name=_display(q))
    if fail_above is not None and exceeds(comparison.values[metric], fail_above):
        print(f"klcli: {metric} exceeds {fail_above:g}", file=sys.stderr)
        raise typer.Exit(ExitCode.THRESHOLD)


def check_metric(metric: str, fail_above: float | None) -> None:
    """Validate ``--metric`` before any work is done."""
    if metric not in VALUE_KEYS:
        raise UsageError(f"`--metric` must be one of {', '.join(VALUE_KEYS)}, not {metric!r}")
    if fail_above is not None and not np.isfinite(fail_above):
        raise UsageError(f"`--fail-above` must be a finite number, not {fail_above!r}")


def exceeds(value, threshold: float) -> bool:
    """True when a value (or any value of an unreduced batch) is above ``threshold``."""
    return bool(np.any(np.asarray(value) > threshold))


class _SampleProgress:
    """A progress bar on stderr for long sample estimates: after 2 s, and only on a terminal."""

    def __init__(self) -> None:
        self._bar = None

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
