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
    # False for a command that keeps all its telemetry elsewhere (the demo: in its throwaway
    # home): the command lifecycle then records nothing of it in this invocation's outbox.
    lifecycle_events: bool = True


# Where the command modules live (tests register their own, so a spec names a whole module).
_HERE: Final = "authfunnel.cli.commands."

COMMANDS: Final[dict[str, CommandSpec]] = {
    "login": CommandSpec(module=_HERE + "login", summary="log in through the browser"),
    "signup": CommandSpec(module=_HERE + "signup", summary="create an account and log in"),
    "logout": CommandSpec(module=_HERE + "logout", summary="log out and revoke the token"),
    "status": CommandSpec(module=_HERE + "status", summary="show who is logged in"),
    "apps": CommandSpec(module=_HERE + "apps", summary="list your apps: apps list"),
    "demo": CommandSpec(
        module=_HERE + "demo",
        summary="a real login on a local provider",
        lifecycle_events=False,
    ),
    "dev-server": CommandSpec(module=_HERE + "dev_server", summary="run the demo provider"),
    "check": CommandSpec(
        module=_HERE + "check",
        summary="prove a funnel behaves: every path, Hypothesis runs, coverage",
    ),
    "collector": CommandSpec(
        module=_HERE + "collector",
        summary="run a local Segment-compatible collector",
    ),
    "events": CommandSpec(module=_HERE + "events", summary="print the messages a collector stored"),
    "telemetry": CommandSpec(
        module=_HERE + "telemetry",
        summary="telemetry status, enable, disable, show pending events, flush",
    ),
    "diagram": CommandSpec(
        module=_HERE + "diagram",
        summary="draw a flow's state machine (mermaid, svg, text)",
    ),
    "report": CommandSpec(
        module=_HERE + "report",
        summary="funnel report from recorded events (DuckDB)",
    ),
    "simulate": CommandSpec(
        module=_HERE + "simulate",
        summary="generate realistic traffic through the engine",
    ),
}
