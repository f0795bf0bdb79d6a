"""What a funnel emits at its start and at each terminal state.

A funnel declaration names its emitter, a ``FunnelEvents`` (declared in ``_tracker``, its
caller); the tracker calls it when the machine enters a state and tracks whatever it returns.
Each emitter declares the events it can return (``specs``: name, role, properties).
``FlowEvents`` gives any funnel its own names for Started, then one of Completed / Aborted /
Failed; built-in: the auth funnel events (the same, named ``CLI Auth ...``), the logout event,
and the command lifecycle."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Final

from authfunnel.fsm._catalog import (
    AUTH_ABORTED,
    AUTH_COMPLETED,
    AUTH_FAILED,
    AUTH_LOGOUT,
    AUTH_STARTED,
    BUILTIN_CATALOG,
    COMMAND_COMPLETED,
    COMMAND_INVOKED,
    ROLE_PROPERTIES,
    Event,
    EventRole,
    EventSpec,
    PropertySpec,
    PropertyValue,
    auth_logout,
    command_completed,
    command_invoked,
)
from authfunnel.fsm._errors import AbortReason, DefinitionError

if TYPE_CHECKING:
    from authfunnel.fsm._tracker import FlowTracker

INTERRUPTED_EXIT_CODE: Final = 130
# A command stopped by a signal exits 128 + its number, as a shell reports it.
_ABORTED_EXIT_CODES: Final = {AbortReason.TERMINATED: 128 + 15, AbortReason.HANGUP: 128 + 1}


_MAX_NAME: Final = 200


class FlowEvents:
    """A funnel's own event names: ``started``, then exactly one of ``completed``,
    ``aborted`` or ``failed``, each with the properties of its role (``ROLE_PROPERTIES``:
    flow, step, reason, duration_ms, error_class) and the funnel's run properties::

        DEPLOY = Funnel(flow="deploy", steps=..., events=FlowEvents.named("Deploy"))

    Names are checked when declared: four distinct, non-blank, printable names of at most
    200 characters (Segment's convention is "Object Action", as in "Deploy Started"); a
    built-in name only in its own role (``CLI Auth Started`` as a start), never the command
    lifecycle's.
    """

    def __init__(self, *, started: str, completed: str, aborted: str, failed: str) -> None:
        self._names = {
            EventRole.STARTED: started,
            EventRole.COMPLETED: completed,
            EventRole.ABORTED: aborted,
            EventRole.FAILED: failed,
        }
        for role, name in self._names.items():
            _check_event_name(role, name)
        if len(set(self._names.values())) != len(self._names):
            raise DefinitionError(f"the four event names must differ: {self._names}")
        self.specs: tuple[EventSpec, ...] = tuple(
            EventSpec(name, role, self._properties(role)) for role, name in self._names.items()
        )
        self.names: frozenset[str] = frozenset(self._names.values())

    @classmethod
    def named(cls, subject: str) -> FlowEvents:
        """``"<subject> Started"``, ``"... Completed"``, ``"... Aborted"``, ``"... Failed"``."""
        return cls(
            started=f"{subject} Started",
            completed=f"{subject} Completed",
            aborted=f"{subject} Aborted",
            failed=f"{subject} Failed",
        )

    def _properties(self, role: EventRole) -> Mapping[str, PropertySpec]:
        return ROLE_PROPERTIES[role]

    def started(self, run: FlowTracker) -> Event:
        return Event(self._names[EventRole.STARTED], {**run.properties, "flow": str(run.flow)})

    def completed(self, run: FlowTracker) -> Event:
        properties = {**_ending(run), "flow": str(run.flow), "duration_ms": run.duration_ms}
        return Event(self._names[EventRole.COMPLETED], properties)

    def aborted(self, run: FlowTracker, reason: AbortReason) -> Event:
        properties = {
            **_ending(run),
            "flow": str(run.flow),
            "step": _step(run),
            "reason": reason.value,
        }
        return Event(self._names[EventRole.ABORTED], properties)

    def failed(self, run: FlowTracker, error: str, exit_code: int) -> Event:
        properties = {
            **_ending(run),
            "flow": str(run.flow),
            "step": _step(run),
            "duration_ms": run.duration_ms,
            "error_class": error,
        }
        return Event(self._names[EventRole.FAILED], properties)

    def __repr__(self) -> str:
        return f"FlowEvents({', '.join(f'{r}={n!r}' for r, n in self._names.items())})"


class AuthEvents(FlowEvents):
    """``CLI Auth Started`` (saying whether a browser could open) then exactly one of
    Completed, Aborted or Failed."""

    def __init__(self) -> None:
        super().__init__(
            started=AUTH_STARTED, completed=AUTH_COMPLETED, aborted=AUTH_ABORTED, failed=AUTH_FAILED
        )

    def _properties(self, role: EventRole) -> Mapping[str, PropertySpec]:
        return BUILTIN_CATALOG[self._names[role]].properties

    def started(self, run: FlowTracker) -> Event:
        properties = {**run.properties, "flow": str(run.flow), "no_browser": run.no_browser}
        return Event(AUTH_STARTED, properties)

    def __repr__(self) -> str:
        return "AUTH_EVENTS"


def _check_event_name(role: EventRole, name: object) -> None:
    if not isinstance(name, str) or not name.strip():
        raise DefinitionError(f"the {role} event needs a name, like 'Deploy {role.title()}'")
    if name != name.strip() or not name.isprintable() or len(name) > _MAX_NAME:
        raise DefinitionError(
            f"event name {name!r} must be printable, without surrounding spaces, and at most "
            f"{_MAX_NAME} characters"
        )
    builtin = BUILTIN_CATALOG.get(name)
    if builtin is None:
        return
    # A report tells a built-in event of another flow by its ``flow`` property and its role:
    # the command's events carry no flow (any would be counted as a command), and a built-in
    # name in another role could never be reported beside the built-in flows.
    if "flow" not in builtin.properties:
        raise DefinitionError(
            f"event name {name!r} is the command lifecycle's, whose events carry no flow: "
            f"a report would count yours as commands; name it like 'Deploy {role.title()}'"
        )
    if builtin.role is not role:
        raise DefinitionError(
            f"event name {name!r} is the built-in {builtin.role} event, not a {role} one: "
            f"name your {role} event like 'Deploy {role.title()}'"
        )


class LogoutEvents:
    """``CLI Auth Logout`` at the start, while the user is still known; nothing at the end."""

    names: Final = frozenset({AUTH_LOGOUT})
    specs: Final = (BUILTIN_CATALOG[AUTH_LOGOUT],)

    def started(self, run: FlowTracker) -> Event:
        return auth_logout()

    def completed(self, run: FlowTracker) -> None:
        return None

    def aborted(self, run: FlowTracker, reason: AbortReason) -> None:
        return None

    def failed(self, run: FlowTracker, error: str, exit_code: int) -> None:
        return None


class CommandEvents:
    """``Command Invoked`` then ``Command Completed``, however the command ends."""

    names: Final = frozenset({COMMAND_INVOKED, COMMAND_COMPLETED})
    specs: Final = (BUILTIN_CATALOG[COMMAND_INVOKED], BUILTIN_CATALOG[COMMAND_COMPLETED])

    def started(self, run: FlowTracker) -> Event:
        return command_invoked(_command(run.properties))

    def completed(self, run: FlowTracker) -> Event:
        return command_completed(
            _command(run.properties), succeeded=True, exit_code=0, duration_ms=run.duration_ms
        )

    def aborted(self, run: FlowTracker, reason: AbortReason) -> Event:
        return command_completed(
            _command(run.properties),
            succeeded=False,
            exit_code=_ABORTED_EXIT_CODES.get(reason, INTERRUPTED_EXIT_CODE),
            duration_ms=run.duration_ms,
            user_cancelled=True,
            reason=reason,
        )

    def failed(self, run: FlowTracker, error: str, exit_code: int) -> Event:
        return command_completed(
            _command(run.properties),
            succeeded=False,
            exit_code=exit_code,
            duration_ms=run.duration_ms,
            error_class=error,
            user_cancelled=False,
        )


def _step(run: FlowTracker) -> str:
    # A terminal is only reachable from a step, so a run that emits one always has a step.
    return run.step or ""


def _ending(run: FlowTracker) -> Mapping[str, PropertyValue]:
    # The run properties, and ``skipped`` where the run bypassed the optional steps.
    return {**run.properties, "skipped": True} if run.skipped else run.properties


def _command(properties: Mapping[str, object]) -> str:
    return str(properties["command"])


AUTH_EVENTS: Final = AuthEvents()
LOGOUT_EVENTS: Final = LogoutEvents()
COMMAND_EVENTS: Final = CommandEvents()
