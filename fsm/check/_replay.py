"""Replaying a counterexample: its scripts run again, the invariants they break returned.

Its own module so the stateful phase (which shrinks counterexamples with it) and the public
face both import it without importing each other.
"""

from __future__ import annotations

from authfunnel.fsm._declaration import Funnel
from authfunnel.fsm.check._context import Context
from authfunnel.fsm.check._engine import Engine
from authfunnel.fsm.check._run import LiveRun
from authfunnel.fsm.check._script import Script


def replay(funnel: Funnel, scripts: tuple[Script, ...], engine: Engine | None = None) -> list[str]:
    """Run a counterexample's scripts again; the invariants they break (empty: none)."""
    context = Context(funnel, engine or Engine())
    broken: list[str] = []
    for script in scripts:
        run = LiveRun(context, no_browser=script.no_browser, properties=script.properties)
        found = list(run.found)
        for action in script.actions:
            found += run.apply(action)
        broken += [invariant for invariant, _ in found]
    return broken
