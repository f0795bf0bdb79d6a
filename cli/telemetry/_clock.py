"""Clocks for ages and leases: the wall clock, and the time since boot that no one sets.

A wall clock can jump (set by hand, NTP after a dead RTC battery): forward, every pending
event looks too old; backward, a dead sender's lease looks held for as long. Within a boot,
time since boot (Linux ``CLOCK_BOOTTIME``, which counts suspend) measures what really elapsed;
the boot's id says whether two readings share a boot. Where there is none, ``uptime`` answers
``(None, 0.0)`` and callers fall back to the wall clock with a bound.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Final

Clock = Callable[[], float]
Uptime = Callable[[], tuple[str | None, float]]

BOOT_ID: Final = "/proc/sys/kernel/random/boot_id"
_boot: list[str | None] = []  # read once per process


def uptime() -> tuple[str | None, float]:
    """``(this boot's id, seconds since boot)``, or ``(None, 0.0)`` where unknown."""
    if not _boot:
        _boot.append(_read_boot_id())
    boot = _boot[0]
    if boot is None:
        return None, 0.0
    return boot, time.clock_gettime(time.CLOCK_BOOTTIME)


def _read_boot_id() -> str | None:
    if not hasattr(time, "CLOCK_BOOTTIME"):
        return None
    try:
        with open(BOOT_ID, encoding="ascii") as file:
            return file.read().strip() or None
    except OSError:
        return None
