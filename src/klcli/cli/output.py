"""``--output FILE`` and ``--plot``: where a command's output goes, and whether pictures can join it."""

from __future__ import annotations

import contextlib
import io
import os
import tempfile
from typing import Iterator

from klcli.errors import InputError, UsageError


def check_plot(plot: bool, fmt: str) -> None:
    """``--plot`` draws beside a table: refuse it with a format for machines.
    ``--format html`` needs the plot extra: say so before any work."""
    if plot and fmt not in ("table", "html"):
        raise UsageError(f"--plot draws pictures beside --format table (and --format html always has charts), not --format {fmt}")
    if fmt == "html":
        from klcli.report.charts import require_matplotlib

        require_matplotlib()


@contextlib.contextmanager
def output_to(path: str | None) -> Iterator[None]:
    """Send what the block prints to stdout into ``path``, atomically: a temporary file
    in the same folder is created first (so an unwritable path fails before any work),
    written, and renamed over ``path`` only when the block succeeds.

    Without ``path`` the block prints to stdout as usual.
    """
    if path is None or path == "-":
        yield
        return
    folder = os.path.dirname(os.path.abspath(path))
    try:
        if os.path.isdir(path):
            raise IsADirectoryError(21, "Is a directory")
        handle, temporary = tempfile.mkstemp(prefix=".klcli-", suffix=".tmp", dir=folder)
    except OSError as error:
        raise InputError(f"{path}: cannot write the output: {error.strerror or error}") from None
    stream = os.fdopen(handle, "w", encoding="utf-8")
    buffer = io.StringIO()
    try:
        with contextlib.redirect_stdout(buffer):
            yield
        try:
            stream.write(buffer.getvalue())
            stream.close()
            os.chmod(temporary, 0o666 & ~_umask())
            os.replace(temporary, path)
        except OSError as error:
            raise InputError(f"{path}: cannot write the output: {error.strerror or error}") from None
    except BaseException:
        stream.close()
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask
