"""The command table: name, module and one-line summary of every command.

``--help`` reads this table; a command's module is imported only when that command runs, so
start-up never pays for rich, httpx, Authlib or segment.analytics it does not use. A command
module provides ``add_arguments(parser)`` and ``run(args, env) -> int``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final


@dataclass(frozen=True)
class CommandSpec:
    module: str
    summary: str


COMMANDS: Final[dict[str, CommandSpec]] = {
    "diagram": CommandSpec(
        module="cli.commands.diagram", summary="draw a flow's state machine (mermaid, svg, text)"
    ),
    "report": CommandSpec(
        module="cli.commands.report", summary="funnel report from recorded events (DuckDB)"
    ),
    "simulate": CommandSpec(
        module="cli.commands.simulate", summary="generate realistic traffic through the engine"
    ),
}
