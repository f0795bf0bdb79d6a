"""SIGTERM and SIGHUP end a command's flows at once, as Aborted with their reason.

``kill``, ``docker stop`` and a shutdown send SIGTERM; closing the terminal sends SIGHUP.
Left to their default action they kill the process, and its open flows are recovered later
as ``CLI Auth Failed`` / ProcessTerminated: a stop by the person reads as a failure of the
tool. While a command runs, either signal raises ``Signalled``, so every run scope it crosses
ends Aborted with reason ``terminated`` or ``hangup``, the command lifecycle records its exit
status (128 + the signal's number) and the command exits with it.

``Signalled`` is a ``KeyboardInterrupt``, as Ctrl-C's is, not an ``Exception``: code that
keeps going after any error (socketserver's request loop in ``dev-server``, a retry loop)
would swallow an ``Exception`` and run on, deaf to the signal; and a stop by signal is not the
person declining the login (``UserCancelled``, which the login turns into "you declined").
A long-running command that stops on Ctrl-C (a server) stops the same way on SIGTERM.
"""

from __future__ import annotations

import signal
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType
from typing import Final

from authfunnel.cli.app import signals_handled
from authfunnel.fsm import AbortReason

REASONS: Final = {
    int(getattr(signal, name)): reason
    for name, reason in (("SIGTERM", AbortReason.TERMINATED), ("SIGHUP", AbortReason.HANGUP))
    if hasattr(signal, name)  # Windows has no SIGHUP
}


class Signalled(KeyboardInterrupt):
    """The command was stopped by ``signum``; it exits ``128 + signum``. A run scope reads its
    ``reason`` (see ``fsm.FlowRun``)."""

    def __init__(self, signum: int) -> None:
        super().__init__(f"stopped by signal {signum}")
        self.signum = signum
        self.reason: AbortReason = REASONS[signum]
        self.exit_code = 128 + signum


@contextmanager
def ending_flows() -> Iterator[None]:
    """Within this scope SIGTERM and SIGHUP raise ``Signalled`` (once: the first one counts).

    Only the main thread can set handlers; elsewhere the default stands. A signal that is
    ignored (``nohup`` ignores SIGHUP) stays ignored.
    """
    fired: list[int] = []

    def stop(signum: int, frame: FrameType | None) -> None:
        if fired:  # a second signal while the first is being recorded: let that finish
            return
        fired.append(signum)
        raise Signalled(signum)

    with signals_handled(REASONS, stop):
        yield
