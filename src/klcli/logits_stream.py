"""Batches of model outputs compared block by block of rows, with per-row statistics.

Two arrays of N rows × V categories (logits, log-probabilities or
probabilities; 2-D, or 3-D with rows over the first two axes) are read in
blocks of rows into buffers that every block reuses. Each block is turned into
float64 log-probabilities with the same ``log_softmax`` steps as
:func:`klcli.discrete.log_softmax`, and its per-row divergences come from
:func:`klcli.discrete.divergences` (or its torch twin with ``--device``), so
the values equal those of the whole-array path while memory is bounded by the
block size: only a few numbers per row are kept, whatever N.

Blocks are read in order under a lock and computed by worker threads (numpy
releases the GIL in its loops). Besides the reduction over rows, the per-row
values give a summary (mean and its standard error, median, p90, p99, p99.9,
min, max, the rows with the largest values), the share of rows whose arg-max
agrees and, with the observed token of each row, perplexities and
Δp = p(target) − q(target).

>>> import os, tempfile
>>> folder = tempfile.mkdtemp()
>>> rng = np.random.default_rng(0)
>>> for side in "pq":
...     np.save(os.path.join(folder, side + ".npy"), rng.normal(size=(6, 4)).astype(np.float32))
>>> from klcli.compare import CompareOptions
>>> c = compare_streamed(os.path.join(folder, "p.npy"), os.path.join(folder, "q.npy"), CompareOptions(from_="logits", summary=True))
>>> round(c.values["kl_pq"], 6), c.info["rows"], sorted(c.info["summary"]["kl_pq"])[:4]
(0.48149, 6, ['max', 'mean', 'median', 'min'])
"""

from __future__ import annotations

import math
import threading
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from klcli import discrete
from klcli.errors import InputError, UsageError
from klcli.result import Comparison, parse_base
from klcli.tensors import Tensor, open_tensor, read_array, to_float

#: Elements per block of rows: just under the size at which the discrete core
#: splits work across threads, so each worker thread computes whole blocks.
BLOCK_ELEMENTS = discrete.PARALLEL_MIN_SIZE - 1
#: Elements per block on a torch device: its temporaries are a few dozen blocks. On the
#: CPU, blocks that stay in cache, one per worker thread, each torch op on one thread:
#: torch's own threads on small blocks made the CPU device 6-10x slower on a busy machine.
TORCH_BLOCK_ELEMENTS = {"cpu": 1 << 15, "other": 1 << 22}
#: Per-row values summarised by ``--summary``.
SUMMARY_KEYS = ("kl_pq", "kl_qp", "symmetric_kl", "js")
#: The percentiles of the summary, as (key, fraction).
PERCENTILES = (("median", 0.5), ("p90", 0.9), ("p99", 0.99), ("p99_9", 0.999))
_TERM_KEYS = ("kl_pq", "kl_qp", "js", "entropy_p", "entropy_q")


def wants_rows(options) -> bool:
    """Whether options ask for per-row work that only this module does."""
    return bool(options.summary or options.targets or options.mask)


def compare_streamed(p_text: str, q_text: str, options, *, stdin=None) -> Comparison | None:
    """Compare two batches block by block; None when the sources are not batches to stream.

    Tensor files (NPY, NPZ members, safetensors) of 2 or 3 dimensions are
    streamed; with ``--summary``, ``--targets`` or ``--mask`` any 2-D source is.
    The result is in ``options.base``.
    """
    needed = wants_rows(options)
    p = _open_side(p_text, options, "P", stdin, needed)
    q = _open_side(q_text, options, "Q", stdin, needed)
    if p is None or q is None or (len(p.shape) < 2 and len(q.shape) < 2):
        if needed:
            raise UsageError("--summary, --targets and --mask need a batch: a 2-D or 3-D array with one distribution per row")
        return None
    if options.engine not in ("auto", "exact"):
        raise UsageError(f"--engine {options.engine} applies to distribution specs; histograms are computed exactly (--engine exact)")
    if options.smooth and options.from_ != "probs":
        raise UsageError("--smooth applies to --from probs")
    batch = p if len(p.shape) >= 2 else q
    if p.width != q.width:
        raise InputError(f"{p.name} has {p.width} categories per row but {q.name} has {q.width}: the rows must have the same length")
    if len(p.shape) >= 2 and len(q.shape) >= 2 and p.rows != q.rows:
        raise InputError(f"{p.name} has {p.rows} rows but {q.name} has {q.rows}")
    keep = _read_mask(options.mask, batch, stdin) if options.mask else None
    targets = _read_targets(options.targets, batch, keep, stdin) if options.targets else None
    rows = _stream(p, q, batch, options, keep, targets)
    return _comparison(rows, batch, options, keep, targets is not None)


