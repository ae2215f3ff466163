"""Compare two sources: read them, put them on common ground, call the right engine.

This is the layer between the CLI and the numerical core: it knows about
sources and options, but prints nothing.

>>> c = compare_sources("0.2,0.8", "0.5,0.5", CompareOptions(base="2"))
>>> round(c.values["kl_pq"], 6), c.base
(0.278072, '2')
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from klcli import discrete
from klcli.errors import InputError, UsageError
from klcli.renormalise import EXACT_NORMALISATION_MAX, ExactNormalisation
from klcli.result import Bins, Comparison, parse_base
from klcli.sources import Histogram, align, check_weights, read_source

FROM_MODES = ("probs", "logprobs", "logits", "samples", "sampled-logprobs")
ENGINES = ("auto", "exact", "closed", "quad", "mc")


@dataclass
class CompareOptions:
    """Options shared by ``compare`` and ``batch`` (see SPEC.md)."""

    base: str = "e"
    smooth: float | None = None
    from_: str = "probs"
    temperature: float = 1.0
    reduction: str = "batchmean"
    engine: str = "auto"
    samples: int = 100_000
    seed: int | None = 0
    device: str | None = None
    column: str | None = None
    key: str | None = None
    input_format: str | None = None
    k: int | None = None
    bootstrap: int | None = None
    standardize: bool = True
    columns: list[str] | None = None
    estimator: str = "auto"
    summary: bool = False
    top: int = 5
    targets: str | None = None
    mask: str | None = None
    scale_t2: bool = False
    drawn_from: str = "p"
    group: str | None = None
    per_dimension: bool = False
    active_threshold: float = 0.01

    def validate(self) -> None:
        """Check option values before any file is read."""
        parse_base(self.base)
        if self.from_ not in FROM_MODES:
            raise UsageError(f"`--from` must be one of {', '.join(FROM_MODES)}, not {self.from_!r}")
        if self.engine not in ENGINES:
            raise UsageError(f"`--engine` must be one of {', '.join(ENGINES)}, not {self.engine!r}")
        if self.reduction not in discrete.REDUCTIONS:
            raise UsageError(f"`--reduction` must be one of {', '.join(discrete.REDUCTIONS)}, not {self.reduction!r}")
        if not (self.temperature > 0 and np.isfinite(self.temperature)):
            raise UsageError(f"`--temperature` must be a positive number, not {self.temperature!r}")
        if self.temperature != 1.0 and self.from_ not in ("logits", "logprobs"):
            raise UsageError("`--temperature` applies to --from logits or --from logprobs")
        if self.smooth is not None and not (self.smooth >= 0 and np.isfinite(self.smooth)):
            raise UsageError(f"`--smooth` must be a non-negative number, not {self.smooth!r}")
        if self.scale_t2 and self.from_ not in ("logits", "logprobs"):
            raise UsageError("`--scale-t2` applies to --from logits or --from logprobs (with --temperature T)")
        if self.samples < 1:
            raise UsageError(f"`--samples` must be a positive integer, not {self.samples!r}")
        if self.estimator not in ("auto", "knn", "knn-ensemble", "classifier"):
            raise UsageError(f"`--estimator` must be one of auto, knn, knn-ensemble, classifier, not {self.estimator!r}")
        if (self.summary or self.targets) and self.from_ not in ("probs", "logprobs", "logits"):
            raise UsageError("--summary and --targets apply to batches read --from probs, logprobs or logits")
        if self.mask and self.from_ not in ("probs", "logprobs", "logits", "sampled-logprobs"):
            raise UsageError("--mask applies to batches read --from probs, logprobs or logits, and to --from sampled-logprobs")
        if self.top < 0:
            raise UsageError(f"`--top` must be a non-negative integer, not {self.top!r}")


def compare_sources(p_text: str, q_text: str, options: CompareOptions | None = None, *, stdin=None, progress=None) -> Comparison:
    """Compare the sources P and Q (Q is the reference) in the unit ``options.base``.

    ``progress`` (``--from samples``) is called with the number of points processed.
    """
    options = options or CompareOptions()
    options.validate()
    if p_text == "-" and q_text == "-":
        raise UsageError("only one of P and Q can be read from standard input")
    if options.from_ == "samples":
        return _compare_sample_files(p_text, q_text, options, stdin, progress).in_base(options.base)
    if options.from_ == "sampled-logprobs":
        return _compare_sampled_logprobs(p_text, q_text, options, stdin).in_base(options.base)
    if options.per_dimension and options.from_ != "probs":
        raise UsageError("--per-dimension applies to distribution specs (batches of diagonal Gaussians)")
    if options.drawn_from != "p" or options.group is not None:
        raise UsageError("--drawn-from and --group apply to --from sampled-logprobs")
    if options.k is not None or options.bootstrap is not None or options.columns or not options.standardize or options.estimator != "auto":
        raise UsageError("--estimator, --k, --bootstrap, --columns and --no-standardize apply to --from samples")
    if options.from_ in ("probs", "logprobs", "logits"):  # batches of rows: streamed, with per-row statistics
        from klcli.logits_stream import compare_streamed

        streamed = compare_streamed(p_text, q_text, options, stdin=stdin)
        if streamed is not None:
            if options.scale_t2:
                scale_by_t2(streamed, options.temperature)
            return streamed
    read = dict(input_format=options.input_format, column=options.column, key=options.key, stdin=stdin)
    p = read_source(p_text, role="P", **read)
    q = read_source(q_text, role="Q", **read)
    return compare_read(p, q, options)


def compare_read(p, q, options: CompareOptions) -> Comparison:
    """Compare two sources already read (histograms or distributions) in the unit ``options.base``.

    The options must have been validated (:meth:`CompareOptions.validate`).
    """
    if isinstance(p, Histogram) and isinstance(q, Histogram):
        comparison = compare_histograms(p, q, options)
    elif not isinstance(p, Histogram) and not isinstance(q, Histogram):
        comparison = _compare_specs(p, q, options)
    else:
        hist, spec = (p, q) if isinstance(p, Histogram) else (q, p)
        raise InputError(f"cannot compare the histogram {hist.name} with the distribution {spec}: give two histograms or two specs")
    return comparison.in_base(options.base)


#: Up to this many observations per side, sample estimates get half-sample standard
#: errors by default (they cost about B/2 estimates); above, per-point ones.
AUTO_BOOTSTRAP_MAX_SAMPLES = 50_000
AUTO_BOOTSTRAP = 10


def _compare_sample_files(p_text: str, q_text: str, options: CompareOptions, stdin=None, progress=None) -> Comparison:
    """``--from samples``: estimate from raw observations (or count discrete ones exactly)."""
    from klcli.samples import align_columns, compare_samples, read_samples, split_column_pairs

    if options.smooth is not None or options.temperature != 1.0 or options.engine not in ("auto",):
        raise UsageError("--smooth, --temperature and --engine do not apply to --from samples")
    if options.column is not None:
        raise UsageError("--from samples picks columns with --columns (several allowed), not --column")
    p_cols, q_cols = split_column_pairs(options.columns)
    read = dict(key=options.key, stdin=stdin, input_format=options.input_format)
    p = read_samples(p_text, columns=p_cols, **read)
    q = read_samples(q_text, columns=q_cols, **read)
    p, q = align_columns(p, q, paired=options.columns is not None)
    bootstrap = options.bootstrap
    if bootstrap is None:
        bootstrap = AUTO_BOOTSTRAP if max(p.n, q.n) <= AUTO_BOOTSTRAP_MAX_SAMPLES else 0
    return compare_samples(
        p,
        q,
        estimator=options.estimator,
        k=options.k,
        standardize=options.standardize,
        bootstrap=bootstrap,
        seed=options.seed,
        progress=progress,
    )


def _compare_sampled_logprobs(p_text: str, q_text: str, options: CompareOptions, stdin) -> Comparison:
    """``--from sampled-logprobs``: log p(xᵢ) and log q(xᵢ) of the same draws (RL/RLHF logs)."""
    from klcli.sampled import estimate_sampled

    if options.smooth is not None or options.temperature != 1.0 or options.engine != "auto" or options.device:
        raise UsageError("--smooth, --temperature, --engine and --device do not apply to --from sampled-logprobs")
    if "-" in (options.group, options.mask) and "-" in (p_text, q_text):
        raise UsageError("only one source can be read from standard input")
    read = dict(input_format=options.input_format, column=options.column, key=options.key, stdin=stdin)

    def column(text: str, role: str) -> np.ndarray:
        source = read_source(text, role=role, **read)
        if not isinstance(source, Histogram):
            raise InputError(f"{role}: --from sampled-logprobs reads numbers (one log-probability per draw), not the spec {text!r}")
        if source.labels is not None:
            raise InputError(f"{source.name}: expected one column of log-probabilities, got labelled rows")
        return source.values

    extra = {}
    for option, text in (("groups", options.group), ("mask", options.mask)):
        if text is not None:
            extra[option] = column(text, f"--{'group' if option == 'groups' else option}")
    return estimate_sampled(
        column(p_text, "P"),
        column(q_text, "Q"),
        drawn_from=options.drawn_from,
        reduction=options.reduction,
        names=(_role_name(p_text, "P"), _role_name(q_text, "Q")),
        **extra,
    )


def _role_name(text: str, role: str) -> str:
    return f"{role} ({'stdin' if text == '-' else text})"


def _compare_specs(p, q, options: CompareOptions) -> Comparison:
    if options.from_ != "probs" or options.smooth is not None:
        raise UsageError("--from and --smooth apply to histograms, not to distribution specs")
    from klcli.parametric import compare_distributions

    comparison = compare_distributions(
        p,
        q,
        engine=options.engine,
        samples=options.samples,
        seed=options.seed,
        device=options.device,
        reduction=options.reduction,
    )
    if options.per_dimension:
        from klcli.parametric_batch import per_dimension

        means = per_dimension(p, q)
        active = int(np.count_nonzero(means["kl_pq"] > options.active_threshold))
        comparison.info.update(per_dimension=means, active_dimensions=active, active_threshold=options.active_threshold)
        comparison.notes.append(
            f"{active} of {means['kl_pq'].size} dimensions active (mean KL(P‖Q) per dimension above {options.active_threshold:g} nats); "
            f"per dimension, KL(P‖Q) in nats: {_short_list(means['kl_pq'])}"
        )
    return comparison


def _short_list(values: np.ndarray, limit: int = 16) -> str:
    shown = ", ".join(f"{v:.3g}" for v in values[:limit])
    return shown + (f", … ({values.size - limit} more)" if values.size > limit else "")


def compare_histograms(p: Histogram, q: Histogram, options: CompareOptions) -> Comparison:
    """Exact divergences of two histograms, read as ``options.from_`` says (nats)."""
    if options.engine not in ("auto", "exact"):
        raise UsageError(f"--engine {options.engine} applies to distribution specs; histograms are computed exactly (--engine exact)")
    p_side, q_side = prepare_side(p, options, "P"), prepare_side(q, options, "Q")
    p_probs, q_probs, p_logs, q_logs, labels, notes = pair_sides(p_side, q_side, options)
    comparison = discrete.compare_probabilities(
        p_probs,
        q_probs,
        reduction=options.reduction,
        log_p=p_logs,
        log_q=q_logs,
        labels=labels,
        device=options.device,
        exact=exact_normalisation(p_side, q_side, p_probs, q_probs, options),
    )
    comparison.notes[:0] = notes
    if options.scale_t2:
        scale_by_t2(comparison, options.temperature)
    if np.ndim(p_probs) == 1:
        comparison.bins = Bins(p_probs, q_probs, labels)
    return comparison


#: The values ``--scale-t2`` multiplies: the KL divergences, which are the distillation losses.
T2_SCALED = ("kl_pq", "kl_qp", "symmetric_kl")


def scale_by_t2(comparison: Comparison, temperature: float) -> None:
    """Multiply the KL values by T², as knowledge distillation does (Hinton, Vinyals & Dean, 2015).

    The soft targets' gradients scale as 1/T² (the softmax of x/T flattens as T grows), so a
    distillation loss is T²·KL(teacher‖student) to keep its weight against the hard-label loss
    when T changes. JS, entropies and cross-entropies are left as they are.

    >>> from klcli.result import Comparison
    >>> c = Comparison.from_nats({"kl_pq": 0.5, "kl_qp": 0.25, "js": 0.1}, method="exact")
    >>> scale_by_t2(c, 2.0)
    >>> c.values["kl_pq"], c.values["symmetric_kl"], c.values["js"], c.info["kl_scale"]
    (2.0, 3.0, 0.1, 4.0)
    """
    factor = float(temperature) ** 2
    for key in T2_SCALED:
        if key in comparison.values:
            comparison.values[key] = comparison.values[key] * factor
        if key in comparison.stderr:
            comparison.stderr[key] = comparison.stderr[key] * factor
        statistics = comparison.info.get("summary", {}).get(key)
        if statistics:  # --summary of a streamed batch: every statistic and top row of the per-row KL
            for name, value in statistics.items():
                if name == "top":
                    for row in value:
                        row["value"] *= factor
                elif value is not None:
                    statistics[name] = value * factor
    comparison.info["kl_scale"] = factor
    comparison.notes.append(f"KL values multiplied by T² = {factor:g} (--scale-t2), as distillation losses are; JS and entropies are not")


@dataclass
class Side:
    """One histogram read as a distribution, before it is paired with the other.

    ``values`` are the normalised probabilities, ``logs`` their logarithms
    when they were read as logits or log-probabilities (else None).
    """

    values: np.ndarray
    logs: np.ndarray | None
    labels: list[str] | None
    name: str
    notes: list[str]
    #: ``--from probs`` up to :data:`klcli.renormalise.EXACT_NORMALISATION_MAX` entries: the raw
    #: weights and their row sums (``values = weights / totals``), else None
    weights: np.ndarray | None = None
    totals: np.ndarray | None = None


def prepare_side(h: Histogram, options: CompareOptions, role: str = "P") -> Side:
    """Validate one histogram and turn it into probabilities (``--from`` says how).

    Weights are normalised in place: the histogram is consumed (it is read
    for this one use), which spares a copy of a large input.

    >>> side = prepare_side(Histogram(np.array([1.0, 3.0]), "h", "inline"), CompareOptions())
    >>> side.values.tolist(), side.notes
    ([0.25, 0.75], ['P was normalised: its weights summed to 4'])
    """
    notes: list[str] = []
    if options.from_ == "probs":
        totals = check_weights(h)
        if np.any(np.abs(totals - 1) > 1e-9):
            shown = f"{float(totals[0]):.6g}" if h.values.ndim == 1 else "values other than 1"
            notes.append(f"{role} was normalised: its weights summed to {shown}")
        if h.values.size <= EXACT_NORMALISATION_MAX:
            return Side(h.values / totals, None, h.labels, h.name, notes, h.values, totals)
        values = h.values if h.values.flags.writeable else h.values.copy()
        return Side(np.divide(values, totals, out=values), None, h.labels, h.name, notes)
    bad = np.isnan(h.values) | np.isposinf(h.values)
    if bad.any():
        index = tuple(int(i) for i in np.argwhere(bad)[0])
        raise InputError(f"{h.name}: {h.where(index)}: {options.from_} must be finite numbers or -inf")
    logs = discrete.log_softmax(h.values, temperature=options.temperature)
    if options.from_ == "logprobs" and options.temperature == 1.0:
        with np.errstate(over="ignore"):
            if np.any(np.abs(np.exp(h.values).sum(axis=-1) - 1) > 1e-6):
                notes.append(f"{role}'s log-probabilities did not sum to 1 and were renormalised")
    return Side(np.exp(logs), logs, h.labels, h.name, notes)


def pair_sides(p: Side, q: Side, options: CompareOptions):
    """Put two prepared sides on common bins (by label or position); smooth if asked.

    Returns ``(p, q, log_p, log_q, labels, notes)``; the logs are None for
    ``--from probs``. A 1-D side is broadcast against a 2-D batch.
    """
    if options.smooth and options.from_ != "probs":
        raise UsageError("--smooth applies to --from probs")
    if p.logs is not None and p.labels is not None and q.labels is not None and set(p.labels) != set(q.labels):
        # a label missing on one side would be filled with probability 0, yet its logit had mass
        missing = sorted(set(p.labels) ^ set(q.labels))[0]
        raise InputError(f"--from {options.from_} needs the same labels on both sides; {missing!r} is on one side only")
    notes = p.notes + q.notes
    pv, qv, labels = align(p, q)
    pv, qv = np.broadcast_arrays(pv, qv) if pv.ndim != qv.ndim else (pv, qv)
    if p.logs is None:
        if options.smooth:
            pv, qv = discrete.smooth(pv, options.smooth), discrete.smooth(qv, options.smooth)
            notes.append(f"smoothed with eps = {options.smooth:g} on both sides: p ← (p + eps) / (1 + K·eps)")
        return pv, qv, None, None, labels, notes
    assert q.logs is not None  # both sides are read the same way (--from)
    lp, lq, _ = align(replace(p, values=p.logs), replace(q, values=q.logs))
    lp, lq = np.broadcast_arrays(lp, lq) if lp.ndim != lq.ndim else (lp, lq)
    if options.temperature != 1.0:
        notes.append(f"temperature T = {options.temperature:g}: softmax({options.from_} / T) on both sides")
    return pv, qv, lp, lq, labels, notes


def exact_normalisation(p: Side, q: Side, p_probs, q_probs, options: CompareOptions):
    """The raw weights behind the paired probabilities (None without them, or after smoothing)."""
    if p.weights is None or q.weights is None or options.smooth:
        return None
    wp, wq, _ = align(replace(p, values=p.weights), replace(q, values=q.weights))
    return ExactNormalisation(wp, wq, p_probs, q_probs, p.totals, q.totals)


def prepare_pair(p: Histogram, q: Histogram, options: CompareOptions):
    """Validate, normalise and align two histograms: :func:`prepare_side` on each, then :func:`pair_sides`."""
    return pair_sides(prepare_side(p, options, "P"), prepare_side(q, options, "Q"), options)
