"""The spec language: ``family(args)`` text (and JSON mappings) to distributions.

Grammar (whitespace allowed between any two tokens)::

    spec     := NAME "(" [argument ("," argument)* [","]] ")"
    argument := NAME "=" value | value
    value    := NUMBER | "[" [value ("," value)* [","]] "]" | spec | "@" PATH [":" KEY]
    NUMBER   := [+-] (digits [. digits] | . digits) [(e|E) [+-] digits] | [+-] inf

``@PATH`` reads an argument from a file (an NPY array, an NPZ member, a CSV or
Parquet column): ``normal(loc=@post.npz:mu, scale=@post.npz:sigma)``. PATH
ends at the first ``,``, ``)`` or ``]``; ``:KEY`` names the member or column.

Positional arguments follow ``torch.distributions`` order, keyword arguments
use torch's names. Nested specs are only meaningful as mixture components.
The parser is a small hand-written recursive descent: nothing is evaluated.

Examples
--------
>>> parse_spec("normal(0, 1)").spec()
'normal(loc=0, scale=1)'
>>> parse_spec("mvn(loc=[0, 0], covariance_matrix=[[1, 0.5], [0.5, 2]])").event_shape
(2,)
>>> parse_spec("mixture([1, 3], [normal(0, 1), normal(4, 1)])").weights.tolist()
[0.25, 0.75]
>>> looks_like_spec("normal(0,1)"), looks_like_spec("data.csv")
(True, False)
"""

from __future__ import annotations

import difflib
import json
import math
import re
from typing import Any, NoReturn

from klcli.errors import InputError
from klcli.families import ALIASES, FAMILIES, Distribution, Mixture
from klcli.text import shorten

_SPEC_SHAPE = re.compile(r"\s*[A-Za-z_][A-Za-z0-9_\-]*\s*\(.*\)\s*", re.DOTALL)
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_\-]*")
_NUMBER = re.compile(r"[+-]?(?:inf(?:inity)?|nan|(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)", re.IGNORECASE)


def looks_like_spec(text: str) -> bool:
    """Whether ``text`` has the shape ``name(...)`` of a distribution spec (cheap check)."""
    return bool(_SPEC_SHAPE.fullmatch(text))


def parse_spec(text: str) -> Distribution:
    """Parse a spec such as ``normal(loc=0, scale=1)`` into a validated distribution.

    Raises
    ------
    InputError
        For a syntax error (naming the character and its column), an unknown
        family (with the known ones and a close match), or a bad parameter.
    """
    parser = _Parser(text)
    try:
        distribution = parser.spec()
    except RecursionError:
        raise InputError(f"bad spec {shorten(text, 80)!r}: nested too deeply") from None
    parser.skip_space()
    if parser.position < len(text):
        parser.fail(f"unexpected {text[parser.position]!r} after the closing parenthesis")
    return distribution


def spec_from_mapping(obj: dict[str, Any]) -> Distribution:
    """Build a distribution from a JSON-style mapping.

    ``{"family": "normal", "loc": 0, "scale": 1}``; mixture components may be
    mappings or spec strings.

    >>> spec_from_mapping({"family": "mixture", "weights": [1, 1],
    ...                    "components": ["normal(0, 1)", {"family": "laplace", "loc": 2}]}).spec()
    'mixture(weights=[1, 1], components=[normal(loc=0, scale=1), laplace(loc=2, scale=1)])'
    """
    if not isinstance(obj, dict):
        raise InputError(f'a distribution must be a JSON object with a "family" key, not {type(obj).__name__}')
    family = obj.get("family")
    if not isinstance(family, str):
        raise InputError('a distribution object needs a "family" key naming the family, e.g. {"family": "normal", "loc": 0, "scale": 1}')
    cls = family_class(family)
    kwargs = {key: value for key, value in obj.items() if key != "family"}
    if cls is Mixture and "components" in kwargs:
        components = kwargs["components"]
        if not isinstance(components, list):
            raise InputError("Expected parameter components of mixture(...) to be a list of distributions")
        kwargs["components"] = [parse_spec(c) if isinstance(c, str) else spec_from_mapping(c) if isinstance(c, dict) else c for c in components]
    for key, value in kwargs.items():
        if key != "components":
            _check_json_numbers(value, key, cls.name)
    return construct(cls, (), kwargs)


