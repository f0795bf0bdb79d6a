"""What each event name means to a report, read from the funnels' declarations.

The one place the report learns which names start a flow, which end it and with which
outcome, and which flow an event belongs to: from ``fsm.event_catalog(funnels)`` (each name's
``EventRole``) and each funnel's catalog. The fast path, the plain SQL path, the
per-invocation check, the warehouse query and the plain-Python reference all read it, so a
funnel that names its own events (``FlowEvents.named("Deploy")``) is reported as the built-in
ones are. Names reach SQL only through ``quote``: a name with a quote, unicode or 200
characters is one literal.

- **Starts**: ``STARTED``, and ``SOLE`` (the run's only event: a start that nothing ends,
  as logout's).
- **Endings**: ``COMPLETED``, ``ABORTED``, ``FAILED`` (the outcome is the role), and
  ``ENDED`` (the command lifecycle's one ending: completed if it ``succeeded``, aborted if
  ``user_cancelled``, for its ``reason`` (``interrupt`` when it names none, as before
  authfunnel recorded it), else failed).
- **Flow**: an event's ``flow`` property, unless its declaration has no ``flow`` property
  (the command lifecycle's events): then the flow of the funnel that declares it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Final

from authfunnel.cli.app import CliError
from authfunnel.cli.report._events import quote
from authfunnel.fsm import BUILTIN_FUNNELS, DefinitionError, EventRole, Funnel, event_catalog

_START_ROLES: Final = frozenset({EventRole.STARTED, EventRole.SOLE})
_OUTCOME_OF_ROLE: Final = {
    EventRole.COMPLETED: "completed",
    EventRole.ABORTED: "aborted",
    EventRole.FAILED: "failed",
}
# The reason the report gives a cancelled command (``ENDED`` with ``user_cancelled``) whose
# event names none: recorded before ``Command Completed`` carried one, it was an interrupt.
CANCELLED_REASON: Final = "interrupt"


@dataclass(frozen=True)
class EventRoles:
    """The report's reading of event names, for the funnels it reports (``event_roles``)."""

    flows: tuple[str, ...]  # the reported funnels' flows, in their order
    starts: tuple[str, ...]  # names that open a flow instance
    outcomes: Mapping[str, str]  # ending names whose role is their outcome
    told: tuple[str, ...]  # ending names whose properties tell the outcome (ENDED)
    # Names whose events carry no ``flow`` property, and the flow of the funnel declaring
    # each: the read ones, then the built-in funnels' (so a report of other flows still
    # names the command's events' flow when it counts them as not reported).
    fixed_flows: Mapping[str, str]

    @property
    def names(self) -> tuple[str, ...]:
        """Every name the reported funnels emit, sorted."""
        return tuple(sorted({*self.starts, *self.outcomes, *self.told}))

    @property
    def endings(self) -> tuple[str, ...]:
        return tuple(sorted({*self.outcomes, *self.told}))

    def is_start(self, name: str) -> bool:
        return name in self.starts

    def flow_of(self, name: object, flow: object) -> object:
        """The flow of an event named ``name`` whose ``flow`` property is ``flow``."""
        return self.fixed_flows.get(name, flow) if isinstance(name, str) else flow

    def outcome_of(self, name: str, *, succeeded: bool, cancelled: bool) -> str | None:
        """An ending's outcome (``None`` for a start or a name the funnels do not emit)."""
        if name in self.told:
            return "completed" if succeeded else "aborted" if cancelled else "failed"
        return self.outcomes.get(name)

    def reads(self, name: object, flow: object) -> bool:
        """Whether an event named ``name`` with the ``flow`` property ``flow`` is one the
        reported funnels read (a track message's, placed: the caller checks)."""
        return name in self.names and self.flow_of(name, flow) in self.flows

    # --- The same, as SQL over columns ``event``, ``flow``, ``succeeded``, ``user_cancelled``.

    def flow_sql(self) -> str:
        """An event's flow: its funnel's for a name with no ``flow`` property, else ``flow``."""
        if not self.fixed_flows:
            return "flow"
        by_name = " ".join(
            f"WHEN {quote(name)} THEN {quote(flow)}" for name, flow in self.fixed_flows.items()
        )
        return f"CASE event {by_name} ELSE flow END"

    def is_start_sql(self) -> str:
        return f"event IN ({sql_names(self.starts)})" if self.starts else "false"

    def outcome_sql(self) -> str:
        """An ending's outcome, NULL for a start."""
        whens = [f"WHEN {quote(name)} THEN {quote(o)}" for name, o in self.outcomes.items()]
        whens += [
            f"WHEN {quote(name)} THEN CASE WHEN succeeded THEN 'completed'"
            " WHEN user_cancelled THEN 'aborted' ELSE 'failed' END"
            for name in self.told
        ]
        return f"CASE event {' '.join(whens)} END" if whens else "NULL"

    def reason_sql(self) -> str:
        """An ending's reason: a cancelled command's own, else ``CANCELLED_REASON``."""
        if not self.told:
            return "reason"
        return (
            f"CASE WHEN event IN ({sql_names(self.told)}) AND user_cancelled"
            f" THEN coalesce(reason, {quote(CANCELLED_REASON)}) ELSE reason END"
        )

    def reads_sql(self) -> str:
        """``reads`` as SQL over the stored columns alone (``type``, ``event``, ``flow``),
        so a scan applies it early and no derived column is computed twice to filter."""
        names = self.names
        if not names:
            return "false"
        fixed = [name for name in names if name in self.fixed_flows]
        flows = f"flow IN ({sql_names(self.flows)})"
        # A fixed-flow name the funnels emit is, by construction, one of their flows'.
        theirs = f"(event IN ({sql_names(fixed)}) OR {flows})" if fixed else flows
        return f"coalesce(type, 'track') = 'track' AND event IN ({sql_names(names)}) AND {theirs}"


