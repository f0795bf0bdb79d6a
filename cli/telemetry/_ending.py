"""A flow's ending, kept where a full disk cannot refuse it.

When a flow that ends by a Failed event starts (a login, an application's deploy), a small
file is reserved for its ending (``posix_fallocate``: the blocks are the file's before the disk
fills). If the disk is full when the terminal event must be recorded, the outbox cannot take
it, but this file can: the event is written over the reserved blocks, which needs no new ones.
The invocation that later finds the open flow of a process that is gone records that ending
instead of a recovered Failed event (``CLI Auth Failed``, ``Deploy Failed``); an ending
recorded normally just removes the file.

On a filesystem that cannot reserve blocks (copy-on-write ones, say), the file is still
written if it can be; at worst the flow is recovered as Failed, as it was before.
"""

from __future__ import annotations

import contextlib
import json
import os
import uuid
from pathlib import Path
from typing import Any, Final

from authfunnel.cli.app import FILE_MODE

RESERVED_BYTES: Final = 8192  # a terminal message is well under 2 KB
_NAMESPACE: Final = uuid.UUID("5b0c6a51-58a4-4d38-9d0e-4b8f0f3a9e21")
_NOFOLLOW: Final = getattr(os, "O_NOFOLLOW", 0)


def path_for(state_dir: Path, invocation_id: str, flow: str) -> Path:
    """Where the ending of ``flow`` in invocation ``invocation_id`` is kept."""
    return state_dir / f"ending-{uuid.uuid5(_NAMESPACE, f'{invocation_id}/{flow}')}"


def reserve(path: Path) -> None:
    """Make the file, its blocks allocated (best effort: a failure here is not an error)."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | _NOFOLLOW, FILE_MODE)
    except OSError:
        return
    try:
        os.fchmod(fd, FILE_MODE)
        if hasattr(os, "posix_fallocate"):
            os.posix_fallocate(fd, 0, RESERVED_BYTES)
    except OSError:
        pass
    finally:
        os.close(fd)


def keep(path: Path, message: dict[str, Any]) -> bool:
    """Write the terminal ``message`` into the reserved file; whether it is there now."""
    data = json.dumps(message, separators=(",", ":")).encode()
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | _NOFOLLOW, FILE_MODE)
    except OSError:
        return False
    try:
        written = os.pwrite(fd, data, 0)
        os.ftruncate(fd, len(data))  # shrinking needs no block
        return written == len(data)
    except OSError:
        return False
    finally:
        os.close(fd)


def read(path: Path) -> dict[str, Any] | None:
    """The ending kept at ``path``, if one was (``discard`` removes the file once recorded)."""
    try:
        fd = os.open(path, os.O_RDONLY | _NOFOLLOW)
    except OSError:
        return None
    try:
        with os.fdopen(fd, "rb") as file:
            data = file.read(RESERVED_BYTES)
    except OSError:
        data = b""
    try:
        message = json.loads(data)
    except ValueError:
        return None  # reserved, never written: the flow did not end here
    return message if isinstance(message, dict) and message.get("type") == "track" else None


def discard(path: Path) -> None:
    """The ending was recorded in the outbox (or never will be): the file goes."""
    with contextlib.suppress(OSError):
        os.unlink(path)
