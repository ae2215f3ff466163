"""klcli: KL and Jensen-Shannon divergences between histograms, distributions and data.

The public API re-exported here is small; see the README for the command line.

>>> from klcli import compare_probabilities
>>> round(compare_probabilities([0.2, 0.8], [0.5, 0.5]).values["js"], 12)
0.050671836986
"""

__version__ = "0.1.0"

from klcli.discrete import compare_probabilities, divergences  # noqa: E402
from klcli.errors import ExitCode, InputError, KlcliError, UsageError  # noqa: E402
from klcli.result import Comparison  # noqa: E402

__all__ = [
    "Comparison",
    "ExitCode",
    "InputError",
    "KlcliError",
    "UsageError",
    "__version__",
    "compare_probabilities",
    "divergences",
]