def sql_names(names: Sequence[str]) -> str:
    """``names`` as a SQL list of string literals (at least one name)."""
    return ", ".join(quote(name) for name in names)


def event_roles(funnels: Sequence[Funnel]) -> EventRoles:
    """The report's reading of the names ``funnels`` emit; a ``CliError`` when their
    declarations cannot be told apart (one name in two roles, or a name with no ``flow``
    property that two flows emit)."""
    try:
        catalog = event_catalog(funnels)
    except DefinitionError as exc:
        raise CliError(f"these funnels cannot be reported together: {exc}") from exc
    fixed: dict[str, str] = {}
    for funnel in funnels:
        for name, spec in funnel.catalog.items():
            if "flow" in spec.properties:
                continue
            if fixed.setdefault(name, str(funnel.flow)) != str(funnel.flow):
                raise CliError(
                    f"the flows {fixed[name]} and {funnel.flow} both emit {name!r}, whose events "
                    "carry no flow property: a report cannot tell them apart",
                    hint="report them one at a time (--flow)",
                )
    for funnel in BUILTIN_FUNNELS:
        for name, spec in funnel.catalog.items():
            if "flow" not in spec.properties and name not in catalog:
                fixed.setdefault(name, str(funnel.flow))
    return EventRoles(
        flows=tuple(str(f.flow) for f in funnels),
        starts=tuple(sorted(n for n, s in catalog.items() if s.role in _START_ROLES)),
        outcomes={
            n: _OUTCOME_OF_ROLE[s.role] for n, s in catalog.items() if s.role in _OUTCOME_OF_ROLE
        },
        told=tuple(sorted(n for n, s in catalog.items() if s.role is EventRole.ENDED)),
        fixed_flows=fixed,
    )


def records_no_browser(funnel: Funnel) -> bool:
    """Whether ``funnel``'s starts say if a browser could open (the auth funnels' do)."""
    return any(
        "no_browser" in spec.properties
        for spec in funnel.catalog.values()
        if spec.role in _START_ROLES
    )


def records_endings(funnel: Funnel) -> bool:
    """Whether ``funnel``'s flows can end (logout's, whose only event is ``SOLE``, cannot)."""
    return any(spec.role not in _START_ROLES for spec in funnel.catalog.values())
