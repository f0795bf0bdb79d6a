"""The environment a command runs in: streams, variables and the factories a command uses.

Like httpie's ``Environment``, it carries what a command would otherwise reach for globally:
the telemetry client and the console factory. Tests build one with fakes (a ``StringIO``
stdout, a ``RecordingClient``) instead of monkeypatching.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TextIO

from authfunnel.cli.app._console import make_console
from authfunnel.cli.app._identity import AUTHFUNNEL, AppIdentity

if TYPE_CHECKING:
    from rich.console import Console

    from authfunnel.fsm import TelemetryClient


@dataclass
class Environment:
    """Everything a command reads from its surroundings, so tests can substitute it whole.

    ``telemetry``: the client this invocation records with. ``None`` until the command
    lifecycle opens the durable outbox client (or the no-op one, when telemetry is off); a test
    passes a ``RecordingClient`` here and sees every event, lifecycle included.
    ``console_factory``: makes every rich console (see ``make_console``).
    ``identity``: the application (its name, variables, directories, notice): authfunnel's
    unless an adopting CLI names its own.
    """

    stdout: TextIO = field(default_factory=lambda: sys.stdout)
    stderr: TextIO = field(default_factory=lambda: sys.stderr)
    stdin: TextIO = field(default_factory=lambda: sys.stdin)
    variables: Mapping[str, str] = field(default_factory=lambda: dict(os.environ))
    debug: bool = False
    telemetry: TelemetryClient | None = None
    console_factory: Callable[..., Console] = make_console
    identity: AppIdentity = AUTHFUNNEL

    @property
    def stdout_isatty(self) -> bool:
        return isatty(self.stdout)

    @property
    def stdin_isatty(self) -> bool:
        return isatty(self.stdin)

    @property
    def no_color(self) -> bool:
        """NO_COLOR (https://no-color.org) set to anything non-empty, or output not a terminal."""
        return bool(self.variables.get("NO_COLOR")) or not self.stdout_isatty

    def flag(self, name: str) -> bool:
        """Whether variable ``name`` is set to a true-ish value (1, true, yes, on)."""
        return self.variables.get(name, "").strip().lower() in {"1", "true", "yes", "on"}

    def console(self, file: TextIO | None = None, **options: Any) -> Console:
        """A rich console on ``file`` (default: stdout); options as for ``make_console``."""
        return self.console_factory(self, file, **options)


def isatty(stream: TextIO) -> bool:
    """Whether ``stream`` is a terminal (a closed or fake stream is not)."""
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False
