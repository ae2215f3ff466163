"""The ``klcli`` command: a thin Typer app over the library.

Each command lives in its own module and registers itself on :data:`app`.
:func:`main` is the one error boundary: a :class:`~klcli.errors.KlcliError`
becomes one line ``klcli: error: ...`` on stderr and exit code 2, and any other
exception too, unless ``--debug`` asks for the traceback.
"""

from __future__ import annotations

import sys

import typer

from klcli import __version__
from klcli.errors import ExitCode, KlcliError

app = typer.Typer(
    name="klcli",
    help="KL divergence, Jensen-Shannon divergence and entropies between histograms, "
    "distributions, model outputs and data tables.",
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)

_state = {"debug": False}


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
    _state["debug"] = debug


# Commands register themselves on `app` when imported.
from klcli.cli import compare as _compare  # noqa: E402,F401
from klcli.cli import batch as _batch  # noqa: E402,F401



def main(argv: list[str] | None = None) -> None:
    """Run the CLI; exit with the code SPEC.md promises."""
    _state["debug"] = "--debug" in (sys.argv[1:] if argv is None else argv)
    try:
        # without standalone mode, click returns the code of a typer.Exit instead of raising it
        code = app(args=argv, standalone_mode=False)
    except KlcliError as error:
        _fail(error, error.exit_code)
    except typer.Exit as done:
        sys.exit(done.exit_code)
    except typer.Abort:
        _fail("aborted", ExitCode.BAD_INPUT)
    except _click_exceptions() as error:  # bad usage reported by click
        if _state["debug"]:
            raise
        error.show()
        sys.exit(ExitCode.BAD_INPUT)
    except KeyboardInterrupt:
        sys.exit(130)
    except BrokenPipeError:  # `klcli ... | head`
        sys.stderr.close()
        sys.exit(0)
    except Exception as error:  # a bug, or an error a library raised that we did not anticipate
        _fail(f"{type(error).__name__}: {error}", ExitCode.BAD_INPUT)
    sys.exit(code if isinstance(code, int) else ExitCode.OK)


def _click_exceptions():
    import click

    return click.exceptions.ClickException


def _fail(error, code: int) -> None:
    if _state["debug"]:
        raise error if isinstance(error, BaseException) else RuntimeError(error)
    message = " ".join(str(error).split("\n")[0:1]) or type(error).__name__
    print(f"klcli: error: {message}", file=sys.stderr)
    sys.exit(int(code))
