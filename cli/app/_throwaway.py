"""Throwaway directories: gone when their run ends, however it ends.

A run (the demo) works in a private directory of its own under the temporary directory. It is
removed on the way out, from a ``finally``: a normal end, an error, Ctrl-C, and SIGTERM or
SIGHUP where they raise (the command lifecycle's ``ending_flows``); a signal that arrives
during the removal waits for it to finish, so none leaves half a directory. A run killed by
SIGKILL (or a power cut) leaves its directory behind: the next run with the same prefix
sweeps it.

The sweep removes nothing but what this module made and nobody uses: a directory (not a
symbolic link) whose name has the prefix, owned by this user, holding a marker file (a regular
file, owned by this user) with the pid of the run that made it, whose run is over. A run holds
an exclusive ``flock`` on its marker for its whole life, and the kernel drops it when the
process dies, whatever killed it and in whichever PID namespace it ran (a pid alone could be
reused, or belong to another container); the recorded pid must also be dead here, which
spares a marker whose run is still between creating and locking it.
"""

from __future__ import annotations

import os
import signal
import stat
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from types import FrameType
from typing import Final

from authfunnel.cli.app._signal_scope import signals_handled

MARKER: Final = ".authfunnel-throwaway"
_NOFOLLOW: Final = getattr(os, "O_NOFOLLOW", 0)
_DEFERRED: Final = tuple(
    getattr(signal, name) for name in ("SIGINT", "SIGTERM", "SIGHUP") if hasattr(signal, name)
)


@contextmanager
def throwaway_dir(prefix: str) -> Iterator[Path]:
    """A new private directory ``<tmp>/<prefix>XXXXXXXX`` for this run, removed when it ends.

    The ones earlier runs with ``prefix`` were killed before removing are swept first.
    """
    import shutil
    import tempfile

    root = Path(tempfile.gettempdir())
    sweep(root, prefix)
    path: Path | None = None
    marker: int | None = None
    try:
        with _signals_deferred():  # a directory is never left without its marker
            path = Path(tempfile.mkdtemp(prefix=prefix, dir=root))
            marker = _claim(path)
        yield path
    finally:
        with _signals_deferred():
            if path is not None:
                shutil.rmtree(path, ignore_errors=True)
            if marker is not None:
                os.close(marker)


def sweep(root: Path, prefix: str) -> list[Path]:
    """Remove the directories under ``root`` named ``prefix...`` that a killed run left behind
    (only those: see the module's docstring); return them."""
    try:
        names = [entry.name for entry in os.scandir(root) if entry.name.startswith(prefix)]
    except OSError:
        return []
    return [root / name for name in sorted(names) if _remove_if_abandoned(root / name)]


def _claim(path: Path) -> int:
    """Write the marker of ``path`` and hold its lock for as long as this process lives."""
    import fcntl

    flags = os.O_RDWR | os.O_CREAT | os.O_EXCL | _NOFOLLOW
    marker = os.open(path / MARKER, flags, 0o600)
    try:
        fcntl.flock(marker, fcntl.LOCK_EX)
        os.write(marker, f"{os.getpid()}\n".encode())
    except BaseException:
        os.close(marker)
        raise
    return marker


def _remove_if_abandoned(path: Path) -> bool:
    import fcntl
    import shutil

    try:
        # Opened without following a link, and checked through the descriptor: what is
        # checked is what is read.
        directory = os.open(path, os.O_RDONLY | os.O_DIRECTORY | _NOFOLLOW)
    except OSError:
        return False
    try:
        if not _ours(os.fstat(directory), stat.S_ISDIR):
            return False
        try:
            marker = os.open(MARKER, os.O_RDWR | _NOFOLLOW, dir_fd=directory)
        except OSError:
            return False  # no marker: not made here, never touched
        try:
            if not _ours(os.fstat(marker), stat.S_ISREG):
                return False
            try:
                fcntl.flock(marker, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                return False  # its run holds the lock: alive
            pid = _pid(os.read(marker, 32))
            if pid is None or _alive(pid):
                return False
            shutil.rmtree(path, ignore_errors=True)  # rmtree never follows a link inside
            return True
        finally:
            os.close(marker)
    finally:
        os.close(directory)


def _ours(status: os.stat_result, kind_is: Callable[[int], bool]) -> bool:
    return kind_is(status.st_mode) and status.st_uid == os.getuid()


def _pid(text: bytes) -> int | None:
    try:
        pid = int(text.decode("ascii").strip())
    except ValueError:  # UnicodeDecodeError is one too
        return None
    return pid if pid > 0 else None


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # another user's process
    return True


@contextmanager
def _signals_deferred() -> Iterator[None]:
    """Hold SIGINT, SIGTERM and SIGHUP until the block is done, then act on the first one as
    the handler in place would have (a Python handler runs between any two bytecodes, so a
    signal mask would not do: another thread may take the signal and the main thread run the
    handler all the same)."""
    caught: list[int] = []

    def note(signum: int, frame: FrameType | None) -> None:
        caught.append(signum)

    try:
        with signals_handled(_DEFERRED, note):
            yield
    finally:
        if caught:
            with suppress(OSError):
                signal.raise_signal(caught[0])
