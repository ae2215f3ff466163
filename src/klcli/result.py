"""The result of a comparison: divergences, how each was obtained, and their errors.

Every engine (discrete, closed form, quadrature, Monte Carlo, kNN) returns a
:class:`Comparison` with values in nats; :meth:`Comparison.in_base` converts
to the unit the user asked for, and the renderer turns it into a table, JSON
or CSV.

Examples
--------
>>> c = Comparison.from_nats({"kl_pq": 0.5, "kl_qp": 0.25, "js": 0.1}, method="exact")
>>> round(c.values["symmetric_kl"], 12), round(c.values["js_distance"] ** 2, 12)
(0.75, 0.1)
>>> round(c.in_base("2").values["kl_pq"], 6)
0.721348
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from collections.abc import Mapping
from typing import Any

import numpy as np

from klcli.errors import NumericalError, UsageError

#: Every value a comparison can report, in display order.
VALUE_KEYS = (
    "kl_pq",
    "kl_qp",
    "symmetric_kl",
    "js",
    "js_distance",
    "entropy_p",
    "entropy_q",
    "cross_entropy_pq",
    "cross_entropy_qp",
)

#: Divergences that are never negative (rounding may push an estimate below 0).
NON_NEGATIVE_KEYS = ("kl_pq", "kl_qp", "symmetric_kl", "js", "js_distance")

#: Method names used in ``Comparison.method`` (SPEC.md); sample estimators add their own.
METHODS = ("exact", "closed_form", "quadrature", "monte_carlo")

Value = float | np.ndarray


def parse_base(base: str | float | None) -> tuple[str, float]:
    """Return ``(label, ln(base))`` for ``--base``: ``e``, ``2``, ``10`` or a float.

    >>> parse_base("2")[0], round(parse_base("2")[1], 6)
    ('2', 0.693147)
    >>> parse_base(None)
    ('e', 1.0)
    """
    if base is None or str(base).strip().lower() in ("e", "nat", "nats"):
        return "e", 1.0
    text = str(base).strip().lower()
    if text in ("bit", "bits"):
        text = "2"
    try:
        value = float(text)
    except ValueError:
        raise UsageError(f"`--base` must be e, 2, 10 or a number greater than 1, not {base!r}") from None
    if not (math.isfinite(value) and value > 1):
        # a base in (0, 1) would turn every divergence negative and --fail-above would never fire
        raise UsageError(f"`--base` must be a number greater than 1 (e, 2, 10, ...), not {base!r}")
    label = text if text in ("2", "10") else repr(value)
    return label, math.log(value)


@dataclass
class Comparison:
    """Divergences between P and Q (nats unless ``base`` says otherwise).

    ``values`` maps keys of :data:`VALUE_KEYS` to floats, or to 1-D arrays
    (one entry per row) for an unreduced batch. ``method`` names how each value
    was obtained; ``stderr`` holds the standard error of estimated values only.
    ``info`` carries facts worth reporting (sample count, seed, zero bins...),
    ``notes`` human-readable remarks for the table footer. ``interval`` maps
    estimated values to a (low, high) range that accounts for bias as well as
    noise (sample estimators).
    """

    values: dict[str, Value]
    method: dict[str, str]
    stderr: dict[str, Value] = field(default_factory=dict)
    base: str = "e"
    info: dict[str, Any] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    interval: dict[str, tuple[float, float]] = field(default_factory=dict)
    #: The two aligned 1-D distributions of a histogram comparison, for pictures (not output as data).
    bins: "Bins | None" = field(default=None, repr=False)

    @classmethod
    def from_nats(
        cls,
        values: Mapping[str, Value],
        method: str | Mapping[str, str],
        stderr: Mapping[str, Value] | None = None,
        **kwargs: Any,
    ) -> "Comparison":
        """Build a comparison, deriving ``symmetric_kl``, ``js_distance`` and
        cross-entropies from the values given when they are missing.

        This is the one place that enforces the bounds of every engine's output:
        KL is clipped to ``[0, inf]``, JS to ``[0, ln 2]``, and a NaN anywhere raises
        :class:`~klcli.errors.NumericalError` naming the value and its method.
        """
        info = kwargs.get("info") or {}
        # a --reduction sum adds up one JS per row: its bound is rows · ln 2
        summed_rows = int(info.get("rows", 1)) if info.get("reduction") == "sum" else 1
        values = _bounded(dict(values), method, summed_rows)
        stderr = dict(stderr or {})
        interval = dict(kwargs.pop("interval", None) or {})
        if "kl_pq" in interval and "kl_qp" in interval and "symmetric_kl" not in interval:
            interval["symmetric_kl"] = tuple(a + b for a, b in zip(interval["kl_pq"], interval["kl_qp"]))
        if "js" in interval and "js_distance" not in interval:
            interval["js_distance"] = tuple(_sqrt(v) for v in interval["js"])
        for key, error in stderr.items():
            if np.any(np.isnan(error)):
                raise NumericalError(f"the standard error of {key} came out as NaN (an internal error of the estimate)")
        if "symmetric_kl" not in values and "kl_pq" in values and "kl_qp" in values:
            values["symmetric_kl"] = values["kl_pq"] + values["kl_qp"]
            if "kl_pq" in stderr and "kl_qp" in stderr:
                # conservative: the two estimates may be correlated
                stderr["symmetric_kl"] = stderr["kl_pq"] + stderr["kl_qp"]
        if "js" in values and "js_distance" not in values:
            values["js_distance"] = _sqrt(values["js"])
            if "js" in stderr:
                stderr["js_distance"] = _sqrt_stderr(values["js"], stderr["js"])
        for h, kl, ce in (("entropy_p", "kl_pq", "cross_entropy_pq"), ("entropy_q", "kl_qp", "cross_entropy_qp")):
            if ce not in values and h in values and kl in values:
                with np.errstate(invalid="ignore"):
                    cross = values[h] + values[kl]
                if not np.any(np.isnan(cross)):  # -inf + inf: an entropy beyond float range; left out
                    values[ce] = cross
        if isinstance(method, str):
            method = {key: method for key in values}
        else:
            method = dict(method)
            for derived, sources in (
                ("symmetric_kl", ("kl_pq", "kl_qp")),
                ("js_distance", ("js",)),
                ("cross_entropy_pq", ("entropy_p", "kl_pq")),
                ("cross_entropy_qp", ("entropy_q", "kl_qp")),
            ):
                if derived in values and derived not in method:
                    method[derived] = _combine_methods([method.get(s, "exact") for s in sources])
        _check_not_nan(values, method)
        ordered = {k: values[k] for k in VALUE_KEYS if k in values}
        ordered.update({k: v for k, v in values.items() if k not in ordered})
        return cls(values=ordered, method=method, stderr=stderr, interval=interval, **kwargs)

    def in_base(self, base: str | float | None) -> "Comparison":
        """Return a copy with every value (and error) expressed in ``base``.

        ``js_distance`` is the square root of ``js`` in that base, as in
        ``scipy.spatial.distance.jensenshannon(p, q, base)``.
        """
        label, log_base = parse_base(base)
        if self.base != "e":
            raise ValueError("in_base() expects a comparison in nats")
        if log_base == 1.0:
            return self
        values = {k: v / log_base for k, v in self.values.items()}
        stderr = {k: v / log_base for k, v in self.stderr.items()}
        interval = {k: (lo / log_base, hi / log_base) for k, (lo, hi) in self.interval.items()}
        if "js" in values:
            values["js_distance"] = _sqrt(values["js"])
            if "js" in stderr:
                stderr["js_distance"] = _sqrt_stderr(values["js"], stderr["js"])
            if "js" in interval:
                low, high = interval["js"]
                interval["js_distance"] = (math.sqrt(max(low, 0.0)), math.sqrt(max(high, 0.0)))
        info = {k: _in_units(v, log_base) if k in INFO_IN_UNITS else v for k, v in self.info.items()}
        return Comparison(values, dict(self.method), stderr, label, info, list(self.notes), interval, self.bins)


@dataclass
class Bins:
    """The normalised P and Q of a histogram comparison on their common bins.

    >>> Bins(np.array([0.5, 0.5]), np.array([0.25, 0.75]), ["a", "b"]).name(1)
    'b'
    >>> Bins(np.array([0.5, 0.5]), np.array([0.25, 0.75])).name(1)
    '1'
    """

    p: np.ndarray
    q: np.ndarray
    labels: list[str] | None = None

    def name(self, i: int) -> str:
        """Bin ``i``'s label, or its 0-based index as text."""
        return self.labels[i] if self.labels is not None else str(i)


