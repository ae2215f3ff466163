"""Errors raised by klcli and the exit codes the CLI maps them to.

The library raises :class:`KlcliError` subclasses with a message written for
the person at the terminal; the CLI prints ``klcli: error: <message>`` and
exits with the error's ``exit_code``.
"""

from __future__ import annotations

from enum import IntEnum


class ExitCode(IntEnum):
    """Process exit codes of the ``klcli`` command (see SPEC.md)."""

    OK = 0
    THRESHOLD = 1  # --fail-above exceeded, or drift found
    BAD_INPUT = 2  # bad usage or bad input


class KlcliError(Exception):
    """Base class of every error klcli reports to the user (exit code 2)."""

    exit_code = ExitCode.BAD_INPUT


class InputError(KlcliError):
    """The data cannot be used: unreadable file, bad weight, bad parameter..."""


class UsageError(KlcliError):
    """The options do not make sense together, or an option has a bad value."""


class EngineUnavailable(KlcliError):
    """A forced engine (``--engine``) or device cannot serve the request."""


class NumericalError(KlcliError):
    """A computation produced a value it must not (NaN): reported instead of printed."""
