"""Files a user names as input (``--source``): opened without blocking, read in bounded lines.

Only a regular file ends and holds still: ``/dev/zero`` never ends (a reader of lines grew to
gigabytes), and opening a named pipe waits for a writer that may never come. So a source is
opened non-blocking and refused, with what it is, unless it is a regular file; and its lines
are read at most ``MAX_LINE_BYTES`` at a time, so one endless line costs no more memory than
a short one.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO, Final

from authfunnel.cli.app._exit import CliError

# One Segment message is at most 32 KB; a line 32 times that is no message, whatever it holds.
MAX_LINE_BYTES: Final = 1 << 20


def open_regular(path: Path) -> BinaryIO:
    """``path`` opened for binary reading; ``CliError`` naming what it is when it is not a
    regular file (a directory, a named pipe, a device, a socket), and ``FileNotFoundError``
    as ``open`` raises it, for the caller to word."""
    try:
        # Non-blocking, so a named pipe without a writer cannot hang the open itself; a socket
        # cannot be opened at all, so it is told apart by its stat.
        descriptor = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    except FileNotFoundError:
        raise
    except OSError as exc:
        kind = _kind_at(path)
        if kind is not None:
            raise _not_regular(path, kind) from exc
        raise CliError(f"cannot read {path}: {exc.strerror}") from exc
    kind = _kind(os.fstat(descriptor).st_mode)
    if kind is not None:
        os.close(descriptor)
        raise _not_regular(path, kind)
    os.set_blocking(descriptor, True)
    return os.fdopen(descriptor, "rb")


def bounded_lines(file: BinaryIO, limit: int = MAX_LINE_BYTES) -> Iterator[bytes | None]:
    """Each line of ``file`` without its line ending, or ``None`` for a line longer than
    ``limit`` bytes: that one is read and dropped ``limit`` bytes at a time, never held whole."""
    while True:
        line = file.readline(limit + 1)
        if not line:
            return
        if len(line) > limit and not line.endswith(b"\n"):
            while (rest := file.readline(limit)) and not rest.endswith(b"\n"):
                pass
            yield None
            continue
        yield line.rstrip(b"\r\n")


def _not_regular(path: Path, kind: str) -> CliError:
    return CliError(
        f"{path} is {kind}, not a file: it is not read",
        hint="pass a regular file (.jsonl, .parquet or an outbox store)",
    )


def _kind_at(path: Path) -> str | None:
    try:
        return _kind(os.stat(path).st_mode)
    except OSError:
        return None


def _kind(mode: int) -> str | None:
    """What a file of ``mode`` is, in words, when it is not a regular file."""
    if stat.S_ISREG(mode):
        return None
    kinds = {
        stat.S_ISDIR: "a directory",
        stat.S_ISFIFO: "a named pipe (FIFO)",
        stat.S_ISCHR: "a character device",
        stat.S_ISBLK: "a block device",
        stat.S_ISSOCK: "a socket",
    }
    return next((name for test, name in kinds.items() if test(mode)), "not a regular file")
