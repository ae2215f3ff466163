"""Turn results into a rich table for people, or strict JSON / CSV for machines.

Data goes to stdout, messages to stderr. JSON is strict (RFC 8259): an infinite
value is the string ``"inf"`` (``"-inf"``), and a NaN is a bug that is refused
rather than printed.

>>> to_json({"kl": float("inf"), "js": 0.5})
'{"kl": "inf", "js": 0.5}'
"""

from __future__ import annotations

import csv
import io
import json
import math
import sys
from typing import Any, Iterable

import numpy as np

from klcli.result import VALUE_KEYS, Comparison

FORMATS = ("table", "json", "csv")

#: How each value is labelled in the table.
LABELS = {
    "kl_pq": "KL(P‖Q)",
    "kl_qp": "KL(Q‖P)",
    "symmetric_kl": "symmetric KL",
    "js": "JS divergence",
    "js_distance": "JS distance",
    "entropy_p": "H(P)",
    "entropy_q": "H(Q)",
    "cross_entropy_pq": "cross-entropy H(P,Q)",
    "cross_entropy_qp": "cross-entropy H(Q,P)",
}

UNITS = {"e": "nats", "2": "bits", "10": "hartleys"}


def unit_name(base: str) -> str:
    """``nats``, ``bits``, ``hartleys`` or ``log-base-B units``."""
    return UNITS.get(base, f"log-base-{base} units")


# ---------------------------------------------------------------------------
# Plain data


def plain(value: Any) -> Any:
    """Convert numpy scalars/arrays, tuples and infinities into JSON-ready values."""
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    if isinstance(value, np.ndarray):
        return [plain(v) for v in value.tolist()]
    if isinstance(value, (np.bool_, bool)):
        return bool(value)
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        value = float(value)
        if math.isnan(value):
            raise ValueError("internal error: a NaN reached the output")
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        return value
    return value


def to_json(obj: Any) -> str:
    """Strict JSON text of ``obj`` (see :func:`plain`)."""
    return json.dumps(plain(obj), ensure_ascii=False, allow_nan=False)


def comparison_record(c: Comparison, **extra: Any) -> dict:
    """The JSON object SPEC.md describes for one comparison.

    >>> c = Comparison.from_nats({"kl_pq": 0.5, "kl_qp": 0.25, "js": 0.1}, method="exact")
    >>> sorted(comparison_record(c, p="a", q="b"))[:5]
    ['base', 'js', 'js_distance', 'kl_pq', 'kl_qp']
    """
    record: dict[str, Any] = dict(extra)
    record.update(c.values)
    record["base"] = c.base
    record["unit"] = unit_name(c.base)
    record["method"] = dict(c.method)
    record["stderr"] = dict(c.stderr)
    for key, value in c.info.items():
        record.setdefault(key, value)
    if c.notes:
        record["notes"] = list(c.notes)
    return plain(record)


# ---------------------------------------------------------------------------
# CSV


def records_to_csv(records: list[dict], keys: Iterable[str] | None = None) -> str:
    """CSV with one line per record: scalar fields only, errors as ``<key>_stderr``."""
    rows = []
    for record in records:
        row = {k: v for k, v in record.items() if not isinstance(v, (dict, list))}
        for key, err in record.get("stderr", {}).items():
            row[f"{key}_stderr"] = err
        rows.append(row)
    fieldnames = list(keys) if keys else []
    for row in rows:
        fieldnames += [k for k in row if k not in fieldnames]
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=fieldnames, lineterminator="\n", extrasaction="ignore")
    writer.writeheader()
    writer.writerows(rows)
    return buffer.getvalue()


def comparison_rows(c: Comparison) -> list[dict]:
    """One record per batch row for ``--reduction none``, else one record."""
    record = comparison_record(c)
    lists = {k: v for k, v in record.items() if k in VALUE_KEYS and isinstance(v, list)}
    if not lists:
        return [record]
    n = len(next(iter(lists.values())))
    rows = []
    for i in range(n):
        row = {"row": i}
        row.update({k: (v[i] if k in lists else v) for k, v in record.items() if not isinstance(v, dict)})
        row["stderr"] = {k: (v[i] if isinstance(v, list) else v) for k, v in record["stderr"].items()}
        rows.append(row)
    return rows


# ---------------------------------------------------------------------------
# Tables


def format_number(value: Any) -> str:
    """Six significant digits; ``inf`` spelled out."""
    if isinstance(value, str):
        return value
    value = float(value)
    if math.isinf(value):
        return "∞" if value > 0 else "-∞"
    if value == 0:
        return "0"
    return f"{value:.6g}"


def console(stderr: bool = False):
    """A rich console on stdout (or stderr); imported lazily to keep start-up fast."""
    from rich.console import Console

    return Console(file=sys.stderr if stderr else sys.stdout, highlight=False, soft_wrap=False)


def comparison_table(c: Comparison, *, p_name: str, q_name: str):
    """A rich table of every value, its method and standard error, with notes below."""
    from rich.table import Table

    unit = unit_name(c.base)
    batch = any(isinstance(v, np.ndarray) for v in c.values.values())
    title = f"P: {p_name}   Q (reference): {q_name}"
    table = Table(title=title, title_justify="left", caption_justify="left", show_lines=False)
    if batch:
        keys = [k for k in ("kl_pq", "kl_qp", "symmetric_kl", "js", "js_distance") if k in c.values]
        table.add_column("row", justify="right", style="dim")
        for key in keys:
            table.add_column(f"{LABELS[key]}", justify="right")
        n = len(next(v for v in c.values.values() if isinstance(v, np.ndarray)))
        for i in range(n):
            table.add_row(str(i), *(format_number(np.asarray(c.values[k]).ravel()[i]) for k in keys))
    else:
        has_stderr = bool(c.stderr)
        table.add_column("quantity")
        table.add_column(f"value ({unit})", justify="right", style="bold")
        if has_stderr:
            table.add_column("± std. error", justify="right")
        table.add_column("method", style="dim")
        for key, value in c.values.items():
            if key not in LABELS:
                continue
            label = LABELS[key] + (" (√ of JS)" if key == "js_distance" else "")
            cells = [label, format_number(value)]
            if has_stderr:
                cells.append(format_number(c.stderr[key]) if key in c.stderr else "")
            cells.append(c.method.get(key, "").replace("_", " "))
            table.add_row(*cells)
    notes = list(c.notes)
    if batch:
        notes.insert(0, f"values in {unit}, one row per input row (--reduction none)")
    if notes:
        table.caption = "\n".join(f"• {note}" for note in notes)
    return table


def print_comparison(c: Comparison, fmt: str, *, p_name: str, q_name: str) -> None:
    """Print one comparison in ``fmt`` (table, json or csv) to stdout."""
    if fmt == "json":
        sys.stdout.write(to_json(comparison_record(c, p=p_name, q=q_name)) + "\n")
    elif fmt == "csv":
        sys.stdout.write(records_to_csv(comparison_rows(c), keys=["row"] if _is_batch(c) else None))
    else:
        console().print(comparison_table(c, p_name=p_name, q_name=q_name))


def _is_batch(c: Comparison) -> bool:
    return any(isinstance(v, np.ndarray) for v in c.values.values())
