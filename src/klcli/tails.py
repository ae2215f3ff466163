"""The one place that decides whether KL(P‖Q) is infinite, before any engine runs.

``KL(P‖Q) = E_P[log p(X)] − E_P[log q(X)]``. For every family klcli knows, the
first term (minus P's entropy) is finite, so KL is infinite exactly when P puts
mass where Q has none (supports), or when ``E_P[−log q(X)]`` diverges in a
tail. Each scalar family declares its tails (:class:`~klcli.families.base.Tail`);
``−log q(x)`` grows in Q's tail like

==========================  ===============================  ===============================
Q's tail                    ``−log q(x)`` grows like         ``E_P`` of it is infinite when
==========================  ===============================  ===============================
polynomial, log-normal      ``log|x|``, ``log²|x|``          never (P's tails all have them)
stretched, power β          ``|x|^β``                        P's tail is polynomial with
                                                             index ≤ β (``E|X|^β = inf``)
doubly exponential, rate t  ``exp(t·|x|)``                   P's tail is polynomial, log-normal,
                                                             stretched with power < 1, or
                                                             exponential with rate ≤ t
==========================  ===============================  ===============================

(An exponential tail of P with rate exactly ``t`` diverges because its polynomial
prefactor ``|x|^γ`` has ``γ > −1`` for every klcli family.) A mixture's tail at an
end is the heaviest tail of its components that reach that end; products of
independent scalars (``normal(loc=[0, 1])``) are infinite when one factor is.
Multivariate families declare no tails: :func:`kl_verdict` returns ``None`` and
the Monte Carlo engine's tail diagnostic (:mod:`klcli.engines.psis`) speaks instead.

>>> from klcli.families import Cauchy, Laplace, Normal, StudentT
>>> kl_verdict(Cauchy(0, 1), Laplace(0, 1)).infinite
True
>>> kl_verdict(StudentT(3), Normal(0, 1)).infinite
False
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from klcli.families import Distribution, Mixture, Univariate
from klcli.families.base import Tail

SIDES = ("left", "right")


@dataclass(frozen=True)
class Verdict:
    """Whether KL(P‖Q) is infinite, and why (for people)."""

    infinite: bool
    reason: str


def kl_verdict(p: Distribution, q: Distribution) -> Verdict | None:
    """Decide from supports and declared tails whether KL(P‖Q) is infinite.

    Returns ``None`` when the families do not allow a decision (discrete or
    multivariate families, mixtures of such). Discrete pairs are left to the
    exact engines (closed forms and summation), which see every atom.
    """
    if p.is_discrete or q.is_discrete:
        return None
    if not q.support.contains(p.support):
        return Verdict(True, f"{p.spec()} has mass outside the support of {q.spec()}")
    factors = _scalar_factors(p, q)
    if factors is None:
        return None
    for a, b in factors:
        for side in (0, 1):
            tail_a, tail_b = tail_at(a, side), tail_at(b, side)
            if tail_a is None or tail_b is None:
                return None
            if not expectation_finite(tail_a, tail_b):
                return Verdict(
                    True,
                    f"the {SIDES[side]} tail of {a.spec()} is {tail_a.describe()}, heavier than the log density of "
                    f"{b.spec()} can integrate (its tail is {tail_b.describe()}): E_P[{_growth(tail_b)}] is infinite",
                )
    return Verdict(False, "the tails of P are integrable against log Q")


def expectation_finite(tail_p: Tail, tail_q: Tail) -> bool:
    """Whether ``E_P[−log q(X)]`` is finite in one tail (see the module table).

    >>> expectation_finite(Tail.polynomial(2.0), Tail.gaussian(0.5))
    False
    >>> expectation_finite(Tail.exponential(2.0), Tail.doubly_exponential(1.0))
    True
    """
    if tail_p.kind == "bounded":
        return True
    if tail_q.kind == "bounded":
        return False  # P reaches infinity where Q stops: outside the support
    if tail_q.kind in ("polynomial", "log_quadratic"):
        return True
    if tail_q.kind == "stretched":
        return tail_p.kind != "polynomial" or tail_p.index > tail_q.index
    # doubly exponential Q: E_P[exp(t |X|)] must be finite
    if tail_p.kind == "doubly_exponential":
        return True
    if tail_p.kind == "stretched":
        return tail_p.index > 1 or (tail_p.index == 1 and tail_p.rate > tail_q.rate)
    return False


def ratio_square_integrable(p: Distribution, q: Distribution) -> bool:
    """Whether ``E_P[(q/p)^2] = ∫ q²/p`` is surely finite: the condition for ``q/p`` as a control variate.

    Decided from the declared tails when both supports are the whole line (``−log q²/p`` must
    grow in both tails: Q's tail lighter than P's kind, or of the same kind with twice Q's rate
    above P's, or ``2 index_q > index_p`` for polynomial tails); ``False`` whenever undecided.

    >>> from klcli.families import Normal
    >>> ratio_square_integrable(Normal(1, 2), Normal(0, 1)), ratio_square_integrable(Normal(0, 1), Normal(1, 2))
    (True, False)
    """
    if p.is_discrete or q.is_discrete:
        return False
    factors = _scalar_factors(p, q)
    if factors is None:
        return False
    for a, b in factors:
        for side in (0, 1):
            tail_a, tail_b = tail_at(a, side), tail_at(b, side)
            if tail_a is None or tail_b is None or "bounded" in (tail_a.kind, tail_b.kind):
                return False
            if not _square_ratio_decays(tail_a, tail_b):
                return False
    return True


def _square_ratio_decays(tail_p: Tail, tail_q: Tail) -> bool:
    """Whether ``q²/p`` is integrable in one unbounded tail."""
    rank_p, rank_q = Tail.ORDER.index(tail_p.kind), Tail.ORDER.index(tail_q.kind)
    if rank_q != rank_p:
        return rank_q < rank_p  # Q's tail of a lighter kind
    if tail_p.kind == "polynomial":
        return 2 * tail_q.index > tail_p.index
    if tail_p.kind == "stretched" and tail_q.index != tail_p.index:
        return tail_q.index > tail_p.index
    if tail_p.kind == "doubly_exponential":
        return tail_q.rate >= tail_p.rate
    return 2 * tail_q.rate > tail_p.rate


def tail_at(distribution: Distribution, side: int) -> Tail | None:
    """The declared tail of a scalar distribution (or scalar mixture) at ``side`` (0 left, 1 right)."""
    if isinstance(distribution, Mixture):
        tails = [tail_at(component, side) for component in distribution.components]
        present = [t for t in tails if t is not None]
        if len(present) < len(tails):
            return None
        return max(present, key=Tail.weight)
    if not isinstance(distribution, Univariate) or distribution.event_shape:
        return None
    with np.errstate(over="ignore", divide="ignore", under="ignore"):
        declared = distribution.tails()
    return None if declared is None else declared[side]


def _scalar_factors(p: Distribution, q: Distribution) -> list[tuple[Distribution, Distribution]] | None:
    """Pairs of independent scalar factors of P and Q, or ``None`` if they do not factor alike."""
    if not p.event_shape and not q.event_shape:
        return [(p, q)]
    if isinstance(p, Univariate) and isinstance(q, Univariate) and p.event_shape == q.event_shape:
        return list(zip(p.marginals(), q.marginals()))
    return None


def _growth(tail_q: Tail) -> str:
    """How ``−log q`` grows in a tail, as it appears in the expectation."""
    if tail_q.kind == "stretched":
        return "|X|" if tail_q.index == 1 else f"|X|^{tail_q.index:g}"
    if tail_q.kind == "doubly_exponential":
        return f"exp({tail_q.rate:g}·|X|)"
    return "-log q(X)"
