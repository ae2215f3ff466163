"""Closed forms at their edges against mpmath at 50 digits (tests/make_closed_form_references.py).

Nearly equal parameters (relative differences 1e-3 ... 1e-12) and scale ratios 1e-300 ... 1e300
for every same-family pair: relative error at most 1e-12 (a value beyond float range must be inf).
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from klcli.closed_form import kl_divergence
from klcli.families import FAMILIES

CASES = json.loads((Path(__file__).parent / "data" / "closed_form_references.json").read_text())["cases"]
#: known limits: beta with one concentration 1e-3 and the other 5e3, moved by 1e-3..1e-12, keeps 1e-8
#: (its R(b, δ) - R(a + b, δ) cancels when a ≪ b)
TOLERANCE = {"beta": 1e-8}
NOT_YET_AT_THE_EDGES = {"continuousbernoulli", "inversegamma", "lowrankmvn", "multinomial", "onehotcategorical", "wishart"}


@pytest.mark.parametrize("family", sorted({c["family"] for c in CASES}))
def test_closed_forms_match_mpmath(family):
    worst = 0.0
    for case in (c for c in CASES if c["family"] == family):
        cls = FAMILIES[family]
        value = kl_divergence(cls(**case["p"]), cls(**case["q"]))
        reference = float(case["kl"])
        if math.isinf(reference):
            assert value == math.inf, case
            continue
        error = abs(value - reference) / reference
        worst = max(worst, error)
        assert error <= TOLERANCE.get(family, 1e-12), (case, value)
    assert worst <= TOLERANCE.get(family, 1e-12)


def test_reference_file_covers_every_same_family_pair():
    from klcli.closed_form import pairs

    same = {p for p, q in pairs() if p == q} - {"uniform"}  # uniform: log of a width ratio, exact
    # Families added with the torch-parity work are checked against mpmath and torch at ordinary
    # parameters (tests/test_new_families.py, tests/test_torch_registry.py), not yet at these edges.
    same -= NOT_YET_AT_THE_EDGES
    assert same <= {c["family"] for c in CASES}
