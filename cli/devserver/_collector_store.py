"""The collector's store: one JSON line per message, on disk before the client hears "stored".

A batch's new lines are written in one append and ``fsync``-ed; only then are their
messageIds marked seen and the request answered 200. A write that fails (a full disk, an I/O
error) is cut back off the file and raises ``StoreFailed``, which the collector answers with a
5xx: the client retries, and the retry is stored, not called a duplicate.

A store whose last line lacks its newline (a collector killed mid-write) is repaired before
anything is appended: a torn fragment (never acknowledged, since the newline is written with the
line and synced before the answer) is set aside in ``<store>.torn`` and cut off, so it cannot
swallow the next line; a whole JSON value that only lacks its newline gets one.

At start only the messageIds are kept in memory, read one line at a time.
"""

from __future__ import annotations

import json
import os
import sys
import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO, Final

from authfunnel.cli.app import open_private, plural

# A stored line is a message (at most 32 KB as sent) plus what the collector adds: any
# longer line was not written by a collector, and is skipped unread rather than held whole.
MAX_LINE_BYTES: Final = 1024 * 1024
_READ_BACK: Final = 64 * 1024


class StoreFailed(Exception):
    """The batch could not be written and synced: nothing of it is stored or acknowledged."""


class AppendFile:
    """The store file opened for appending: the one place the store touches the disk.

    Tests hand the store a subclass (through ``Store``'s ``opener``) whose writes fail, to play
    a disk that fills up, without patching anything.
    """

    def __init__(self, fd: int) -> None:
        self.fd = fd

    @classmethod
    def open(cls, path: Path) -> AppendFile:
        created = not path.exists()
        # The stored messages carry userIds: the file is private like the outbox.
        opened = cls(open_private(path, os.O_RDWR | os.O_CREAT | os.O_APPEND))
        if created:  # a synced line in a file whose name a crash forgets is lost all the same
            try:
                _sync_directory(path.parent)
            except BaseException:
                opened.close()
                raise
        return opened

    def size(self) -> int:
        return os.fstat(self.fd).st_size

    def read_at(self, offset: int, length: int) -> bytes:
        return os.pread(self.fd, length, offset)

    def append(self, data: bytes) -> None:
        view = memoryview(data)
        while view:
            view = view[os.write(self.fd, view) :]

    def sync(self) -> None:
        os.fsync(self.fd)

    def truncate(self, size: int) -> None:
        os.ftruncate(self.fd, size)

    def close(self) -> None:
        os.close(self.fd)


Opener = Callable[[Path], AppendFile]


@dataclass(frozen=True)
class Line:
    """One message as it is stored: its messageId and its JSON line, newline included."""

    message_id: str
    data: bytes


