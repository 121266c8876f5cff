"""Temporary outputs named after the process that writes them, put in place in one step, and removal of
those a dead process left.

One way to write an output so that a failure never leaves it half-written:

* :func:`atomic_output`: a file (or, with ``folder=True``, a folder) is written under
  ``.<name>.<pid>.tmp`` next to its final path and put there by :func:`publish` when the block
  succeeds; removed otherwise (Ctrl-C and SIGTERM included). ``predict`` (a file) and
  ``predict --engine ray`` (a folder of shards) write this way.
* :func:`staging_folder`: a ``.<prefix>-<pid>-*`` folder inside an output folder for commands that
  write several files there (``convert``); each finished file goes into place with :func:`publish`.
* :func:`publish`: the one step. A file replaces ``path`` with ``os.replace``. A folder takes the
  place of ``path`` with ``os.rename``; an existing ``path`` is first renamed to
  ``.<name>.<pid>.old`` and removed afterwards, or put back if the rename fails (``calibrate``
  writes the pipeline it saves this way). With ``exclusive=True`` nothing that exists at ``path``
  is replaced, also when another process creates it at the last moment: a file is hard-linked to
  ``path`` (``os.link`` fails if ``path`` exists), a folder renamed onto a path that must not be
  there; either way :class:`FileExistsError` names ``path``. On a file system without hard links an
  exclusive publish of a file raises :class:`NoHardLinksError` rather than risk replacing a file.

Errors that name a temporary are raised again naming the output it stands for, so that a message
never points at a file that is gone.

A process killed outright (SIGKILL, power loss) leaves its temporaries behind: the next run into the
same place removes those whose process is no longer running (a running one may be a concurrent run
and is left alone). A folder swap killed between its two renames leaves the previous output as
``.<name>.<pid>.old``; it is left for a person to look at.
"""

import contextlib
import errno
import os
import re
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Iterator, List, Union

PathLike = Union[str, Path]

# what os.link raises where the file system has no hard links (EPERM: Linux on FAT and exFAT)
_NO_LINK_ERRNOS = {errno.EPERM, errno.EOPNOTSUPP, errno.ENOTSUP, errno.ENOSYS, errno.EMLINK, errno.EINVAL}


class NoHardLinksError(OSError):
    """An exclusive publish of a file where the file system has no hard links."""


def pid_alive(pid: int) -> bool:
    """Whether a process with this id is running (on this machine)."""
    if pid <= 0:
        return False
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process
        return True
    except OSError:
        return True  # unknown: leave its files alone
    return True


def _remove(path: Path) -> None:
    """Remove a file or folder, if there."""
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    elif path.exists() or path.is_symlink():
        path.unlink()


def remove_stale(folder: Path, pattern: str) -> List[Path]:
    """Remove the files or folders of ``folder`` whose name matches ``pattern`` (a regular expression with a
    group ``pid``) and whose process is not running; print each on stderr and return them."""
    folder = Path(folder)
    regex = re.compile(pattern)
    removed: List[Path] = []
    try:
        entries = list(folder.iterdir())
    except OSError:
        return removed
    for path in entries:
        m = regex.fullmatch(path.name)
        if m is None or pid_alive(int(m.group("pid"))):
            continue
        try:
            _remove(path)
        except OSError:
            continue
        removed.append(path)
        print(
            f"Removed {path} (left by an earlier run, process {m.group('pid')}, that did not finish)",
            file=sys.stderr,
        )
    return removed


def temp_path(path: PathLike, kind: str = "tmp") -> Path:
    """``.<name>.<pid>.<kind>`` next to ``path``: this process's temporary for it."""
    path = Path(path)
    return path.with_name(f".{path.name}.{os.getpid()}.{kind}")


def _renamed_error(e: OSError, tmp: Path, path: Path) -> OSError:
    """``e`` naming ``path`` where it names ``tmp`` or a file inside it; ``e`` itself otherwise."""
    if e.filename is None:
        return e
    name = Path(e.filename)
    if name == tmp:
        target = path
    elif tmp in name.parents:
        target = path / name.relative_to(tmp)
    else:
        return e
    return type(e)(e.errno, e.strerror, str(target))