# ---------------------------------------------------------------------------
# Sources


def _open_side(text: str, options, role: str, stdin, needed: bool) -> Tensor | None:
    tensor = open_tensor(text, options.key) if text != "-" else None
    if tensor is None and needed:
        from klcli.sources import Histogram, read_source

        h = read_source(text, role=role, input_format=options.input_format, column=options.column, key=options.key, stdin=stdin)
        if not isinstance(h, Histogram) or h.labels is not None:
            raise UsageError(f"{role}: --summary, --targets and --mask need arrays of rows, not a labelled histogram or a distribution spec")
        tensor = Tensor(h.name, h.values.shape, h.values.dtype, array=np.ascontiguousarray(h.values))
    if tensor is not None:
        if not 1 <= len(tensor.shape) <= 3:
            raise InputError(
                f"{tensor.name}: expected a 1-D distribution, a 2-D batch or a 3-D batch × positions × categories, got shape {tensor.shape}"
            )
        if math.prod(tensor.shape) == 0:
            raise InputError(f"{tensor.name}: empty array (shape {tensor.shape})")
    return tensor


def _read_small(text: str, role: str, stdin) -> tuple[np.ndarray, str]:
    """A mask or target array (any source), and its name for messages."""
    tensor = open_tensor(text) if text != "-" else None
    if tensor is not None:
        return read_array(tensor) if not tensor.bfloat16 else read_array(tensor, np.float32), tensor.name
    from klcli.sources import Histogram, read_source

    h = read_source(text, role=role, stdin=stdin)
    if not isinstance(h, Histogram):
        raise InputError(f"{role}: expected an array, not a distribution spec")
    return h.values, h.name


def _per_row(values: np.ndarray, name: str, batch: Tensor, what: str) -> np.ndarray:
    if values.shape != batch.shape[:-1] and values.size != batch.rows:
        raise InputError(f"{name}: {what} of shape {values.shape} for a batch of {batch.rows} rows (shape {batch.shape[:-1]}): give one per row")
    return values.reshape(-1)


def _read_mask(text: str, batch: Tensor, stdin) -> np.ndarray:
    values, name = _read_small(text, "--mask", stdin)
    values = _per_row(values, name, batch, "a mask")
    bad = np.flatnonzero((values != 0) & (values != 1))
    if bad.size:
        raise InputError(f"{name}: {batch.describe_row(int(bad[0]))}: mask value {values[bad[0]].item()!r} is not 0 or 1 (1 keeps the row)")
    keep = values != 0
    if not keep.any():
        raise InputError(f"{name}: the mask drops every row")
    return keep


def _read_targets(text: str, batch: Tensor, keep, stdin) -> np.ndarray:
    values, name = _read_small(text, "--targets", stdin)
    values = _per_row(values, name, batch, "targets")
    used = keep if keep is not None else np.ones(values.size, dtype=bool)
    with np.errstate(invalid="ignore"):
        bad = np.flatnonzero(used & ~((values >= 0) & (values < batch.width) & (values == np.round(values) if values.dtype.kind == "f" else True)))
    if bad.size:
        row = int(bad[0])
        hint = "" if keep is not None else " (padding positions can be dropped with --mask)"
        raise InputError(f"{name}: {batch.describe_row(row)}: target {values[row].item()!r} is not a category index in 0..{batch.width - 1}{hint}")
    return np.where(used, values, 0).astype(np.int64)


