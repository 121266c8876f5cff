"""Temporary outputs named after the process that writes them, and removal of those a dead process left.

``predict`` writes ``.<name>.<pid>.tmp`` next to its output and ``convert`` a
``.convert-<pid>-*`` folder inside its output folder; both are renamed or
removed when the command ends, also on Ctrl-C and SIGTERM. A process killed
outright (SIGKILL, power loss) leaves them behind: the next run into the same
place removes those whose process is no longer running (a running one may be
a concurrent run and is left alone).
"""

import os
import re
import shutil
import sys
from pathlib import Path
from typing import List


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
            if path.is_dir() and not path.is_symlink():
                shutil.rmtree(path)
            else:
                path.unlink()
        except OSError:
            continue
        removed.append(path)
        print(
            f"Removed {path} (left by an earlier run, process {m.group('pid')}, that did not finish)",
            file=sys.stderr,
        )
    return removed