def _bounded(values: dict[str, Value], method: str | Mapping[str, str], summed_rows: int = 1) -> dict[str, Value]:
    """``values`` with KL in ``[0, inf]`` and JS in ``[0, ln 2]`` (``[0, n ln 2]`` for a sum of n rows); NaN is an error."""
    _check_not_nan(values, method)
    for key, value in values.items():
        if key in NON_NEGATIVE_KEYS:
            js_bound = summed_rows * LOG_2
            high = js_bound if key == "js" else (math.sqrt(js_bound) if key == "js_distance" else math.inf)
            values[key] = min(max(float(value), 0.0), high) if np.ndim(value) == 0 else np.clip(value, 0.0, high)
    return values


def _check_not_nan(values: Mapping[str, Value], method: str | Mapping[str, str]) -> None:
    for key, value in values.items():
        if np.any(np.isnan(value)):
            how = method if isinstance(method, str) else method.get(key, "derived")
            raise NumericalError(f"{key} came out as NaN ({how}): an internal error, please report it with the inputs")


LOG_2 = math.log(2.0)


#: ``info`` entries that hold divergences (numbers at any depth), converted by ``in_base``;
#: their other entries (names, counts, flags) are left as they are.
INFO_IN_UNITS = frozenset({"estimators", "per_dimension", "active_threshold"})

