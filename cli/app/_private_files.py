"""Private files: telemetry state can hold the userId, so only its owner may read it.

Directories are made 0700 and files 0600 with an explicit ``chmod``, whatever the umask (a
umask of 000 would otherwise leave them world-readable), and ones an earlier version left
readable are tightened when next opened.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Final

DIR_MODE: Final = 0o700
FILE_MODE: Final = 0o600


def private_dir(path: Path) -> None:
    """Create ``path`` (and missing parents) and make it 0700; raises ``OSError``."""
    path.mkdir(mode=DIR_MODE, parents=True, exist_ok=True)
    os.chmod(path, DIR_MODE)


def private_file(path: Path) -> None:
    """Create ``path`` empty if missing, and make it 0600; raises ``OSError``.

    An existing file is never opened here, only chmod-ed: closing a descriptor drops every
    POSIX lock this process holds on the file, and a SQLite connection already open on it
    would lose its locks (and another process could then write under it).
    """
    try:
        fd = open_private(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL)
    except FileExistsError:
        os.chmod(path, FILE_MODE)
    else:
        os.close(fd)


def open_private(path: Path | str, flags: int) -> int:
    """``os.open(path, flags)`` for a file that is 0600 once this returns."""
    fd = os.open(path, flags, FILE_MODE)
    try:
        os.fchmod(fd, FILE_MODE)
    except BaseException:
        os.close(fd)
        raise
    return fd
