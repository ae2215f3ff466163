"""``klcli compare --stream``: one JSON line in, one JSON line out, for online monitoring.

Each input line holds a pair, ``{"p": [...], "q": [...]}`` or ``[P, Q]`` (lists of numbers,
rows of a batch, or ``{label: weight}`` objects), read as ``--from`` says. Other keys of an
object (a step, a timestamp) are copied to the output line, so that
``tail -f log.jsonl | klcli compare --stream --from logits`` follows KL(π_old‖π_new) during training.
Lines are read one at a time and each answer is flushed at once: memory stays that of one line.

A line that cannot be compared gives ``{"line": N, "error": "..."}`` and the stream goes on;
at the end, one error line on stderr counts them and the exit code is 2 (blank lines are skipped).

>>> import io
>>> out = io.StringIO()
>>> compare_stream(io.StringIO('{"step": 1, "p": [1, 3], "q": [1, 1]}\\n[[0.5, 0.5], [0.5, 0.5]]\\n'), out, CompareOptions())
0
>>> [(line.get("step"), round(line["kl_pq"], 6)) for line in map(json.loads, out.getvalue().splitlines())]
[(1, 0.130812), (None, 0.0)]
"""

from __future__ import annotations

import json
from typing import IO, Any

from klcli.api import source_of
from klcli.compare import CompareOptions, compare_read
from klcli.errors import ExitCode, InputError, KlcliError
from klcli.render import comparison_record, to_json


def compare_stream(lines: IO[str], out: IO[str], options: CompareOptions) -> int:
    """Compare the pair on every line of ``lines``, writing one JSON line each to ``out``; return the exit code."""
    options.validate()
    if options.from_ == "samples":
        raise InputError("--stream compares distributions; --from samples reads files")
    failed: list[str] = []
    for number, line in enumerate(iter(lines.readline, ""), start=1):
        if not line.strip():
            continue
        try:
            extra, p, q = _pair(line, number)
            comparison = compare_read(source_of(p, "P", {}), source_of(q, "Q", {}), options)
            record = comparison_record(comparison, **extra)
        except KlcliError as error:
            record = {"line": number, "error": f"line {number}: {error}"}
            failed.append(record["error"])
        out.write(to_json(record) + "\n")
        out.flush()
    if failed:
        raise InputError(f"{len(failed)} line(s) could not be compared (first: {failed[0]})")
    return int(ExitCode.OK)


def _pair(line: str, number: int) -> tuple[dict[str, Any], Any, Any]:
    """The extra keys, P and Q of one input line."""
    try:
        obj = json.loads(line)
    except json.JSONDecodeError as error:
        raise InputError(f"not JSON ({error.msg} at column {error.colno})") from None
    if isinstance(obj, list) and len(obj) == 2:
        return {}, obj[0], obj[1]
    if isinstance(obj, dict) and "p" in obj and "q" in obj:
        extra = {k: v for k, v in obj.items() if k not in ("p", "q")}
        return extra, obj["p"], obj["q"]
    raise InputError('expected {"p": [...], "q": [...]} or [P, Q]')