#: Keys inside those entries that are not in units (ratios, counts, names).
_UNITLESS = frozenset({"estimates", "direction", "property"})


def _in_units(value: Any, log_base: float) -> Any:
    """``value`` with every number divided by ``log_base`` (dicts and lists walked).

    >>> _in_units({"k1": {"value": 2.0, "estimates": "kl_pq"}, "kl": [2.0, 4.0]}, 2.0)
    {'k1': {'value': 1.0, 'estimates': 'kl_pq'}, 'kl': [1.0, 2.0]}
    """
    if isinstance(value, dict):
        return {k: v if k in _UNITLESS else _in_units(v, log_base) for k, v in value.items()}
    if isinstance(value, list):
        return [_in_units(v, log_base) for v in value]
    if isinstance(value, (bool, str)) or value is None:
        return value
    return value / log_base


def _sqrt(value: Value) -> Value:
    """Square root of a value that rounding may have pushed just below zero."""
    if np.ndim(value) == 0:
        return math.sqrt(max(float(value), 0.0))
    return np.sqrt(np.maximum(value, 0.0))


def _sqrt_stderr(value: Value, stderr: Value) -> Value:
    """Delta-method standard error of sqrt(value) (sqrt(stderr) at zero)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        root = _sqrt(value)
        out = np.where(np.asarray(root) > 0, stderr / (2 * np.asarray(root)), _sqrt(stderr))
    return float(out) if np.ndim(out) == 0 else out


def _combine_methods(methods: list[str]) -> str:
    """The least exact of several methods (an estimate taints a sum)."""
    rank = {"exact": 0, "closed_form": 1, "quadrature": 2}
    return max(methods, key=lambda m: rank.get(m, 3))