def _check_json_numbers(value: Any, key: str, family: str, index: tuple[int, ...] = ()) -> None:
    """Refuse anything but numbers and (nested) lists of numbers in a JSON parameter.

    >>> _check_json_numbers([1, [2, None]], "scale", "lognormal")
    Traceback (most recent call last):
    klcli.errors.InputError: Expected parameter scale of lognormal(...) to be a number or a list of numbers, but found null (at index 1, 1)
    """
    if isinstance(value, list):
        for i, item in enumerate(value):
            _check_json_numbers(item, key, family, (*index, i))
    elif isinstance(value, bool) or not isinstance(value, (int, float)):
        shown = "null" if value is None else json.dumps(value) if isinstance(value, bool) else repr(shorten(str(value), 60))
        where = f" (at index {', '.join(map(str, index))})" if index else ""
        raise InputError(f"Expected parameter {key} of {family}(...) to be a number or a list of numbers, but found {shown}{where}")


def construct(cls: type[Distribution], args: tuple | list, kwargs: dict[str, Any]) -> Distribution:
    """``cls(*args, **kwargs)``, with a missing, extra or repeated argument said in words.

    >>> construct(Mixture, (1, 2, 3), {})
    Traceback (most recent call last):
    klcli.errors.InputError: mixture() takes at most 2 positional arguments (weights, components), but 3 were given; e.g. mixture([1, 3], [normal(0, 1), normal(4, 1)])
    """
    hint = "; e.g. mixture([1, 3], [normal(0, 1), normal(4, 1)])" if cls is Mixture else ""
    try:
        cls.__new__(cls)._bind(tuple(args), dict(kwargs))  # a bare instance: checks the signature (class attributes only) first
        return cls(*args, **kwargs)
    except InputError as error:
        if hint and str(error).startswith("mixture()"):
            raise InputError(f"{error}{hint}") from None
        raise
    except TypeError as error:  # a signature the check above does not know
        raise InputError(f"{cls.name}(...) cannot take these arguments ({error}){hint}") from None


def family_class(name: str) -> type[Distribution]:
    """The class of family ``name`` (case, ``_`` and ``-`` ignored), or an InputError listing the known ones."""
    key = re.sub(r"[_\-]", "", name.lower())
    key = ALIASES.get(key, key)
    if key in FAMILIES:
        return FAMILIES[key]
    close = difflib.get_close_matches(key, [*FAMILIES, *ALIASES], n=1)
    hint = f"; did you mean {ALIASES.get(close[0], close[0])!r}?" if close else ""
    raise InputError(f"unknown distribution family {name!r}{hint} Known families: {', '.join(FAMILIES)}")


def read_array_argument(reference: str):
    """The array named by ``PATH`` or ``PATH:KEY`` (NPY, NPZ member, CSV/Parquet column).

    >>> import numpy as np, tempfile, os
    >>> path = os.path.join(tempfile.mkdtemp(), "mu.npy"); np.save(path, np.zeros((2, 3)))
    >>> read_array_argument(path).shape
    (2, 3)
    """
    import os

    import numpy as np

    from klcli.sources import EXTENSIONS, read_file

    path, key = reference, None
    if not os.path.isfile(path) and ":" in reference:
        path, key = reference.rsplit(":", 1)
    if not os.path.isfile(path):
        raise InputError(f"@{reference}: no such file" + (f" ({path!r})" if key else ""))
    fmt = EXTENSIONS.get(os.path.splitext(path)[1].lower())
    if fmt is None:
        raise InputError(f"@{reference}: an array argument is read from .npy, .npz, .csv, .tsv, .txt, .json or .parquet files")
    column, member = (key, None) if fmt in ("csv", "tsv", "txt", "parquet") else (None, key)
    histogram = read_file(path, fmt=fmt, column=column, key=member)
    if histogram.labels is not None:
        raise InputError(f"@{reference}: expected numbers, got labelled rows")
    return np.asarray(histogram.values, dtype=float)


