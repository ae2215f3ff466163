"""klcli: KL and Jensen-Shannon divergences between histograms, distributions and data.

The parametric API is loaded on first use, so that ``import klcli`` stays cheap:

>>> from klcli import compare_distributions, parse_spec
>>> c = compare_distributions(parse_spec("normal(0, 1)"), parse_spec("normal(1, 1)"))
>>> c.values["kl_pq"], c.method["kl_pq"]
(0.5, 'closed_form')
"""

from __future__ import annotations

import importlib
from typing import Any

from klcli.errors import EngineUnavailable, ExitCode, InputError, KlcliError, UsageError
from klcli.result import Comparison

__version__ = "0.1.0"

_LAZY = {
    "compare_distributions": "klcli.parametric",
    "parse_spec": "klcli.specs",
    "spec_from_mapping": "klcli.specs",
    "looks_like_spec": "klcli.specs",
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
    *_LAZY,
]
