"""Base properties: what every tracked event carries, merged last so call sites cannot override.

``sequence`` is a per-process counter, strictly increasing across threads: Segment stores
timestamps with millisecond precision, so back-to-back events tie and only the sequence (with
``invocation_id``) recovers the order of one invocation.
"""

from __future__ import annotations

import itertools
import os
import sys
import threading
from collections.abc import Mapping
from typing import Final

from authfunnel.fsm._catalog import Event, PropertyValue

BASE_PROPERTY_KEYS: Final = frozenset(
    {"sequence", "invocation_id", "cli_version", "os", "arch", "python_version"}
)
DISTRIBUTION: Final = "authfunnel"


class _Process:
    """What stays the same for one process: its id, its counter and its platform facts."""

    def __init__(self) -> None:
        # uuid and platform cost ~15 ms to import: paid on the first event, not at import.
        import platform
        import uuid

        self.invocation_id = str(uuid.uuid4())
        self._counter = itertools.count(1)
        self._lock = threading.Lock()
        self.static: dict[str, PropertyValue] = {
            "os": platform.system().lower() or sys.platform,
            "arch": platform.machine().lower() or "unknown",
            "python_version": platform.python_version(),
        }

    def next_sequence(self) -> int:
        # itertools.count is atomic under the GIL but not on a free-threaded build.
        with self._lock:
            return next(self._counter)


_process: _Process | None = None
_process_lock = threading.Lock()
_cli_version: str | None = None


def _current() -> _Process:
    global _process
    process = _process
    if process is None:
        with _process_lock:
            if _process is None:
                _process = _Process()
            process = _process
    return process


def _renew_after_fork() -> None:
    # A forked child is another invocation: it must not share the parent's id or counter.
    global _process, _process_lock
    _process = None
    _process_lock = threading.Lock()  # another thread may have held it at fork time


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_renew_after_fork)


def set_cli_version(version: str) -> None:
    """Report ``version`` as ``cli_version`` (for a CLI other than authfunnel embedding fsm)."""
    global _cli_version
    _cli_version = version


def cli_version() -> str:
    """The version reported as ``cli_version``: authfunnel's own unless set otherwise."""
    global _cli_version
    if _cli_version is None:
        from importlib import metadata

        try:
            _cli_version = metadata.version(DISTRIBUTION)
        except metadata.PackageNotFoundError:
            _cli_version = "0+unknown"
    return _cli_version


def invocation_id() -> str:
    """This process's invocation id (a uuid4, renewed in a forked child)."""
    return _current().invocation_id


def with_base_properties(event: Event) -> Event:
    """``event`` with the base properties written over whatever the call site passed."""
    clashing = BASE_PROPERTY_KEYS.intersection(event.properties)
    if clashing:
        import logging

        logging.getLogger("authfunnel.fsm").debug(
            "dropping base properties set by a call site: %s", sorted(clashing)
        )
    process = _current()
    merged: dict[str, PropertyValue] = dict(event.properties)
    merged.update(process.static)
    merged["sequence"] = process.next_sequence()
    merged["invocation_id"] = process.invocation_id
    merged["cli_version"] = cli_version()
    return Event(event.name, merged, event.funnel)


def base_properties_of(properties: Mapping[str, PropertyValue]) -> dict[str, PropertyValue]:
    """The base-property part of ``properties``."""
    return {key: value for key, value in properties.items() if key in BASE_PROPERTY_KEYS}