class _RowFeed:
    """Rows of one side, in order: read from its tensor, or one vector repeated for every row."""

    def __init__(self, tensor: Tensor) -> None:
        self.tensor = tensor
        self.repeated = read_array(tensor, np.float64) if len(tensor.shape) == 1 else None
        self.reader = None if self.repeated is not None else tensor.reader()

    @property
    def dtype(self):
        return np.dtype(np.float64) if self.repeated is not None else self.tensor.dtype

    def read(self, out: np.ndarray) -> np.ndarray:
        if self.repeated is not None:
            out[...] = self.repeated
            return out
        assert self.reader is not None, "a side not repeated is read from its tensor"
        return self.reader.read(out)

    def to_float(self, raw: np.ndarray, out: np.ndarray) -> np.ndarray:
        if self.repeated is not None:
            np.copyto(out, raw)
            return out
        return to_float(raw, self.tensor, out)

    def close(self) -> None:
        if self.reader is not None:
            self.reader.close()


# ---------------------------------------------------------------------------
# The stream


@dataclass
class RowResults:
    """What the blocks leave behind: a few numbers per row and the notes."""

    terms: dict
    agree: np.ndarray
    log_p_target: np.ndarray | None
    log_q_target: np.ndarray | None
    zero_bins: list = field(default_factory=list)
    notes: set = field(default_factory=set)
    backend: str | None = None