def _link_into_place(tmp: Path, path: Path) -> None:
    try:
        os.link(tmp, path)
    except FileExistsError:
        raise FileExistsError(errno.EEXIST, os.strerror(errno.EEXIST), str(path)) from None
    except OSError as e:
        if e.errno not in _NO_LINK_ERRNOS:
            raise
        raise NoHardLinksError(
            e.errno,
            "the file system has no hard links, so the output cannot be put in place without the risk "
            "of replacing a file another process wrote there",
            str(path),
        ) from None
    tmp.unlink()


def _rename_folder(tmp: Path, path: Path, exclusive: bool) -> None:
    if path.exists() or path.is_symlink():
        if exclusive:
            raise FileExistsError(errno.EEXIST, os.strerror(errno.EEXIST), str(path))
        old = temp_path(path, "old")
        os.rename(path, old)
        try:
            os.rename(tmp, path)
        except BaseException:
            os.rename(old, path)  # the previous output goes back
            raise
        _remove(old)
        return
    try:
        os.rename(tmp, path)  # a folder created at path meanwhile: fails unless it is empty
    except OSError as e:
        if e.errno in (errno.EEXIST, errno.ENOTEMPTY, errno.ENOTDIR, errno.EISDIR):
            raise FileExistsError(errno.EEXIST, os.strerror(errno.EEXIST), str(path)) from None
        raise


def publish(tmp: PathLike, path: PathLike, *, exclusive: bool = False) -> None:
    """Put the finished file or folder ``tmp`` at ``path`` in one step (see the module's text).

    ``exclusive``: replace nothing; :class:`FileExistsError` naming ``path`` if something is there,
    :class:`NoHardLinksError` for a file where the file system has no hard links. ``tmp`` stays where
    it was when nothing was published.
    """
    tmp, path = Path(tmp), Path(path)
    try:
        if tmp.is_dir() and not tmp.is_symlink():
            _rename_folder(tmp, path, exclusive)
        elif exclusive:
            _link_into_place(tmp, path)
        else:
            os.replace(tmp, path)
    except OSError as e:
        raise _renamed_error(e, tmp, path) from e


@contextlib.contextmanager
def atomic_output(path: PathLike, *, folder: bool = False, exclusive: bool = False) -> Iterator[Path]:
    """A temporary path next to ``path`` (an empty folder with ``folder=True``), published to ``path``
    when the block succeeds (:func:`publish`, ``exclusive`` as there) and removed in any case. Temporaries
    of ``path`` left by a dead process are removed first."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    remove_stale(path.parent, re.escape(f".{path.name}.") + r"(?P<pid>\d+)\.tmp")
    tmp = temp_path(path)
    if folder:
        tmp.mkdir()
    try:
        yield tmp
        publish(tmp, path, exclusive=exclusive)
    except OSError as e:  # name the output, not its temporary (which is removed)
        error = _renamed_error(e, tmp, path)
        if error is e:
            raise
        raise error from e
    finally:
        _remove(tmp)


@contextlib.contextmanager
def staging_folder(folder: PathLike, prefix: str) -> Iterator[Path]:
    """A temporary folder ``.<prefix>-<pid>-*`` inside ``folder``, removed when the block ends (its
    finished files are put in place with :func:`publish`). Errors naming a file in it name the same
    file in ``folder``. Those of dead processes are removed first."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    remove_stale(folder, re.escape(f".{prefix}-") + r"(?P<pid>\d+)-.*")
    tmp = Path(tempfile.mkdtemp(prefix=f".{prefix}-{os.getpid()}-", dir=folder))
    try:
        yield tmp
    except OSError as e:
        error = _renamed_error(e, tmp, folder)
        if error is e:
            raise
        raise error from e
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
