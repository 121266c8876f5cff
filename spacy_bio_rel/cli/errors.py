"""How every command fails: one red ``Error: ...`` line on stderr and exit code 1.

* :func:`fail` prints the line and exits;
* :func:`cli_errors` turns the exception types it is given into that line;
* :func:`check_writable` checks an output location before the work starts
  (a folder that cannot be written, a path that is a file where a folder is
  wanted or the other way round), so a bad location costs nothing;
* :func:`handle_sigterm` makes SIGTERM stop a command as Ctrl-C does: the
  ``finally`` blocks run and temporary outputs are removed.
"""

import contextlib
import os
import signal
import sys
import tempfile
from pathlib import Path
from typing import Callable, Iterator, NoReturn, Type, Union

import typer


class OutputLocationError(ValueError):
    """An output path cannot be written; the message names it."""


def fail(message: str) -> NoReturn:
    """Print ``Error: message`` in red on stderr and exit with code 1."""
    typer.secho(f"Error: {message}", err=True, fg=typer.colors.RED)
    raise typer.Exit(code=1)


def describe(error: BaseException) -> str:
    """One line for an exception: an OSError names its file and the system's reason."""
    if isinstance(error, OSError) and error.strerror and error.filename:
        return f"{error.filename}: {error.strerror}"
    if isinstance(error, KeyError) and error.args:
        return str(error.args[0])
    return " ".join(str(error).split()) or type(error).__name__


@contextlib.contextmanager
def cli_errors(*types: Type[BaseException], prefix: str = "") -> Iterator[None]:
    """Inside the block, an exception of one of ``types`` becomes one error line and exit code 1."""
    try:
        yield
    except typer.Exit:
        raise
    except types as e:
        fail(prefix + describe(e))


def check_writable(path: Union[str, Path], kind: str = "file") -> None:
    """Raise :class:`OutputLocationError` unless ``path`` can be written as a ``kind`` ("file" or "folder").

    The path must not be a folder when a file is wanted, nor a file when a folder is; the nearest
    existing folder above it (or the folder itself) must be a folder that can be written: when it is
    the folder the output goes into, a file is created there and removed, which also catches read-only
    file systems and permissions that do not apply to the superuser. Nothing is created otherwise.
    """
    if kind not in ("file", "folder"):
        raise ValueError(f"kind must be 'file' or 'folder', got {kind!r}")
    path = Path(path)
    if kind == "file" and path.is_dir():
        raise OutputLocationError(f"cannot write {path}: it is a folder, and a file is wanted here")
    if kind == "folder" and path.exists() and not path.is_dir():
        raise OutputLocationError(f"cannot write {path}: it is a file, and a folder is wanted here")
    target = path if kind == "folder" else path.parent
    nearest = target
    while not nearest.exists() and nearest != nearest.parent:
        nearest = nearest.parent
    if not nearest.is_dir():
        raise OutputLocationError(f"cannot write {path}: {nearest} is a file, not a folder")
    if nearest != target:
        if not os.access(nearest, os.W_OK | os.X_OK):
            raise OutputLocationError(f"cannot write {path}: cannot create folders in {nearest}")
        return
    try:
        with tempfile.TemporaryFile(dir=target, prefix=".write-check-"):
            pass
    except OSError as e:
        raise OutputLocationError(f"cannot write {path}: {target} is not writable ({e.strerror or e})")


def _terminate(owner: int) -> Callable:
    def handler(signum, frame) -> None:
        if os.getpid() != owner:  # a worker forked from the command: die as SIGTERM says
            signal.signal(signum, signal.SIG_DFL)
            os.kill(os.getpid(), signum)
            return
        print("Stopped by SIGTERM", file=sys.stderr, flush=True)
        raise SystemExit(128 + signum)

    return handler


def handle_sigterm() -> Callable[[], None]:
    """Make SIGTERM raise ``SystemExit(143)`` in this process (so ``finally`` blocks remove temporary
    files, as with Ctrl-C); returns a function that restores the previous handler."""
    try:
        previous = signal.signal(signal.SIGTERM, _terminate(os.getpid()))
    except ValueError:  # not the main thread: leave signals alone
        return lambda: None
    return lambda: signal.signal(signal.SIGTERM, previous)
