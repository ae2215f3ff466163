"""Typer option declarations shared by several commands."""

from __future__ import annotations

from enum import Enum
from typing import Annotated, Optional

import typer


class OutputFormat(str, Enum):
    table = "table"
    json = "json"
    csv = "csv"
    html = "html"


class BatchFormat(str, Enum):
    table = "table"
    json = "json"
    jsonl = "jsonl"
    csv = "csv"
    html = "html"


class FromMode(str, Enum):
    probs = "probs"
    logprobs = "logprobs"
    logits = "logits"
    samples = "samples"
    sampled_logprobs = "sampled-logprobs"


class DrawnFrom(str, Enum):
    p = "p"
    q = "q"


class HistogramFrom(str, Enum):
    """``--from`` of ``batch``: histogram files only (``samples`` is for ``compare``)."""

    probs = "probs"
    logprobs = "logprobs"
    logits = "logits"


class Reduction(str, Enum):
    batchmean = "batchmean"
    sum = "sum"
    none = "none"


class Engine(str, Enum):
    auto = "auto"
    exact = "exact"
    closed = "closed"
    quad = "quad"
    mc = "mc"


class InputFormat(str, Enum):
    csv = "csv"
    tsv = "tsv"
    txt = "txt"
    json = "json"
    npy = "npy"
    npz = "npz"
    parquet = "parquet"


Base = Annotated[str, typer.Option("--base", "-b", help="Unit of every result: e (nats), 2 (bits), 10 or any number > 1.")]
Smooth = Annotated[
    Optional[float], typer.Option("--smooth", help="Additive smoothing after normalisation: p <- (p + EPS) / (1 + K*EPS).", metavar="EPS")
]
From = Annotated[FromMode, typer.Option("--from", help="How the numbers are read.")]
Temperature = Annotated[float, typer.Option("--temperature", "-T", help="For logits/logprobs: divide by T before the softmax.")]
ReductionOpt = Annotated[Reduction, typer.Option("--reduction", help="How per-row results of a 2-D batch combine.")]
EngineOpt = Annotated[Engine, typer.Option("--engine", help="How a pair of distribution specs is computed.")]
Samples = Annotated[int, typer.Option("--samples", help="Monte Carlo sample size.", min=1)]
Seed = Annotated[int, typer.Option("--seed", help="Random seed (results are reproducible for a given seed).")]
Device = Annotated[
    Optional[str],
    typer.Option(
        "--device",
        help="auto|cpu|cuda|cuda:N|mps: run histogram and logit batches, and Monte Carlo of specs, with torch there (needs klcli[torch]; quadrature, closed forms and --from samples stay on the CPU).",
    ),
]
Format = Annotated[OutputFormat, typer.Option("--format", "-f", help="Output format.")]
BatchFormatOpt = Annotated[BatchFormat, typer.Option("--format", "-f", help="Output format (jsonl: one object per line, flushed).")]
HistogramFromOpt = Annotated[HistogramFrom, typer.Option("--from", help="How the numbers are read.")]
FailAbove = Annotated[Optional[float], typer.Option("--fail-above", help="Exit 1 when the metric exceeds X.", metavar="X")]
Metric = Annotated[str, typer.Option("--metric", help="Value checked by --fail-above (kl_pq, kl_qp, symmetric_kl, js, js_distance, ...).")]
Column = Annotated[Optional[str], typer.Option("--column", help="The weight column of a table with several.")]
Key = Annotated[Optional[str], typer.Option("--key", help="The array to read from an .npz file.")]
InputFormatOpt = Annotated[Optional[InputFormat], typer.Option("--input-format", help="Format of standard input (sniffed by default).")]
Plot = Annotated[bool, typer.Option("--plot", help="Terminal pictures below the table (--format table).")]
Output = Annotated[Optional[str], typer.Option("--output", "-o", help="Write the output to FILE (atomically) instead of stdout.", metavar="FILE")]
TableEngine = Annotated[
    str, typer.Option("--engine", help="Where tables are binned and counted: local or spark (needs klcli[spark]).", metavar="local|spark")
]
SparkMaster = Annotated[
    Optional[str],
    typer.Option("--spark-master", help="Spark master URL for --engine spark (default local[*]; SPARK_REMOTE selects Spark Connect).", metavar="URL"),
]