class _Parser:
    """Recursive-descent parser over ``text`` with a cursor ``position``."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.position = 0

    def fail(self, message: str) -> NoReturn:
        raise InputError(f"bad spec {shorten(self.text, 120)!r}: {message} at column {self.position + 1}")

    def skip_space(self) -> None:
        while self.position < len(self.text) and self.text[self.position].isspace():
            self.position += 1

    def peek(self) -> str:
        self.skip_space()
        return self.text[self.position] if self.position < len(self.text) else ""

    def expect(self, char: str) -> None:
        found = self.peek()
        if found != char:
            self.fail(f"expected {char!r} but found {found!r}" if found else f"expected {char!r} but the spec ended")
        self.position += 1

    def unexpected(self) -> NoReturn:
        found = self.peek()
        self.fail(f"unexpected {found!r}" if found else "unexpected end of spec")

    def name(self) -> str:
        self.skip_space()
        match = _NAME.match(self.text, self.position)
        if not match:
            self.unexpected()
        self.position = match.end()
        return match.group()

    def spec(self) -> Distribution:
        start = self.position
        name = self.name()
        cls = family_class(name)
        self.expect("(")
        args: list[Any] = []
        kwargs: dict[str, Any] = {}
        while self.peek() != ")":
            key = self._keyword()
            value = self.value()
            if key is None:
                if kwargs:
                    self.fail("positional argument after a keyword argument")
                args.append(value)
            elif key in kwargs:
                self.fail(f"parameter {key!r} given twice")
            else:
                kwargs[key] = value
            if self.peek() == ",":
                self.position += 1
            elif self.peek() != ")":
                self.unexpected()
        self.position += 1
        try:
            return construct(cls, args, kwargs)
        except InputError as error:
            if start == 0:
                raise
            raise InputError(f"in {self.text[start : self.position].strip()!r}: {error}") from None

    def file_argument(self) -> Any:
        """``@PATH[:KEY]``: an array read from a file."""
        start = self.position + 1
        end = start
        while end < len(self.text) and self.text[end] not in ",)]":
            end += 1
        reference = self.text[start:end].strip()
        if not reference:
            self.position = start
            self.fail("expected a file path after '@'")
        self.position = end
        return read_array_argument(reference)

    def _keyword(self) -> str | None:
        """Consume ``NAME =`` when present and return NAME."""
        self.skip_space()
        match = _NAME.match(self.text, self.position)
        if not match or match.group().lower() in ("inf", "infinity", "nan"):
            return None
        after = match.end()
        while after < len(self.text) and self.text[after].isspace():
            after += 1
        if after < len(self.text) and self.text[after] == "=":
            self.position = after + 1
            return match.group()
        return None

    def value(self) -> Any:
        char = self.peek()
        if char == "@":
            return self.file_argument()
        if char == "[":
            self.position += 1
            items = []
            while self.peek() != "]":
                items.append(self.value())
                if self.peek() == ",":
                    self.position += 1
                elif self.peek() != "]":
                    self.unexpected()
            self.position += 1
            return items
        number = _NUMBER.match(self.text, self.position)
        if number and not _NAME.match(self.text, number.end()):
            value = float(number.group())
            if math.isinf(value) and "inf" not in number.group().lower():
                self.fail(f"the number {shorten(number.group(), 48)!r} is beyond the float64 range (about ±1.8e308)")
            self.position = number.end()
            return value
        if _NAME.match(self.text, self.position):
            save = self.position
            self.name()
            if self.peek() == "(":
                self.position = save
                return self.spec()
            self.position = save
        self.unexpected()
