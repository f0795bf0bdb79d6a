"""What a funnel emits at its start and at each terminal state.

A funnel declaration names its emitter, a ``FunnelEvents`` (declared in ``_tracker``, its
caller); the tracker calls it when the machine enters a state and tracks whatever it returns.
Built-in: the auth funnel events (Started, then one of Completed / Aborted / Failed), the
logout event, and the command lifecycle."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Final

from authfunnel.fsm._catalog import (
    AUTH_ABORTED,
    AUTH_COMPLETED,
    AUTH_FAILED,
    AUTH_LOGOUT,
    AUTH_STARTED,
    COMMAND_COMPLETED,
    COMMAND_INVOKED,
    Event,
    PropertyValue,
    auth_aborted,
    auth_completed,
    auth_failed,
    auth_logout,
    auth_started,
    command_completed,
    command_invoked,
)
from authfunnel.fsm._errors import AbortReason

if TYPE_CHECKING:
    from authfunnel.fsm._tracker import FlowTracker

INTERRUPTED_EXIT_CODE: Final = 130
# A command stopped by a signal exits 128 + its number, as a shell reports it.
_ABORTED_EXIT_CODES: Final = {AbortReason.TERMINATED: 128 + 15, AbortReason.HANGUP: 128 + 1}


class AuthEvents:
    """``CLI Auth Started`` then exactly one of Completed, Aborted or Failed."""

    names: Final = frozenset({AUTH_STARTED, AUTH_COMPLETED, AUTH_ABORTED, AUTH_FAILED})

    def started(self, run: FlowTracker) -> Event:
        return auth_started(run.flow, no_browser=run.no_browser, **run.properties)

    def completed(self, run: FlowTracker) -> Event:
        return auth_completed(run.flow, duration_ms=run.duration_ms, **_ending(run))

    def aborted(self, run: FlowTracker, reason: AbortReason) -> Event:
        return auth_aborted(run.flow, step=_step(run), reason=reason, **_ending(run))

    def failed(self, run: FlowTracker, error: str, exit_code: int) -> Event:
        return auth_failed(
            run.flow,
            step=_step(run),
            duration_ms=run.duration_ms,
            error_class=error,
            **_ending(run),
        )


class LogoutEvents:
    """``CLI Auth Logout`` at the start, while the user is still known; nothing at the end."""

    names: Final = frozenset({AUTH_LOGOUT})

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
