"""Funnels that name their own events, as an adopting CLI declares them: the report reads
them from their declarations (``cli.report._roles``), as it reads the built-in ones."""

from __future__ import annotations

from typing import Final

from authfunnel.fsm import FlowEvents, Funnel

DEPLOY_EVENTS: Final = FlowEvents.named("Deploy")
DEPLOY: Final = Funnel(
    flow="deploy", steps={"build": ["upload"], "upload": []}, events=DEPLOY_EVENTS
)
# Another flow emitting the same names: told apart by its ``flow`` property alone.
ROLLBACK: Final = Funnel(flow="rollback", steps={"revert": []}, events=DEPLOY_EVENTS)
# Names a SQL literal must quote: a quote, unicode, and the longest a name may be (200).
NASTY_SUBJECT: Final = "Rélease 'n' «Ünïcode» 🚀 " + "x" * 166
RELEASE_EVENTS: Final = FlowEvents.named(NASTY_SUBJECT)
RELEASE: Final = Funnel(
    flow="release", steps={"tag": ["publish"], "publish": []}, events=RELEASE_EVENTS
)


def names(events: FlowEvents) -> tuple[str, tuple[str, str, str]]:
    """``events``' start and its three endings (completed, aborted, failed)."""
    by_role = {str(spec.role): spec.name for spec in events.specs}
    return by_role["started"], (by_role["completed"], by_role["aborted"], by_role["failed"])
