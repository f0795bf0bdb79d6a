"""Start the detached sender: one ``fork()`` in the command's process, then it returns.

The child leaves the terminal's session and execs the sender module, isolated from the current
directory, with the invocation's settings in its environment as one JSON value
(``SETTINGS_VARIABLE``: the write key never appears in ``ps``). They are the settings the
command resolved for its application (state dir, endpoint, timeout, bounds), so the sender
serves whichever CLI started it and reads no variable of its own. ~1 ms,
against ~16-20 ms for ``subprocess.Popen``, which is kept for processes with threads and for
Windows.
"""

from __future__ import annotations

import os
import site
import sys
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import Final

from authfunnel.cli.app import open_private
from authfunnel.cli.telemetry._settings import Settings

SENDER_LOG: Final = "sender.log"
SENDER_MODULE: Final = "authfunnel.cli.telemetry._sender"
# The library's channel to its own child process, the same whichever application runs it.
SETTINGS_VARIABLE: Final = "AUTHFUNNEL_SENDER_SETTINGS"
_NOFOLLOW: Final = getattr(os, "O_NOFOLLOW", 0)


def _isolation(variables: Mapping[str, str]) -> str:
    """``-I`` so that no folder of the current directory (a ``cli/`` or ``authfunnel/`` of a
    cloned repository) can stand in for our modules while the write key is in the environment.
    ``-P`` (the current directory alone left out) where ``-I`` would hide what the command
    itself imported: an install in the user site, or one reached through ``PYTHONPATH``
    (``pip install --target``, a vendored copy)."""
    if variables.get("PYTHONPATH"):  # absolute entries only: see _absolute_path
        return "-P"
    user_site = site.USER_SITE if site.ENABLE_USER_SITE else None
    if user_site and any(Path(user_site).glob("authfunnel-*.dist-info")):
        return "-P"
    return "-I"


def _absolute_path(variables: dict[str, str]) -> None:
    """Drop the relative entries of ``PYTHONPATH`` (an empty one, as ``:/opt/lib`` has, means
    the current directory), so that keeping ``PYTHONPATH`` cannot bring the directory back."""
    entries = [p for p in variables.get("PYTHONPATH", "").split(os.pathsep) if os.path.isabs(p)]
    if entries:
        variables["PYTHONPATH"] = os.pathsep.join(entries)
    else:
        variables.pop("PYTHONPATH", None)


def start_detached(settings: Settings) -> None:
    """Start a sender in its own session and return at once (it is never waited for)."""
    variables = dict(os.environ)
    _absolute_path(variables)
    argv = [sys.executable, _isolation(variables), "-m", SENDER_MODULE]
    variables[SETTINGS_VARIABLE] = sender_settings(settings)
    # fork() with threads is unsafe, and Windows has none: there subprocess spawns it.
    if threading.active_count() > 1 or not hasattr(os, "fork"):
        import subprocess

        target = settings.state_dir / SENDER_LOG if settings.debug else Path(os.devnull)
        mode = os.O_WRONLY | os.O_CREAT | os.O_APPEND | _NOFOLLOW
        log_fd = open_private(target, mode) if settings.debug else os.open(target, mode)
        with open(os.devnull, "wb") as null, os.fdopen(log_fd, "ab") as log:
            subprocess.Popen(
                argv, env=variables, stdin=null, stdout=null, stderr=log, start_new_session=True
            )
        return
    # Debug: delivery results go to a terminal stderr, else to a log file, never to a pipe
    # (a reader of the command's stderr would otherwise wait for the sender to finish).
    log_path = str(settings.state_dir / SENDER_LOG)
    keep_stderr = settings.debug and _isatty(2)
    log_to_file = settings.debug and not keep_stderr
    _reap()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child execs or exits
        try:
            os.setsid()  # its own session: a terminal's Ctrl-C or hang-up never reaches it
            devnull = os.open(os.devnull, os.O_RDWR)
            os.dup2(devnull, 0)
            os.dup2(devnull, 1)
            if log_to_file:
                try:  # a symlink planted as the log is not followed: no log then
                    log_fd = open_private(
                        log_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND | _NOFOLLOW
                    )
                except OSError:
                    log_fd = devnull
                os.dup2(log_fd, 2)
            elif not keep_stderr:
                os.dup2(devnull, 2)
            # Nothing else the command inherited (a pipe a caller reads to EOF, say) stays
            # open in the sender, as subprocess's close_fds does for the path above.
            os.closerange(3, _max_fd())
            os.execve(argv[0], argv, variables)
        finally:
            os._exit(127)
    # No wait (a double fork would wait for the middle child to be scheduled: ~10 ms on a
    # busy machine). A CLI exits next and init adopts the sender; a long-lived embedding
    # process reaps it on its next start.
    _children.append(pid)


_children: list[int] = []


def sender_settings(settings: Settings) -> str:
    """What the sender needs of ``settings``, as the JSON it reads back (``read_settings``)."""
    import json

    return json.dumps(
        {
            "state_dir": str(settings.state_dir),
            "write_key": settings.write_key,
            "host": settings.host,
            "timeout": settings.timeout,
            "max_events": settings.max_events,
            "max_age_days": settings.max_age_days,
            "debug": settings.debug,
        }
    )


def read_settings(text: str) -> Settings:
    """The settings ``sender_settings`` wrote; raises ``ValueError``/``KeyError`` otherwise."""
    import json

    given = json.loads(text)
    return Settings(
        enabled=True,
        reason="sender",
        state_dir=Path(given["state_dir"]),
        write_key=given["write_key"] or None,
        host=str(given["host"]),
        timeout=float(given["timeout"]),
        max_events=int(given["max_events"]),
        max_age_days=float(given["max_age_days"]),
        debug=bool(given["debug"]),
    )


def _reap() -> None:
    for pid in list(_children):
        try:
            done, _ = os.waitpid(pid, os.WNOHANG)
        except ChildProcessError:
            done = pid
        if done:
            _children.remove(pid)


def _max_fd() -> int:
    try:
        return max(256, os.sysconf("SC_OPEN_MAX"))
    except (OSError, ValueError):
        return 256


def _isatty(fd: int) -> bool:
    try:
        return os.isatty(fd)
    except OSError:
        return False
