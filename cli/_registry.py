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
    "login": CommandSpec(module="cli.commands.login", summary="log in through the browser"),
    "signup": CommandSpec(module="cli.commands.signup", summary="create an account and log in"),
    "logout": CommandSpec(module="cli.commands.logout", summary="log out and revoke the token"),
    "status": CommandSpec(module="cli.commands.status", summary="show who is logged in"),
    "apps": CommandSpec(module="cli.commands.apps", summary="list your apps: apps list"),
    "demo": CommandSpec(module="cli.commands.demo", summary="a real login on a local provider"),
    "dev-server": CommandSpec(module="cli.commands.dev_server", summary="run the demo provider"),
    "check": CommandSpec(
        module="cli.commands.check",
        summary="prove a funnel behaves: every path, Hypothesis runs, coverage",
    ),
    "collector": CommandSpec(
        module="cli.commands.collector", summary="run a local Segment-compatible collector"
    ),
    "events": CommandSpec(
        module="cli.commands.events", summary="print the messages a collector stored"
    ),
    "telemetry": CommandSpec(
        module="cli.commands.telemetry",
        summary="telemetry status, enable, disable, show pending events, flush",
    ),
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
