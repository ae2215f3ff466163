"""The :class:`Distribution` base class, parameter constraints and supports.

A distribution is built from the arguments of a spec (``normal(0, 1)``,
``normal(loc=[0, 1], scale=2)``): positional arguments in
``torch.distributions`` order, keyword arguments with torch's names. Every
parameter is validated first and stored as a float64 array; a bad one raises
:class:`~klcli.errors.InputError` in torch's words, e.g. ``Expected parameter
scale of normal(...) to be positive, but found -1``.

Univariate families accept list parameters: ``normal(loc=[0, 1], scale=2)`` is
the product of independent normals ``N(0, 2) x N(1, 2)`` (torch's
``Independent(Normal(...), 1)``), with ``event_shape == (2,)``.

The batch rule, the same for every family: the leading axes of the parameters
are a batch (``batch_shape``), the last axis is the event (the categories of a
categorical, the vector of an mvn or dirichlet, the independent dimensions of a
product). ``normal(loc=[[0, 1], [2, 3]])`` is a batch of two products of two
normals; :meth:`Distribution.element` takes one member out of a batch and
:meth:`Distribution.expand` broadcasts a distribution to a larger batch.

Tails
-----
Every scalar continuous family declares how its log density falls at each end
of its support, in :meth:`Univariate.tails` (a pair ``(left, right)`` of
:class:`Tail`). :mod:`klcli.tails` reads these declarations to decide, before
any engine runs, whether KL(P‖Q) is infinite because P's tail outweighs what
Q's log density can integrate. A new family adds one method, e.g. for a
density ``~ x^-(alpha+1)`` on ``[scale, inf)``::

    def tails(self):
        return Tail.bounded(), Tail.polynomial(float(self.alpha))

The kinds, from the lightest to the heaviest tail (``-log p(x)`` as ``|x| -> inf``):

=====================  ==================================  =========================
kind                   ``-log p(x)`` grows like            examples
=====================  ==================================  =========================
``bounded``            (the support ends at a finite x)    beta, uniform, pareto's left
``doubly_exponential`` ``exp(rate·|x|)``                   gumbel's left tail
``stretched``          ``rate·|x|^index`` (index 2:        normal (index 2), laplace,
                       Gaussian; 1: exponential)           gamma (index 1), weibull
``log_quadratic``      ``rate·log(|x|)^2``                 lognormal's right tail
``polynomial``         ``(index + 1)·log|x|``              cauchy (index 1), studentt
                                                           (index df), pareto (alpha)
=====================  ==================================  =========================

Only the leading behaviour counts: polynomial factors in front of an
exponential tail (gamma's ``x^(a-1)``) never change the verdict. A family
without a declaration (multivariate ones) leaves the question to the Monte
Carlo tail diagnostic.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from klcli.errors import InputError
from klcli.families._ops import NUMPY


@dataclass(frozen=True)
class Constraint:
    """A condition on every element of a parameter, described in words."""

    description: str
    holds: Callable[[np.ndarray], np.ndarray]


REAL = Constraint("a finite real number", np.isfinite)
POSITIVE = Constraint("positive", lambda a: np.isfinite(a) & (a > 0))
NONNEGATIVE = Constraint("non-negative", lambda a: np.isfinite(a) & (a >= 0))
UNIT_INTERVAL = Constraint("in [0, 1]", lambda a: (a >= 0) & (a <= 1))
HALF_OPEN_UNIT_INTERVAL = Constraint("in [0, 1)", lambda a: (a >= 0) & (a < 1))
PROBABILITY_NOT_ZERO = Constraint("in (0, 1]", lambda a: (a > 0) & (a <= 1))
NONNEGATIVE_INTEGER = Constraint("a non-negative integer", lambda a: np.isfinite(a) & (a >= 0) & (a == np.round(a)))


@dataclass(frozen=True)
class Support:
    """Where a distribution puts its mass: ``[low, high]`` per coordinate.

    ``discrete`` supports are the integers in ``[low, high]``. ``kind`` names
    the support for people (``real``, ``positive``, ``simplex``...). ``low``
    and ``high`` are scalars or arrays of the event shape.

    >>> Support(0.0, math.inf, "[0, inf)").contains(Support(1.0, 2.0, "[1, 2]"))
    True
    """

    low: Any
    high: Any
    kind: str
    discrete: bool = False

    def contains(self, other: "Support") -> bool:
        """Whether ``other`` lies inside this support (interval hulls)."""
        return bool(np.all(np.asarray(self.low) <= other.low) and np.all(np.asarray(other.high) <= self.high))


@dataclass(frozen=True)
class Tail:
    """How ``log p(x)`` falls at one end of the support (see the module docstring).

    ``index`` is the polynomial tail index (density ``~ |x|^-(index+1)``) or the
    power of a stretched exponential; ``rate`` the coefficient of the leading term.

    >>> Tail.exponential(2.0)
    Tail(kind='stretched', index=1.0, rate=2.0)
    >>> Tail.polynomial(1.0).heavier_than(Tail.gaussian(0.5))
    True
    """

    kind: str
    index: float = 0.0
    rate: float = 0.0

    #: rank of each kind, from the lightest tail to the heaviest
    ORDER: ClassVar[tuple[str, ...]] = ("bounded", "doubly_exponential", "stretched", "log_quadratic", "polynomial")

    @classmethod
    def bounded(cls) -> "Tail":
        return cls("bounded")

    @classmethod
    def polynomial(cls, index: float) -> "Tail":
        return cls("polynomial", float(index))

    @classmethod
    def log_quadratic(cls, rate: float) -> "Tail":
        return cls("log_quadratic", 2.0, float(rate))

    @classmethod
    def stretched(cls, index: float, rate: float) -> "Tail":
        return cls("stretched", float(index), float(rate))

    @classmethod
    def exponential(cls, rate: float) -> "Tail":
        return cls.stretched(1.0, rate)

    @classmethod
    def gaussian(cls, rate: float) -> "Tail":
        return cls.stretched(2.0, rate)

    @classmethod
    def doubly_exponential(cls, rate: float) -> "Tail":
        return cls("doubly_exponential", 1.0, float(rate))

    def weight(self) -> tuple:
        """A key that orders tails from the lightest to the heaviest."""
        rank = self.ORDER.index(self.kind)
        if self.kind == "polynomial":
            return (rank, -self.index, 0.0)
        if self.kind == "log_quadratic":
            return (rank, 0.0, -self.rate)
        return (rank, -self.index, -self.rate)

    def heavier_than(self, other: "Tail") -> bool:
        return self.weight() > other.weight()

    def describe(self) -> str:
        """The tail in words, e.g. ``polynomial with index 1``."""
        if self.kind == "polynomial":
            return f"polynomial with index {self.index:g}"
        if self.kind == "stretched":
            name = {1.0: "exponential", 2.0: "Gaussian"}.get(self.index, f"stretched exponential of power {self.index:g}")
            return f"{name} with rate {self.rate:g}"
        if self.kind == "doubly_exponential":
            return f"doubly exponential with rate {self.rate:g}"
        if self.kind == "log_quadratic":
            return "log-normal"
        return "bounded"


def format_number(value: float) -> str:
    """Shortest text that reads back as ``value`` (``1`` rather than ``1.0``).

    >>> format_number(1.0), format_number(0.1), format_number(-math.inf)
    ('1', '0.1', '-inf')
    """
    value = float(value)
    if value.is_integer() and abs(value) < 1e16:
        return str(int(value))
    return repr(value)


def format_value(value: Any) -> str:
    """Spec text of a parameter: a number, or a (nested) list of numbers."""
    if isinstance(value, Distribution):
        return value.spec()
    if isinstance(value, (list, tuple)) or (isinstance(value, np.ndarray) and value.ndim > 0):
        return "[" + ", ".join(format_value(v) for v in value) + "]"
    return format_number(value)


class Distribution:
    """A parametric distribution with validated float64 parameters.

    Subclasses declare ``name``, ``arguments`` (torch's positional order),
    ``constraints`` (per parameter), ``defaults`` and ``one_of`` (groups of
    alternative parameters, e.g. ``probs``/``logits``), and implement
    ``_setup``, ``_log_prob``, ``sample`` and ``support``.
    """

    name: ClassVar[str]
    arguments: ClassVar[tuple[str, ...]]
    constraints: ClassVar[dict[str, Constraint]] = {}
    defaults: ClassVar[dict[str, Any]] = {}
    one_of: ClassVar[tuple[str, ...]] = ()
    is_discrete: bool = False  # a class attribute, except on mixtures (their components decide)
    #: the support in words, for people (``real``, ``[0, inf)``, ``simplex``...)
    support_text: ClassVar[str]
    #: number of array dimensions each parameter has for one event (0: scalar)
    parameter_ndim: ClassVar[dict[str, int]] = {}

    event_shape: tuple[int, ...]
    #: leading parameter axes: a batch of independent distributions (``()``: one distribution)
    batch_shape: tuple[int, ...] = ()

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        given = self._bind(args, kwargs)
        self.given = given
        params = {}
        for key, value in given.items():
            params[key] = self._validated(key, value)
        self._setup(params)
        self._on_backend: dict[str, dict[str, Any]] = {}

    # -- construction -------------------------------------------------------

    def _bind(self, args: tuple, kwargs: dict) -> dict[str, Any]:
        """Map positional and keyword arguments to parameter names."""
        if len(args) > len(self.arguments):
            raise InputError(
                f"{self.name}() takes at most {len(self.arguments)} positional arguments ({', '.join(self.arguments)}), but {len(args)} were given"
            )
        bound = dict(zip(self.arguments, args))
        for key, value in kwargs.items():
            if key not in self.arguments:
                raise InputError(f"{self.name}() has no parameter {key!r}; its parameters are {', '.join(self.arguments)}")
            if key in bound:
                raise InputError(f"{self.name}() got parameter {key!r} twice")
            bound[key] = value
        alternatives = [key for key in self.one_of if key in bound]
        if self.one_of and len(alternatives) != 1:
            found = " and ".join(alternatives) if alternatives else "neither"
            raise InputError(f"{self.name}() needs exactly one of {', '.join(self.one_of)}, but got {found}")
        for key in self.arguments:
            if key not in bound and key not in self.one_of:
                if key not in self.defaults:
                    raise InputError(f"{self.name}() is missing parameter {key!r}")
                bound[key] = self.defaults[key]
        return {key: bound[key] for key in self.arguments if key in bound}

    def _validated(self, key: str, value: Any) -> np.ndarray:
        """``value`` as a float64 array, checked against the key's constraint."""
        ndim = self.parameter_ndim.get(key, 0)
        try:
            array = np.asarray(value, dtype=np.float64)
        except (TypeError, ValueError):
            raise InputError(
                f"Expected parameter {key} of {self.name}(...) to be a number or a list of numbers, "
                f"but found {format_value(value) if not isinstance(value, str) else value!r}"
            ) from None
        if array.ndim < ndim or array.size == 0:
            allowed = {0: "a number or a list of numbers", 1: "a list of numbers", 2: "a square matrix"}[ndim]
            raise InputError(f"Expected parameter {key} of {self.name}(...) to be {allowed}, but found {format_value(value)}")
        constraint = self.constraints.get(key, REAL)
        ok = constraint.holds(array)
        if not np.all(ok):
            bad_index = np.argwhere(~np.asarray(ok))[0] if array.ndim else None
            bad = array[tuple(bad_index)] if bad_index is not None else array
            where = f" (at index {', '.join(map(str, bad_index))})" if bad_index is not None else ""
            raise InputError(
                f"Expected parameter {key} of {self.name}(...) to be {constraint.description}, but found {format_number(float(bad))}{where}"
            )
        return array

    def _setup(self, params: dict[str, np.ndarray]) -> None:
        raise NotImplementedError

    # -- batches --------------------------------------------------------------

    @property
    def shape(self) -> tuple[int, ...]:
        """``batch_shape + event_shape``: the shape of elementwise parameter arrays."""
        return tuple(self.batch_shape) + tuple(self.event_shape)

    def element(self, index: tuple[int, ...]) -> "Distribution":
        """Member ``index`` of a batch, as a distribution without batch axes.

        >>> from klcli.families import Categorical
        >>> Categorical([[1, 3], [1, 1]]).element((1,)).probs.tolist()
        [0.5, 0.5]
        """
        if not self.batch_shape:
            return self
        return type(self)(**{key: value[index] for key, value in self._batched_parameters().items()})

    def expand(self, batch_shape: tuple[int, ...]) -> "Distribution":
        """This distribution broadcast to ``batch_shape`` (itself when it already has it)."""
        if tuple(batch_shape) == tuple(self.batch_shape):
            return self
        return type(self)(
            **{
                key: np.broadcast_to(value, tuple(batch_shape) + value.shape[len(self.batch_shape) :])
                for key, value in self._batched_parameters().items()
            }
        )

    def _batched_parameters(self) -> dict[str, np.ndarray]:
        """The given parameters, each with the full ``batch_shape`` in front."""
        raise InputError(f"{self.name}(...) does not take a batch of parameters")

    def entropy_values(self) -> np.ndarray | None:
        """Entropy of every member of the batch (shape ``batch_shape``), or ``None``."""
        values = [self.element(index).entropy() for index in np.ndindex(*self.batch_shape)]
        if any(value is None for value in values):
            return None
        return np.asarray(values, dtype=np.float64).reshape(self.batch_shape)

    # -- interface ----------------------------------------------------------

    @property
    def dim(self) -> int:
        """Number of coordinates of one draw (1 for a scalar distribution)."""
        return int(np.prod(self.event_shape)) if self.event_shape else 1

    @property
    def support(self) -> Support:
        raise NotImplementedError

    def log_prob(self, x: Any, ops: Any = NUMPY) -> Any:
        """Log density (or log mass) of each draw in ``x`` (vectorised).

        ``x`` has shape ``(n,) + event_shape``; the result has shape ``(n,)``.
        ``ops`` selects numpy (default) or torch (:class:`~klcli.families._ops.TorchOps`).
        """
        return self._log_prob(ops.asarray(x), ops, self._parameters_for(ops))

    def _parameters_for(self, ops: Any) -> dict[str, Any]:
        """The arrays ``_log_prob`` reads, converted once per backend."""
        if ops.name not in self._on_backend:
            self._on_backend[ops.name] = {k: ops.asarray(v) for k, v in self._log_prob_arrays().items()}
        return self._on_backend[ops.name]

    def _log_prob_arrays(self) -> dict[str, np.ndarray]:
        raise NotImplementedError

    def _log_prob(self, x: Any, ops: Any, arrays: dict[str, Any]) -> Any:
        raise NotImplementedError

    def sample(self, n: int, rng: np.random.Generator) -> np.ndarray:
        """``n`` independent draws, shape ``(n,) + event_shape``."""
        raise NotImplementedError

    def entropy(self) -> float | None:
        """Differential (or Shannon) entropy in nats, or ``None`` without a closed form."""
        return None

    def spec(self) -> str:
        """Spec text that parses back to this distribution."""
        return f"{self.name}(" + ", ".join(f"{k}={format_value(v)}" for k, v in self.given.items()) + ")"

    def __repr__(self) -> str:
        return self.spec()


class Univariate(Distribution):
    """A family of scalar distributions; list parameters give independent products.

    Subclasses implement the elementwise ``_log_density(x, ops, arrays)``,
    ``_draw(rng, size)``, ``_interval()`` and optionally ``_entropy()``
    (elementwise arrays) and ``_landmarks()`` (points where the density has
    its features, used to split quadrature ranges).
    """

    def _setup(self, params: dict[str, np.ndarray]) -> None:
        try:
            shape = np.broadcast_shapes(*(a.shape for a in params.values()))
        except ValueError:
            if all(a.ndim <= 1 for a in params.values()):
                sizes = ", ".join(f"{k} ({a.size} values)" for k, a in params.items() if a.ndim)
                raise InputError(f"parameters {sizes} of {self.name}(...) have different lengths") from None
            shapes = ", ".join(f"{k} {_shape_text(a.shape)}" for k, a in params.items())
            raise InputError(f"parameter shapes of {self.name}(...) do not broadcast: {shapes}") from None
        self.event_shape = shape[-1:]
        self.batch_shape = shape[:-1]
        for key, value in params.items():
            setattr(self, key, np.broadcast_to(value, shape).copy())
        self._derive()

    def _batched_parameters(self) -> dict[str, np.ndarray]:
        return {key: getattr(self, key) for key in self.given}

    def element(self, index: tuple[int, ...]) -> "Distribution":
        """Member ``index`` of a batch; a product of one dimension is that scalar distribution."""
        if not self.batch_shape:
            return self
        if self.event_shape == (1,):
            index = tuple(index) + (0,)
        return type(self)(**{key: value[index] for key, value in self._batched_parameters().items()})

    def broadcast_to(self, shape: tuple[int, ...]) -> "Univariate":
        """The same family with every parameter broadcast to ``shape`` (batch and event axes)."""
        if tuple(shape) == self.shape:
            return self
        return type(self)(**{key: np.broadcast_to(getattr(self, key), shape) for key in self.given})

    def _derive(self) -> None:
        """Compute derived parameters and normalising constants (numpy)."""

    def marginals(self) -> list["Univariate"]:
        """The independent scalar components (``[self]`` for a scalar)."""
        if not self.event_shape:
            return [self]
        names = [k for k in self.given]
        return [type(self)(**{k: float(getattr(self, k)[i]) for k in names}) for i in range(self.event_shape[0])]

    def _log_prob(self, x: Any, ops: Any, arrays: dict[str, Any]) -> Any:
        density = self._log_density(x, ops, arrays)
        return ops.sum(density, axis=-1) if self.event_shape else density

    def sample(self, n: int, rng: np.random.Generator) -> np.ndarray:
        return np.asarray(self._draw(rng, (int(n),) + self.event_shape), dtype=np.float64)

    @property
    def support(self) -> Support:
        low, high = self._interval()
        shape = self.event_shape
        return Support(np.broadcast_to(low, shape), np.broadcast_to(high, shape), self.support_text, self.is_discrete)

    def entropy(self) -> float | None:
        values = self._entropy()
        return None if values is None else float(np.sum(values))

    def entropy_values(self) -> np.ndarray | None:
        """Entropy of every member of the batch (shape ``batch_shape``), or ``None``."""
        values = self._entropy()
        if values is None:
            return None
        values = np.broadcast_to(values, self.shape)
        return np.sum(values, axis=-1) if self.event_shape else values

    def _entropy(self) -> np.ndarray | None:
        return None

    def landmarks(self) -> np.ndarray:
        """Points (scalar distributions) around which the density changes."""
        return np.asarray(self._landmarks(), dtype=np.float64).ravel()

    def _landmarks(self) -> np.ndarray:
        raise NotImplementedError

    def tails(self) -> tuple[Tail, Tail] | None:
        """``(left, right)``: how the log density of a scalar distribution falls at each end.

        ``None`` (the default) means undeclared: :mod:`klcli.tails` then cannot decide.
        """
        return None

    def _interval(self) -> tuple[Any, Any]:
        """Lowest and highest values of the support (elementwise)."""
        raise NotImplementedError

    def _draw(self, rng: np.random.Generator, size: tuple[int, ...]) -> np.ndarray:
        raise NotImplementedError

    def _log_density(self, x: Any, ops: Any, arrays: dict[str, Any]) -> Any:
        raise NotImplementedError


def _shape_text(shape: tuple[int, ...]) -> str:
    """``(2, 3)`` as people write it: ``2x3`` (``scalar`` for ``()``)."""
    return "x".join(map(str, shape)) if shape else "scalar"


def spread_points(center: Any, spread: Any) -> np.ndarray:
    """``center + spread * k`` for k in a fixed set spanning ~40 spreads."""
    return np.asarray(center) + np.asarray(spread) * np.array([-40.0, -10, -4, -1, 0, 1, 4, 10, 40])


INF = math.inf
