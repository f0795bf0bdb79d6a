"""The environment a command runs in: streams, terminal facts and variables, injectable in tests."""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TextIO


@dataclass
class Environment:
    """Everything a command reads from its surroundings, so tests can substitute it whole."""

    stdout: TextIO = field(default_factory=lambda: sys.stdout)
    stderr: TextIO = field(default_factory=lambda: sys.stderr)
    stdin: TextIO = field(default_factory=lambda: sys.stdin)
    variables: Mapping[str, str] = field(default_factory=lambda: dict(os.environ))
    debug: bool = False

    @property
    def stdout_isatty(self) -> bool:
        return _isatty(self.stdout)

    @property
    def stdin_isatty(self) -> bool:
        return _isatty(self.stdin)

    @property
    def no_color(self) -> bool:
        """NO_COLOR (https://no-color.org) set to anything non-empty, or output not a terminal."""
        return bool(self.variables.get("NO_COLOR")) or not self.stdout_isatty

    def flag(self, name: str) -> bool:
        """Whether variable ``name`` is set to a true-ish value (1, true, yes, on)."""
        return self.variables.get(name, "").strip().lower() in {"1", "true", "yes", "on"}


def _isatty(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False
