"""The ``klcli`` command: a thin Typer app over the library.

Each command lives in its own module and registers itself on :data:`app`.
:class:`KlcliGroup` is the one error boundary: a
:class:`~klcli.errors.KlcliError`, a usage error or an unexpected exception
becomes one line ``klcli: error: ...`` on stderr and exit code 2, unless
``--debug`` asks for the traceback.
"""

from __future__ import annotations

import contextlib
import functools
import io
import os
import re
import sys
import traceback
import warnings

import typer
from typer.core import TyperGroup

from klcli import __version__
from klcli.errors import ExitCode, KlcliError
from klcli.text import escape_terminal, shorten


class KlcliGroup(TyperGroup):
    """Typer group that maps every error to one stderr line and an exit code.

    Text in the line is escaped (:func:`klcli.text.escape_terminal`) and cut to
    a readable length, so a label or file name from the data cannot drive the
    terminal. A numpy warning (overflow, invalid value) is never printed as
    numpy words it: it becomes one ``klcli: warning:`` line. ``--debug`` adds
    the traceback (and numpy's own warnings) and keeps the exit code.
    """

    def main(self, args=None, prog_name=None, complete_var=None, standalone_mode=True, **extra):
        argv = list(sys.argv[1:] if args is None else args)
        debug = "--debug" in argv
        prog_name = prog_name or "klcli"
        complete_var = complete_var or f"_{prog_name.replace('-', '_').upper()}_COMPLETE"
        errors, quiet = sys.stderr, False
        with warnings.catch_warnings(record=not debug) as caught:
            if not debug:
                warnings.simplefilter("default")
            try:
                argv, quiet, color = global_options(argv)
            except click_usage_error() as error:
                code = _fail(error.format_message(), ExitCode.BAD_INPUT, debug)
            else:
                from klcli import render

                render.COLOR = color
                # --quiet: messages (warnings, notes, threshold lines, progress) are dropped; errors still go out
                with contextlib.redirect_stderr(io.StringIO()) if quiet else contextlib.nullcontext():
                    code = self._run(argv, prog_name, complete_var, debug, errors=errors, **extra)
                render.COLOR = None
        for message in [] if quiet else _warning_lines(caught or []):
            print(f"klcli: warning: {message}", file=sys.stderr)
        code = int(code or 0)
        if standalone_mode:
            sys.exit(code)
        return code

    def _run(self, argv, prog_name, complete_var, debug, errors=None, **extra) -> int:
        instruction = os.environ.get(complete_var)
        if instruction and not COMPLETION_INSTRUCTION.fullmatch(instruction):
            return _fail(
                f"{complete_var}={instruction!r} is not a shell completion request; unset {complete_var} "
                "(completion is set up with klcli --install-completion)",
                ExitCode.BAD_INPUT,
                debug,
                stream=errors,
            )
        fail = functools.partial(_fail, stream=errors)
        try:
            return super().main(argv, prog_name, complete_var, standalone_mode=False, **extra)
        except KlcliError as error:
            return fail(error, error.exit_code, debug, error)
        except (typer.Exit, typer.Abort) as stop:
            return getattr(stop, "exit_code", ExitCode.BAD_INPUT)
        except BrokenPipeError:  # `klcli ... | head`
            sys.stderr.close()
            return ExitCode.OK
        except MemoryError as error:
            return fail("out of memory: the inputs are too large for this machine's memory", ExitCode.BAD_INPUT, debug, error)
        except Exception as error:
            if type(error).__name__ == "NoArgsIsHelpError":
                error.show()  # type: ignore[attr-defined]
                return ExitCode.BAD_INPUT
            if hasattr(error, "format_message") and hasattr(error, "exit_code"):
                # click's usage errors (typer vendors click): unknown option, missing argument...
                return fail(error.format_message(), ExitCode.BAD_INPUT, debug, error)
            # an error nothing above anticipated: a bug, still one line and exit 2
            return fail(
                f"internal error: {error or type(error).__name__} ({type(error).__name__}); run with --debug for the traceback, and please report it",
                ExitCode.BAD_INPUT,
                debug,
                error,
            )


def _fail(message, code: int, debug: bool, error: BaseException | None = None, stream=None) -> int:
    """Print ``klcli: error: MESSAGE`` (after the traceback under ``--debug``) and return ``code``.

    ``stream`` is the real standard error, which ``--quiet`` leaves to errors alone.
    """
    stream = stream or sys.stderr
    if debug and error is not None:
        traceback.print_exception(error, file=stream)
    print(f"klcli: error: {error_line(message)}", file=stream)
    return int(code)