class Store:
    """The JSON-lines file of accepted messages, with the messageIds already in it.

    Raises ``UnicodeDecodeError`` at start if the file is not text (it is left as it is).
    """

    def __init__(self, path: Path, opener: Opener = AppendFile.open) -> None:
        self.path = path
        self.lock = threading.Lock()
        self.duplicates = self.requests = self.refused = self.torn = self.failed_writes = 0
        path.parent.mkdir(parents=True, exist_ok=True)
        self.seen: set[str] = set()
        if path.exists():
            self.seen = set(_stored_ids(path))
        self._file = opener(path)
        self._cut_back_to: int | None = None  # where a failed write must still be cut off
        try:
            self._repair_tail()
        except BaseException:
            self._file.close()
            raise

    def add(self, lines: Sequence[Line]) -> int:
        """Store the lines whose messageIds are new, durably; return how many were new.

        Raises ``StoreFailed`` if they could not be written and synced: none of them is then
        in the file or counted, and the same lines may be added again.
        """
        with self.lock:
            new: dict[str, bytes] = {}
            for line in lines:
                if line.message_id not in self.seen and line.message_id not in new:
                    new[line.message_id] = line.data
            try:
                start = self._ready_to_append()
            except (OSError, UnicodeDecodeError) as exc:
                self.failed_writes += 1
                raise StoreFailed(f"cannot append to the store {self.path}: {exc}") from exc
            if new:
                try:
                    self._file.append(b"".join(new.values()))
                    self._file.sync()
                except OSError as exc:
                    self.failed_writes += 1
                    self._cut_back(start)
                    raise StoreFailed(f"cannot write the store {self.path}: {exc}") from exc
            self.seen.update(new)
            self.duplicates += len(lines) - len(new)
            self.requests += 1
            return len(new)

    def count_refused(self, count: int) -> None:
        with self.lock:
            self.refused += count

    def stats(self) -> dict[str, int]:
        with self.lock:
            return {
                "stored": len(self.seen),
                "duplicates": self.duplicates,
                "requests": self.requests,
                "refused": self.refused,
                "torn": self.torn,
                "failed_writes": self.failed_writes,
            }

    def close(self) -> None:
        self._file.close()

    def _ready_to_append(self) -> int:
        """Finish cutting off an earlier failed write, make sure the file ends a line, and
        return its size: where the next lines start."""
        if self._cut_back_to is not None:
            self._file.truncate(self._cut_back_to)
            self._file.sync()
            self._cut_back_to = None
        self._repair_tail()
        return self._file.size()

    def _cut_back(self, size: int) -> None:
        """Take a failed write's partial lines off the end; if even that fails, remember to."""
        try:
            self._file.truncate(size)
            self._file.sync()
        except OSError:
            self._cut_back_to = size

    def _repair_tail(self) -> None:
        size = self._file.size()
        if size == 0 or self._file.read_at(size - 1, 1) == b"\n":
            return
        start = self._last_line_start(size)
        if start is None:  # a line longer than any message: not ours, ended as it is
            self._end_last_line()
            return
        fragment = self._file.read_at(start, size - start)
        if _is_json(fragment):
            self._end_last_line()
        elif fragment.lstrip().startswith(b"{"):
            self._set_aside(fragment)
            self._file.truncate(start)
            self._file.sync()
            self.torn += 1
            sys.stderr.write(
                f"authfunnel collector: cut a torn last line ({plural(len(fragment), 'byte')}) off "
                f"{self.path}; it is kept in {self._torn_path()}\n"
            )
        else:
            fragment.decode()  # raises on a binary file, which is left as it is
            self._end_last_line()

    def _last_line_start(self, size: int) -> int | None:
        """Where the file's last line starts, if it is at most ``MAX_LINE_BYTES`` long."""
        end = size
        while end > 0 and size - end < MAX_LINE_BYTES:
            begin = max(0, end - _READ_BACK)
            newline = self._file.read_at(begin, end - begin).rfind(b"\n")
            if newline >= 0:
                return begin + newline + 1
            end = begin
        return 0 if end == 0 and size <= MAX_LINE_BYTES else None

    def _end_last_line(self) -> None:
        self._file.append(b"\n")
        self._file.sync()

    def _torn_path(self) -> Path:
        return self.path.with_name(self.path.name + ".torn")

    def _set_aside(self, fragment: bytes) -> None:
        """Keep a torn fragment for whoever wants to look at it (best effort: it was never
        acknowledged, so its client still holds the message and will send it again)."""
        try:
            fd = open_private(self._torn_path(), os.O_WRONLY | os.O_CREAT | os.O_APPEND)
            try:
                os.write(fd, fragment + b"\n")
            finally:
                os.close(fd)
        except OSError:
            pass


def read_messages(path: Path) -> list[dict[str, Any]]:
    """The messages in a store file, in arrival order.

    A line that is not a JSON object (a torn last line, anything written by hand, a line longer
    than any message) is no message: it is skipped. A file that is not UTF-8 raises
    ``UnicodeDecodeError``.
    """
    return list(iter_messages(path))


def iter_messages(path: Path) -> Iterator[dict[str, Any]]:
    """``read_messages``, one message at a time."""
    with path.open("rb") as file:
        for line, whole in _lines(file):
            try:
                message = json.loads(line.decode())
            except (json.JSONDecodeError, RecursionError):
                continue
            except UnicodeDecodeError:
                if whole:
                    raise
                continue  # a torn last line may end inside a character
            if isinstance(message, dict):
                yield message


def _stored_ids(path: Path) -> Iterator[str]:
    for message in iter_messages(path):
        message_id = message.get("messageId")
        if isinstance(message_id, str):
            yield message_id


def _lines(file: BinaryIO) -> Iterator[tuple[bytes, bool]]:
    """Each line of at most ``MAX_LINE_BYTES`` (longer ones skipped), and whether it ended in
    a newline (the last one may not have)."""
    while line := file.readline(MAX_LINE_BYTES + 1):
        if len(line) > MAX_LINE_BYTES and not line.endswith(b"\n"):
            while (rest := file.readline(MAX_LINE_BYTES)) and not rest.endswith(b"\n"):
                pass
            continue
        yield line, line.endswith(b"\n")


def _sync_directory(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _is_json(data: bytes) -> bool:
    try:
        json.loads(data.decode())
    except (ValueError, RecursionError):  # UnicodeDecodeError is a ValueError
        return False
    return True
