"""klcli: KL and Jensen-Shannon divergences between histograms, distributions and data.

The public API is :func:`compare`, :func:`batch`, :func:`pairwise` and
:func:`drift` (see :mod:`klcli.api`): they run the command's code on lists,
arrays, pandas and pyarrow objects, torch tensors, specs or paths.

>>> import klcli
>>> r = klcli.compare([3, 3, 4], [2, 2, 6])
>>> round(r.kl_pq, 6), r.to_dict()["js"] == r.js
(0.081093, True)

The parametric API is loaded on first use, so that ``import klcli`` stays cheap:

>>> from klcli import compare_distributions, parse_spec
>>> c = compare_distributions(parse_spec("normal(0, 1)"), parse_spec("normal(1, 1)"))
>>> c.values["kl_pq"], c.method["kl_pq"]
(0.5, 'closed_form')
"""

from __future__ import annotations

import importlib
import sys
import types
from typing import Any

__version__ = "0.1.0"

from klcli.api import BatchResult, DriftResult, PairwiseResult, Result, batch, compare, drift, pairwise  # noqa: E402
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

#: Names that were public and are no longer, with what to use instead.
_REMOVED = {
    "compare_probabilities": "it neither normalised nor validated its inputs; use klcli.compare(p, q)",
    "divergences": "it neither normalised nor validated its inputs; use klcli.compare(p, q)",
}

#: The API functions named like the modules klcli.compare, klcli.batch and klcli.drift.
_FUNCTIONS = {"compare": compare, "batch": batch, "drift": drift}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    if name in _REMOVED:
        raise AttributeError(f"klcli.{name} is no longer public: {_REMOVED[name]}")
    raise AttributeError(f"module 'klcli' has no attribute {name!r}")


class _Package(types.ModuleType):
    """Keeps ``klcli.compare``, ``klcli.batch`` and ``klcli.drift`` the API functions.

    Importing the submodule of the same name (``import klcli.compare``) would
    otherwise rebind the package attribute to the module; the modules stay
    importable by their full names (``from klcli.compare import CompareOptions``).
    """

    def __setattr__(self, name: str, value: Any) -> None:
        if name in _FUNCTIONS and isinstance(value, types.ModuleType):
            value = _FUNCTIONS[name]
        super().__setattr__(name, value)


sys.modules[__name__].__class__ = _Package
for _name, _function in _FUNCTIONS.items():
    setattr(sys.modules[__name__], _name, _function)

__all__ = [
    "BatchResult",
    "Comparison",
    "DriftResult",
    "EngineUnavailable",
    "ExitCode",
    "InputError",
    "KlcliError",
    "PairwiseResult",
    "Result",
    "UsageError",
    "__version__",
    "batch",
    "compare",
    "drift",
    "pairwise",
    *_LAZY,
]
