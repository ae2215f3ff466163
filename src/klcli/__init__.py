"""klcli: KL and Jensen-Shannon divergences between histograms, distributions and data.

>>> from klcli import compare_probabilities
>>> round(compare_probabilities([0.2, 0.8], [0.5, 0.5]).values["js"], 12)
0.050671836986

The parametric API is loaded on first use, so that ``import klcli`` stays cheap:

>>> from klcli import compare_distributions, parse_spec
>>> c = compare_distributions(parse_spec("normal(0, 1)"), parse_spec("normal(1, 1)"))
>>> c.values["kl_pq"], c.method["kl_pq"]
(0.5, 'closed_form')
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

from klcli.discrete import compare_probabilities, divergences  # noqa: E402
from klcli.errors import EngineUnavailable, ExitCode, InputError, KlcliError, UsageError  # noqa: E402
from klcli.result import Comparison  # noqa: E402

_LAZY = {
    "compare_distributions": "klcli.parametric",
    "parse_spec": "klcli.specs",
    "spec_from_mapping": "klcli.specs",
    "looks_like_spec": "klcli.specs",
    "read_samples": "klcli.samples",
    "compare_samples": "klcli.samples",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'klcli' has no attribute {name!r}")


__all__ = [
    "Comparison",
    "EngineUnavailable",
    "ExitCode",
    "InputError",
    "KlcliError",
    "UsageError",
    "__version__",
    "compare_probabilities",
    "divergences",
    *_LAZY,
]
