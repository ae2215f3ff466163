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
    k: Annotated[Optional[int], typer.Option("--k", help="--from samples: neighbour order of the kNN estimator (default 3).", min=1)] = None,
    bootstrap: Annotated[Optional[int], typer.Option("--bootstrap", help="--from samples: half-sample resamples for standard errors (default 20 up to 100,000 samples, else 0).", min=0)] = None,
    standardize: Annotated[bool, typer.Option("--standardize/--no-standardize", help="--from samples: scale each dimension by its pooled standard deviation.")] = True,
    columns: Annotated[Optional[str], typer.Option("--columns", help="--from samples: comma-separated columns (names, or 0-based indices) to use.")] = None,
    drawn_from: Annotated[o.DrawnFrom, typer.Option("--drawn-from", help="--from sampled-logprobs: the side the draws were taken from.")] = o.DrawnFrom.p,
    group: Annotated[Optional[str], typer.Option("--group", help="--from sampled-logprobs: a source of sequence ids, one per row; log-ratios are summed per sequence.", metavar="SRC")] = None,
    per_dimension: Annotated[bool, typer.Option("--per-dimension", help="Batches of products (e.g. diagonal Gaussians): the mean KL per dimension and the active dimensions.")] = False,
    active_threshold: Annotated[float, typer.Option("--active-threshold", help="--per-dimension: a dimension is active when its mean KL(P||Q) exceeds X nats.", metavar="X")] = 0.01,
    mask: Annotated[Optional[str], typer.Option("--mask", help="--from sampled-logprobs: a source of 0/1 per row; rows with 0 (padding) are dropped.", metavar="SRC")] = None,
) -> None:
    """Compare P with the reference Q: KL(P||Q), KL(Q||P), symmetric KL, JS, entropies.

    \b
    Examples:
      klcli compare 0.1,0.9 0.5,0.5
      klcli compare today.csv baseline.csv --base 2 --format json
      klcli compare student.npy teacher.npy --from logits -T 2
      klcli compare 'normal(0,1)' 'studentt(df=3)'
      klcli compare before.csv after.csv --from samples --k 5
      klcli compare logp_policy.npy logp_ref.npy --from sampled-logprobs --group seq.npy
    """
    from klcli.compare import CompareOptions, compare_sources
    from klcli.render import print_comparison

    check_metric(metric, fail_above)
    options = CompareOptions(
        base=base, smooth=smooth, from_=from_.value, temperature=temperature, reduction=reduction.value,
        engine=engine.value, samples=samples, seed=seed, device=device, column=column, key=key,
        input_format=input_format.value if input_format else None,
        k=k, bootstrap=bootstrap, standardize=standardize,
        columns=[name.strip() for name in columns.split(",") if name.strip()] if columns else None,
        drawn_from=drawn_from.value, group=group, mask=mask, per_dimension=per_dimension, active_threshold=active_threshold,
    )
    comparison = compare_sources(p, q, options)
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


def _display(source: str) -> str:
    return "stdin" if source == "-" else source
