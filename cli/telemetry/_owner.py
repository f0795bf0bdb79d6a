"""Who owns an open flow, and whether that owner is provably gone.

A state dir may be shared by processes that cannot see each other: containers with their own
PID namespace mount the same home. A pid means something only in its namespace, so each open
flow records its owner's: the PID namespace (``/proc/self/ns/pid``), the boot
(``/proc/sys/kernel/random/boot_id``, which containers share with their host) and the
process's start time (``/proc/<pid>/stat``: a reused pid starts later).

The owner is gone when it ran in an earlier boot, or in this namespace and its pid is dead or
reused. A flow of another namespace cannot be probed: it is ended only once it has been quiet
longer than any flow can last (``stale_after``).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final

from authfunnel.cli.telemetry import _clock

STALE_FLOW_S: Final = 24 * 3600.0  # a login waits minutes for a browser, a device code < 1 h
STALE_COMMAND_S: Final = 30 * 86_400.0  # a dev server may run for weeks; = the outbox's age bound

Alive = Callable[[int, str | None], bool]


@dataclass(frozen=True)
class Owner:
    """The process that owns an open flow, as recorded with it."""

    pid: int
    start: str | None  # clock ticks since boot at its start, where known
    pid_ns: str | None  # e.g. "pid:[4026531836]", where known
    boot_id: str | None


def this_process() -> Owner:
    """This process as the owner of the flows it opens (read once per process: a forked
    child, with its own pid and start time, reads its own)."""
    pid = os.getpid()
    if not _this or _this[0].pid != pid:
        _this[:] = [Owner(pid, process_start(pid), pid_namespace(), _clock.uptime()[0])]
    return _this[0]


_this: list[Owner] = []  # this process, once read


def gone(owner: Owner, *, quiet_for: float, stale_after: float, alive: Alive) -> bool:
    """Whether ``owner`` can no longer end its flow (silent for ``quiet_for`` seconds)."""
    here = this_process()
    if owner.boot_id and here.boot_id and owner.boot_id != here.boot_id:
        return True  # no process outlives a reboot
    if owner.pid_ns == here.pid_ns:
        return not alive(owner.pid, owner.start)
    return quiet_for > stale_after  # another namespace: its pids are not ours to probe


def process_alive(pid: int, start: str | None = None) -> bool:
    """Whether process ``pid`` (started at ``start``, when known) still runs here.

    A zombie does not count, nor a new process that reuses the pid (its start time differs).
    """
    if start is not None and process_start(pid) != start:
        return False
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return _state(pid) != b"Z"


def process_start(pid: int) -> str | None:
    """The start time of ``pid`` in clock ticks since boot (Linux), or ``None``."""
    fields = _stat_fields(pid)
    return fields[19].decode() if fields is not None and len(fields) > 19 else None


def pid_namespace() -> str | None:
    """This process's PID namespace (Linux), or ``None`` where there is no such thing."""
    if not _namespace:
        try:
            _namespace.append(os.readlink("/proc/self/ns/pid"))
        except OSError:
            _namespace.append(None)
    return _namespace[0]


_namespace: list[str | None] = []  # read once per process


def _state(pid: int) -> bytes | None:
    fields = _stat_fields(pid)
    return fields[0] if fields else None


def _stat_fields(pid: int) -> list[bytes] | None:
    # /proc/<pid>/stat: "pid (comm) state ppid ..."; comm may hold spaces, so split after ")".
    try:
        with open(f"/proc/{pid}/stat", "rb") as stat:
            return stat.read().rsplit(b")", 1)[1].split()
    except (OSError, IndexError):
        return None