def _stream(p: Tensor, q: Tensor, batch: Tensor, options, keep, targets) -> RowResults:
    n, width = batch.rows, batch.width
    out = RowResults(
        terms={key: np.zeros(n) for key in _TERM_KEYS},
        agree=np.zeros(n, dtype=bool),
        log_p_target=np.zeros(n) if targets is not None else None,
        log_q_target=np.zeros(n) if targets is not None else None,
    )
    feeds = (_RowFeed(p), _RowFeed(q))
    try:
        torch_threads = None
        compute: _NumpyBlocks
        if options.device is not None:
            compute = _TorchBlocks(options, feeds, out, targets)
            out.backend = f"torch:{compute.device}"  # the device that ran: auto resolved
            on_cpu = compute.device.type == "cpu"
            workers, elements = (discrete._threads(), TORCH_BLOCK_ELEMENTS["cpu"]) if on_cpu else (1, TORCH_BLOCK_ELEMENTS["other"])
            if on_cpu:
                torch_threads = compute.torch.get_num_threads()
                compute.torch.set_num_threads(1)
        else:
            compute = _NumpyBlocks(options, feeds, out, targets)
            workers, elements = discrete._threads(), BLOCK_ELEMENTS
        block_rows = max(1, elements // width)
        _run_blocks(n, block_rows, min(workers, -(-n // block_rows)), feeds, keep, compute)
    finally:
        for feed in feeds:
            feed.close()
        if torch_threads is not None:
            assert isinstance(compute, _TorchBlocks), "threads are set aside only for torch on the CPU"
            compute.torch.set_num_threads(torch_threads)
    return out


def _run_blocks(n: int, block_rows: int, workers: int, feeds, keep, compute) -> None:
    """Read blocks in order under a lock, compute them on ``workers`` threads.

    The error of the lowest block is raised: every block before a failing one
    has been claimed, and so finished, before the workers stop.
    """
    lock = threading.Lock()
    state = {"next": 0}
    errors: list = []
    stop = threading.Event()
    width = feeds[0].tensor.width

    def work() -> None:
        raw = [np.empty((block_rows, width), dtype=feed.dtype) for feed in feeds]
        buffers = compute.buffers(block_rows, width)
        while not stop.is_set():
            with lock:
                r0 = state["next"]
                if r0 >= n:
                    return
                r1 = min(n, r0 + block_rows)
                state["next"] = r1
                try:
                    blocks = [feed.read(buf[: r1 - r0]) for feed, buf in zip(feeds, raw)]
                except BaseException as error:
                    errors.append((r0, error))
                    stop.set()
                    return
            try:
                rows = np.arange(r0, r1)
                if keep is not None and not keep[r0:r1].all():
                    kept = keep[r0:r1]
                    rows, blocks = rows[kept], [b[kept] for b in blocks]
                if rows.size:
                    compute(rows, blocks, buffers)
            except BaseException as error:
                errors.append((r0, error))
                stop.set()
                return

    if workers <= 1:
        work()
    else:
        threads = [threading.Thread(target=work, daemon=True) for _ in range(workers)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    if errors:
        raise min(errors, key=lambda e: e[0])[1]


def _bad_value_message(tensor: Tensor, row: int, values: np.ndarray, mode: str) -> str:
    """Why one row of logits or log-probabilities cannot be used."""
    where = f"{tensor.name}: {tensor.describe_row(row)}"
    bad = np.flatnonzero(np.isnan(values) | np.isposinf(values))
    if bad.size:
        return f"{where}, column {int(bad[0])}: {mode} must be finite numbers or -inf, found {values[bad[0]]}"
    return f"{where}: every entry is -inf: the row has no probability mass"


class _NumpyBlocks:
    """Per-block work with numpy: log-softmax, the discrete core's terms, arg-max, targets."""

    def __init__(self, options, feeds, out: RowResults, targets) -> None:
        self.mode, self.temperature, self.smooth = options.from_, options.temperature, options.smooth
        self.feeds, self.out, self.targets = feeds, out, targets

    def buffers(self, block_rows: int, width: int) -> list:
        return [np.empty((block_rows, width)) for _ in range(4)]

    def __call__(self, rows: np.ndarray, blocks, buffers) -> None:
        n = rows.size
        sides, weights, totals = [], [], []
        for side, (feed, raw) in enumerate(zip(self.feeds, blocks)):
            z, e = buffers[2 * side][:n], buffers[2 * side + 1][:n]
            feed.to_float(raw, z)
            if self.mode == "probs":
                np.copyto(e, z)  # the raw weights, for the exact renormalisation
                weights.append(e)
                totals.append(z.sum(axis=-1, keepdims=True))
                sides.append((self._probabilities(feed, "PQ"[side], rows, z), None))
            else:
                sides.append(self._log_softmax(feed, "PQ"[side], rows, z, e))
        (p, lp), (q, lq) = sides
        raw_terms = discrete.divergences(p, q, log_p=lp, log_q=lq)
        if weights and not self.smooth and discrete.rounding_may_show(raw_terms):
            from klcli.renormalise import ExactNormalisation  # nearly equal rows: as the whole-array path does

            raw_terms = discrete.divergences(p, q, exact=ExactNormalisation(weights[0], weights[1], p, q, totals[0], totals[1]))
        self._keep(rows, raw_terms, lp if lp is not None else p, lq if lq is not None else q)

    def _log_softmax(self, feed, role: str, rows, z, e):
        """``log_softmax(z / T)`` in place in ``z`` (the steps of :func:`discrete.log_softmax`), probabilities in ``e``."""
        with np.errstate(over="ignore", under="ignore", divide="ignore"):  # overflow to ±inf is the right limit
            return self._log_softmax_quietly(feed, role, rows, z, e)

    def _log_softmax_quietly(self, feed, role: str, rows, z, e):
        if self.temperature != 1.0:
            z /= self.temperature
        shift = z.max(axis=-1, keepdims=True)  # NaN and +inf propagate: one check finds every bad row
        if not np.isfinite(shift).all():
            i = int(np.flatnonzero(~np.isfinite(shift))[0])
            raise InputError(_bad_value_message(feed.tensor, int(rows[i]), z[i], self.mode))
        z -= shift
        np.exp(z, out=e)
        total = np.sum(e, axis=-1, keepdims=True)
        if self.mode == "logprobs" and self.temperature == 1.0 and np.any(np.abs(total * np.exp(shift) - 1) > 1e-6):
            self.out.notes.add(f"{role}'s log-probabilities did not sum to 1 and were renormalised")
        z -= np.log(total)
        np.exp(z, out=e)
        return e, z

    def _probabilities(self, feed, role: str, rows, z):
        """Check and normalise weights in place (as :func:`klcli.sources.check_weights`)."""
        totals = z.sum(axis=-1, keepdims=True)
        if not (z.min() >= 0 and np.isfinite(totals).all()):
            bad = ~np.isfinite(z) | (z < 0)
            if bad.any():
                i, j = (int(v) for v in np.argwhere(bad)[0])
                value = float(z[i, j])
                kind = "NaN" if math.isnan(value) else "infinite" if math.isinf(value) else "negative"
                raise InputError(
                    f"{feed.tensor.name}: {feed.tensor.describe_row(int(rows[i]))}, column {j}: {kind} weight {value!r}".replace("nan", "NaN")
                )
            raise InputError(f"{feed.tensor.name}: the weights overflow when summed")
        if (totals == 0).any():
            i = int(np.flatnonzero(totals.ravel() == 0)[0])
            raise InputError(f"{feed.tensor.name}: {feed.tensor.describe_row(int(rows[i]))}: all weights are zero: it is not a distribution")
        if np.any(np.abs(totals - 1) > 1e-9):
            self.out.notes.add(f"{role} was normalised: its weights summed to values other than 1")
        np.divide(z, totals, out=z)
        if self.smooth:
            z[...] = discrete.smooth(z, self.smooth)
        return z

    def _keep(self, rows, raw_terms: dict, score_p, score_q) -> None:
        out = self.out
        for key in _TERM_KEYS:
            out.terms[key][rows] = raw_terms[key]
        out.agree[rows] = np.argmax(score_p, axis=-1) == np.argmax(score_q, axis=-1)
        if self.targets is not None:
            picked = self.targets[rows][:, None]
            for side, score in ((out.log_p_target, score_p), (out.log_q_target, score_q)):
                assert side is not None, "the target log-probabilities are kept when there are targets"
                chosen = np.take_along_axis(score, picked, axis=-1)[:, 0]
                if self.mode == "probs":
                    with np.errstate(divide="ignore"):
                        chosen = np.log(chosen)
                side[rows] = chosen
        width = score_p.shape[-1]
        for which in ("inf_pq", "inf_qp"):
            if raw_terms[which]:
                index = np.asarray(raw_terms[which + "_index"])
                flat = rows[index // width] * width + index % width
                out.zero_bins.append((int(rows[0]), which, raw_terms[which], flat.tolist()))


class _TorchBlocks(_NumpyBlocks):
    """The same blocks with torch on ``--device``: float64 log-softmax and :mod:`klcli.engines.discrete_torch`'s terms."""

    def __init__(self, options, feeds, out: RowResults, targets) -> None:
        from klcli.engines.montecarlo import resolve_device

        super().__init__(options, feeds, out, targets)
        ops = resolve_device(options.device)
        self.torch, self.device = ops.torch, ops.device

    def buffers(self, block_rows: int, width: int) -> list:
        return []

    def __call__(self, rows: np.ndarray, blocks, buffers) -> None:
        from klcli.engines.discrete_torch import _block_sums

        torch = self.torch
        sides = []
        for side, (feed, raw) in enumerate(zip(self.feeds, blocks)):
            if self.mode == "probs":  # weights are checked and normalised on the host
                weights = self._probabilities(feed, "PQ"[side], rows, feed.to_float(raw, np.empty(raw.shape)))
                sides.append((torch.from_numpy(weights).to(self.device), None))
                continue
            host = raw if raw.dtype.kind == "f" and not feed.tensor.bfloat16 else feed.to_float(raw, np.empty(raw.shape, np.float32))
            z = torch.from_numpy(np.ascontiguousarray(host)).to(self.device).to(torch.float64)
            if self.temperature != 1.0:
                z = z / self.temperature
            shift = z.amax(dim=-1, keepdim=True)  # NaN and +inf propagate
            finite = torch.isfinite(shift).ravel()
            if not bool(finite.all()):
                i = int(torch.nonzero(~finite)[0])
                raise InputError(_bad_value_message(feed.tensor, int(rows[i]), z[i].cpu().numpy(), self.mode))
            log_total = torch.logsumexp(z - shift, dim=-1, keepdim=True)
            if self.mode == "logprobs" and self.temperature == 1.0 and bool(((log_total + shift).exp() - 1).abs().max() > 1e-6):
                self.out.notes.add(f"{'PQ'[side]}'s log-probabilities did not sum to 1 and were renormalised")
            log_probs = z - shift - log_total
            sides.append((log_probs.exp(), log_probs))
        (p, lp), (q, lq) = sides
        sums = _block_sums(torch, p, q, None if lp is None else (lp, lq), True)
        raw_terms = {key: value.cpu().numpy() for key, value in sums.items()}
        raw_terms["js"] = 0.5 * raw_terms["js"]
        for key in ("entropy_p", "entropy_q"):
            raw_terms[key] = 0.0 - raw_terms[key]
        score_p, score_q = (lp, lq) if lp is not None else (p, q)
        self.out.agree[rows] = (score_p.argmax(dim=-1) == score_q.argmax(dim=-1)).cpu().numpy()
        for key in _TERM_KEYS:
            self.out.terms[key][rows] = raw_terms[key]
        if self.targets is not None:
            picked = torch.from_numpy(self.targets[rows][:, None]).to(self.device)
            for target_side, score in ((self.out.log_p_target, score_p), (self.out.log_q_target, score_q)):
                assert target_side is not None, "the target log-probabilities are kept when there are targets"
                chosen = score.gather(-1, picked)[:, 0].cpu().numpy()
                if self.mode == "probs":
                    with np.errstate(divide="ignore"):
                        chosen = np.log(chosen)
                target_side[rows] = chosen
        width = p.shape[-1]
        infinite = np.flatnonzero(np.isinf(raw_terms["kl_pq"]) | np.isinf(raw_terms["kl_qp"]))
        for i in infinite.tolist():  # only rows with an infinite KL are searched for their zero bins
            on_host = [x[i].cpu().numpy() for x in (p, q)] + ([x[i].cpu().numpy() for x in (lp, lq)] if lp is not None else [None, None])
            found = discrete.zero_bins(*on_host)
            for which in ("inf_pq", "inf_qp"):
                if found[which]:
                    flat = [int(rows[i]) * width + j for j in found[which + "_index"]]
                    self.out.zero_bins.append((int(rows[i]), which, found[which], flat))


# ---------------------------------------------------------------------------
# Results


def _comparison(rows: RowResults, batch: Tensor, options, keep, with_targets: bool) -> Comparison:
    """Reduce the per-row values, add notes, then (in ``options.base``) the summary and perplexities."""
    kept = np.flatnonzero(keep) if keep is not None else np.arange(batch.rows)
    per_row = {key: value[kept] if keep is not None else value for key, value in rows.terms.items()}
    if options.reduction == "batchmean":
        values = {key: float(np.mean(v)) for key, v in per_row.items()}
    elif options.reduction == "sum":
        values = {key: float(np.sum(v)) for key, v in per_row.items()}
    else:
        values = dict(per_row)
    info: dict = {"rows": int(kept.size), "reduction": options.reduction}
    if keep is not None:
        info["rows_masked"] = int(batch.rows - kept.size)
    if rows.backend:
        info["backend"] = rows.backend
    comparison = Comparison.from_nats(values, method="exact", info=info)
    comparison.notes.extend(sorted(rows.notes))
    if options.temperature != 1.0:
        comparison.notes.append(f"temperature T = {options.temperature:g}: softmax({options.from_} / T) on both sides")
    if keep is not None:
        comparison.notes.append(f"{info['rows_masked']} of {batch.rows} rows dropped by the mask")
    discrete.note_zero_bins(comparison, _zero_bin_counts(rows.zero_bins), batch.width, None, True)
    comparison = comparison.in_base(options.base)
    log_base = parse_base(options.base)[1]
    extra: dict = {}
    if options.summary:
        per_row["symmetric_kl"] = per_row["kl_pq"] + per_row["kl_qp"]
        describe = _positions(batch)
        extra["summary"] = {key: row_summary(per_row[key] / log_base, kept, top=options.top, describe=describe) for key in SUMMARY_KEYS}
        agree = rows.agree[kept]
        extra["top1_agreement"] = float(np.mean(agree))
    if with_targets:
        assert rows.log_p_target is not None and rows.log_q_target is not None, "the target log-probabilities are kept with targets"
        lp_t, lq_t = rows.log_p_target[kept], rows.log_q_target[kept]
        mean_p, mean_q = float(np.mean(lp_t)), float(np.mean(lq_t))
        with np.errstate(over="ignore"):
            extra["perplexity_p"], extra["perplexity_q"] = float(np.exp(-mean_p)), float(np.exp(-mean_q))
        if math.isfinite(mean_p) or math.isfinite(mean_q) or mean_p != mean_q:
            extra["log_perplexity_ratio"] = (mean_q - mean_p) / log_base
        else:
            comparison.notes.append("both perplexities are infinite: their log-ratio is undefined")
        if options.summary:
            delta = np.exp(lp_t) - np.exp(lq_t)
            extra["summary"]["delta_p"] = row_summary(delta, kept, top=0)
            extra["summary"]["delta_p"]["rms"] = float(np.sqrt(np.mean(delta * delta)))
    comparison.info.update(extra)
    return comparison


def _zero_bin_counts(found: list) -> dict:
    """``inf_pq``/``inf_qp`` counts and their first ten flat indices, in row order."""
    out: dict[str, Any] = {"inf_pq": 0, "inf_qp": 0, "inf_pq_index": [], "inf_qp_index": []}
    for _, which, count, flat in sorted(found, key=lambda item: item[0]):
        out[which] += count
        listed = out[which + "_index"]
        listed.extend(flat[: max(0, 10 - len(listed))])
    return out


def _positions(batch: Tensor):
    """For a 3-D batch, a function giving ``{"batch", "position"}`` of a row."""
    if len(batch.shape) != 3:
        return None
    return lambda row: dict(zip(("batch", "position"), divmod(row, batch.shape[1])))


def row_summary(values: np.ndarray, rows: np.ndarray, *, top: int = 5, describe=None) -> dict:
    """Mean and its standard error, median, p90, p99, p99.9, min, max and the ``top`` largest rows.

    Percentiles use numpy's default linear interpolation; an infinite value
    makes the mean, the standard error and the percentiles that reach it
    infinite (never NaN). ``rows`` are the row numbers of ``values``.
    ``stderr`` is None for a single row.

    >>> s = row_summary(np.array([1.0, 4.0, 2.0, 3.0]), np.arange(4), top=2)
    >>> s["median"], round(s["p90"], 12), s["top"]
    (2.5, 3.7, [{'row': 1, 'value': 4.0}, {'row': 3, 'value': 3.0}])
    >>> row_summary(np.array([0.5, np.inf]), np.arange(2), top=0)["median"]
    inf
    """
    n = values.size
    finite = bool(np.isfinite(values).all())
    mean = float(np.mean(values))
    if n < 2:
        stderr = None
    elif finite:
        stderr = float(np.std(values, ddof=1) / math.sqrt(n))
    else:
        stderr = math.inf
    out: dict[str, Any] = {"mean": mean, "stderr": stderr}
    out.update(zip((key for key, _ in PERCENTILES), _quantiles(values, [f for _, f in PERCENTILES], finite)))
    out["min"], out["max"] = float(np.min(values)), float(np.max(values))
    if top:
        order = np.argsort(-values, kind="stable")[:top]
        out["top"] = [{"row": int(rows[i]), **(describe(int(rows[i])) if describe else {}), "value": float(values[i])} for i in order]
    return out


def _quantiles(values: np.ndarray, fractions: list[float], finite: bool) -> list[float]:
    """``np.quantile`` (linear), extended to +inf values without producing NaN."""
    if finite:
        return [float(v) for v in np.quantile(values, fractions)]
    ordered = np.sort(values)
    out = []
    for fraction in fractions:
        h = (ordered.size - 1) * fraction
        lo = math.floor(h)
        hi = min(lo + 1, ordered.size - 1)
        a, b = float(ordered[lo]), float(ordered[hi])
        out.append(a if h == lo or a == b else a + (b - a) * (h - lo))
    return out