#: What typer's completion scripts put in ``_KLCLI_COMPLETE`` (``complete_bash``, ``source_zsh``...).
COMPLETION_INSTRUCTION = re.compile(r"(complete|source)_(bash|zsh|fish|powershell|pwsh)")
#: An argument that is a negative number or a list of numbers starting with one (``-1,-2,-3``,
#: ``-inf,0``, ``-.5``), never an option: options are letters after the dash.
NEGATIVE_NUMBERS = re.compile(r"-(\d|\.\d|inf\b)[-+0-9.eE,;\s\[\]infINF]*")
COLOR_CHOICES = ("auto", "always", "never")


def global_options(argv: list[str]) -> tuple[list[str], bool, str | None]:
    """Take ``--quiet``/``-q`` and ``--color WHEN`` from anywhere before ``--``, and shield negative numbers.

    A negative inline number would read as an unknown option (``-1,-2``): it gets a leading space,
    which no option has and which the command takes off again (:func:`unshield`).

    >>> global_options(["compare", "-1,-2", "0,0", "--from", "logits", "-q", "--color=never"])
    (['compare', ' -1,-2', '0,0', '--from', 'logits'], True, 'never')
    """
    out: list[str] = []
    quiet, color = False, None
    items = iter(argv)
    for item in items:
        if item == "--":
            out.append(item)
            out.extend(items)
            break
        if item in ("--quiet", "-q"):
            quiet = True
        elif item == "--color" or item.startswith("--color="):
            color = item.partition("=")[2] if "=" in item else next(items, None)
            if color not in COLOR_CHOICES:
                raise click_usage_error()(f"`--color` must be one of {', '.join(COLOR_CHOICES)}, not {color!r}")
        elif NEGATIVE_NUMBERS.fullmatch(item):
            out.append(" " + item)
        else:
            out.append(item)
    return out, quiet, color


def unshield(argument: str) -> str:
    """A positional argument as the user typed it (see :func:`global_options`)."""
    return argument[1:] if argument.startswith(" -") and NEGATIVE_NUMBERS.fullmatch(argument[1:]) else argument


def click_usage_error():
    """click's UsageError class, imported here so that start-up does not grow.

    Recent Typer releases carry their own copy of click (``typer._click``) and do
    not install click itself (a fresh environment has none); older ones use click.
    """
    try:
        from typer._click.exceptions import UsageError as ClickUsageError
    except ImportError:
        from click.exceptions import UsageError as ClickUsageError
    return ClickUsageError


def error_line(message: object) -> str:
    """``message`` as one safe line: escaped, and cut to at most 2,000 characters.

    >>> error_line("bad label 'a\\x1b[2Jb'\\nsecond line")
    "bad label 'a\\\\x1b[2Jb'\\\\nsecond line"
    """
    return escape_terminal(shorten(str(message).strip(), 2000)) or "unknown error"


def _warning_lines(caught) -> list[str]:
    """One line per distinct warning: numpy's floating-point warnings said in words."""
    lines = []
    for record in caught:
        text = str(record.message)
        if issubclass(record.category, RuntimeWarning) and "encountered in" in text:
            what = text.split(" encountered in", 1)[0]
            text = f"numerical {what} in a computation; a value may be inaccurate or infinite (--debug shows where)"
        elif not issubclass(record.category, (RuntimeWarning, UserWarning)):
            continue  # deprecation and future warnings are for developers
        line = error_line(text)
        if line not in lines:
            lines.append(line)
    return lines


app = typer.Typer(
    cls=KlcliGroup,
    name="klcli",
    help="KL divergence, Jensen-Shannon divergence and entropies between histograms, distributions, model outputs and data tables.",
    add_completion=True,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _version(value: bool) -> None:
    if value:
        print(f"klcli {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(False, "--version", callback=_version, is_eager=True, help="Print the version and exit."),
    debug: bool = typer.Option(False, "--debug", help="Show the traceback of an error."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No messages on stderr but errors (any command, anywhere on the line)."),
    color: str = typer.Option(
        "auto", "--color", help="auto|always|never: colour in tables (auto: on a terminal; NO_COLOR and FORCE_COLOR are honoured)."
    ),
) -> None:
    """KL, Jensen-Shannon and entropies, from the command line."""


# Commands register themselves on `app` when imported.
from klcli.cli import compare as _compare  # noqa: E402,F401
from klcli.cli import batch as _batch  # noqa: E402,F401
from klcli.cli import families as _families  # noqa: E402,F401
from klcli.cli import drift as _drift  # noqa: E402,F401
from klcli.cli import profile as _profile  # noqa: E402,F401


def main(argv: list[str] | None = None) -> None:
    """Entry point of the ``klcli`` console script; exits with the SPEC.md code."""
    app(args=argv)
