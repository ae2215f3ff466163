"""The ``klcli`` command: a thin Typer app over the library.

Each command lives in its own module and registers itself on :data:`app`.
:class:`KlcliGroup` is the one error boundary: a
:class:`~klcli.errors.KlcliError`, a usage error or an unexpected exception
becomes one line ``klcli: error: ...`` on stderr and exit code 2, unless
``--debug`` asks for the traceback.
"""

from __future__ import annotations

import sys

import typer
from typer.core import TyperGroup

from klcli import __version__
from klcli.errors import ExitCode, KlcliError


class KlcliGroup(TyperGroup):
    """Typer group that maps every error to one stderr line and an exit code."""

    def main(self, args=None, prog_name=None, complete_var=None, standalone_mode=True, **extra):
        argv = list(sys.argv[1:] if args is None else args)
        debug = "--debug" in argv
        try:
            code = super().main(argv, prog_name or "klcli", complete_var, standalone_mode=False, **extra)
        except KlcliError as error:
            code = _fail(error, error.exit_code, debug)
        except (typer.Exit, typer.Abort) as stop:
            code = getattr(stop, "exit_code", ExitCode.BAD_INPUT)
        except BrokenPipeError:  # `klcli ... | head`
            sys.stderr.close()
            code = ExitCode.OK
        except Exception as error:
            if type(error).__name__ == "NoArgsIsHelpError":
                error.show()
                code = ExitCode.BAD_INPUT
            elif hasattr(error, "format_message") and hasattr(error, "exit_code"):
                # click's usage errors (typer vendors click): unknown option, missing argument...
                code = _fail(error.format_message(), ExitCode.BAD_INPUT, debug, error)
            else:  # an error nothing above anticipated: still one line, no traceback
                code = _fail(f"{type(error).__name__}: {error}", ExitCode.BAD_INPUT, debug, error)
        code = int(code or 0)
        if standalone_mode:
            sys.exit(code)
        return code


def _fail(message, code: int, debug: bool, error: BaseException | None = None) -> int:
    if debug:
        raise error if error is not None else message
    text = str(message).strip().splitlines()
    print(f"klcli: error: {text[0] if text else type(message).__name__}", file=sys.stderr)
    return int(code)


app = typer.Typer(
    cls=KlcliGroup,
    name="klcli",
    help="KL divergence, Jensen-Shannon divergence and entropies between histograms, "
    "distributions, model outputs and data tables.",
    add_completion=False,
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
