"""The command table: name, module and one-line summary of every command.

``--help`` reads this table; a command's module is imported only when that command runs, so
start-up never pays for rich, httpx, Authlib or segment.analytics it does not use. A command
module provides ``add_arguments(parser)`` and ``run(args, env) -> int``.

A command that needs more than the core install names its extras (``pyproject.toml``'s
optional dependencies); ``EXTRAS`` says which top-level modules each one brings, so the
dispatcher can turn a missing one into "install this extra" in one line.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final


@dataclass(frozen=True)
class CommandSpec:
    module: str
    summary: str
    # The extras this command may need, in the order a missing module is looked up.
    extras: tuple[str, ...] = ()
    # True when only some uses need them (diagram --counts, simulate to Parquet, status of a
    # saved login): the extra is named when a module turns out to be missing. Otherwise it is
    # named before the command starts, whatever else is wrong with its command line.
    extras_optional: bool = False
    # False for a command that keeps all its telemetry elsewhere (the demo: in its throwaway
    # home): the command lifecycle then records nothing of it in this invocation's outbox.
    lifecycle_events: bool = True


# The top-level modules each extra installs that the commands import (the core's are always
# there). Distribution names differ from module names, so this is written out; a test holds it
# to pyproject.toml.
_CLI: Final = frozenset({"rich", "httpx", "authlib", "joserfc", "keyring"})
_REPORT: Final = frozenset({"duckdb", "rich", "pygal", "packaging"})
_DEVSERVER: Final = frozenset({"flask", "flask_wtf", "werkzeug", "authlib"})
EXTRAS: Final[dict[str, frozenset[str]]] = {
    "cli": _CLI,
    "report": _REPORT,
    "check": frozenset({"hypothesis", "jsonschema", "rich"}),
    "diagram": frozenset({"graphviz", "rich"}),
    "devserver": _DEVSERVER,
    "demo": _CLI | _DEVSERVER | _REPORT,
    # report --source postgresql://... (named by the report itself when missing).
    "postgres": frozenset({"ibis", "psycopg"}),
    # report --source spark:///... (named by the report itself when missing).
    "spark": frozenset({"ibis", "pyspark"}),
}


def missing_extra(spec: CommandSpec) -> str | None:
    """The first extra a command needs from the start whose modules are not installed."""
    if spec.extras_optional:
        return None
    from importlib.util import find_spec

    return next(
        (extra for extra in spec.extras if any(find_spec(m) is None for m in EXTRAS[extra])),
        None,
    )


def extra_providing(spec: CommandSpec, module: str | None) -> str | None:
    """The first of ``spec``'s extras that installs ``module`` (a dotted name), if any."""
    top = (module or "").partition(".")[0]
    return next((extra for extra in spec.extras if top in EXTRAS[extra]), None)


# Where the command modules live (tests register their own, so a spec names a whole module).
_HERE: Final = "authfunnel.cli.commands."

COMMANDS: Final[dict[str, CommandSpec]] = {
    "login": CommandSpec(_HERE + "login", "log in through the browser", ("cli",)),
    "signup": CommandSpec(_HERE + "signup", "create an account and log in", ("cli",)),
    "logout": CommandSpec(_HERE + "logout", "log out and revoke the token", ("cli",)),
    "status": CommandSpec(
        _HERE + "status", "show who is logged in", ("cli",), extras_optional=True
    ),
    "apps": CommandSpec(_HERE + "apps", "list your apps: apps list", ("cli",)),
    "demo": CommandSpec(
        _HERE + "demo", "a real login on a local provider", ("demo",), lifecycle_events=False
    ),
    "dev-server": CommandSpec(_HERE + "dev_server", "run the demo provider", ("devserver",)),
    "check": CommandSpec(
        _HERE + "check", "prove a funnel behaves: every path, Hypothesis runs, coverage", ("check",)
    ),
    "collector": CommandSpec(_HERE + "collector", "run a local Segment-compatible collector"),
    "events": CommandSpec(_HERE + "events", "print the messages a collector stored"),
    "telemetry": CommandSpec(
        _HERE + "telemetry", "telemetry status, enable, disable, show pending events, flush"
    ),
    # --counts reads recorded events with the report's DuckDB.
    "diagram": CommandSpec(
        _HERE + "diagram",
        "draw a flow's state machine (mermaid, svg, text)",
        ("diagram", "report"),
        extras_optional=True,
    ),
    "report": CommandSpec(
        _HERE + "report", "funnel report from recorded events (DuckDB)", ("report",)
    ),
    # Without --out, or to JSON lines, it needs nothing more; Parquet is written by DuckDB.
    "simulate": CommandSpec(
        _HERE + "simulate",
        "generate realistic traffic through the engine",
        ("report",),
        extras_optional=True,
    ),
}
