"""The engine pieces a check drives, swappable so a test can prove that each check bites.

A check runs the real tracker inside the real run scope, emitting through the real
``track_event`` into a ``RecordingClient``. ``Engine`` names those pieces; a test passes a
deliberately broken variant of one (a tracker subclass, a run scope, a client wrapper) and
asserts the check catches it. Funnel variants (another emitter, a patched machine) are simply
the funnel under check.

Between the funnel's emitter and the engine sits an observer: it records every moment the
engine reports (started, completed, aborted, failed, with their arguments) and offers the
engine a call site that tries to set every base property, which the engine must overwrite.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final, cast

from authfunnel.fsm._base import BASE_PROPERTY_KEYS
from authfunnel.fsm._catalog import Event, EventSpec, PropertyValue
from authfunnel.fsm._client import TelemetryClient
from authfunnel.fsm._declaration import Funnel
from authfunnel.fsm._errors import AbortReason
from authfunnel.fsm._run_scope import FlowRun
from authfunnel.fsm._tracker import FlowTracker

if TYPE_CHECKING:
    from authfunnel.fsm.testing import RecordingClient

TrackerFactory = Callable[..., FlowTracker]
ScopeFactory = Callable[[FlowTracker], AbstractContextManager[FlowTracker]]
ClientFactory = Callable[["RecordingClient"], TelemetryClient]

# What a careless call site might pass: the engine must write the real values over these.
BAIT: Final[dict[str, PropertyValue]] = {
    "sequence": 0,
    "invocation_id": "call-site",
    "cli_version": "call-site",
    "os": "call-site",
    "arch": "call-site",
    "python_version": "call-site",
}
assert set(BAIT) == BASE_PROPERTY_KEYS


def _same(client: RecordingClient) -> TelemetryClient:
    return client


@dataclass(frozen=True)
class Engine:
    """The tracker class, run scope and client path a check exercises (the real ones)."""

    tracker: TrackerFactory = FlowTracker
    run_scope: ScopeFactory = FlowRun
    client: ClientFactory = _same
    bait_base_properties: bool = True


@dataclass(frozen=True)
class Moment:
    """One call from the engine to the funnel's emitter, and what the emitter returned."""

    kind: str  # started, completed, aborted or failed
    event: Event | None
    reason: str | None = None
    error: str | None = None
    exit_code: int | None = None


class ObservingEvents:
    """Wraps a funnel's emitter: logs each moment, and baits base properties."""

    def __init__(self, inner: Any, log: list[Moment], bait: bool) -> None:
        self._inner = inner
        self._log = log
        self._bait = bait

    @property
    def names(self) -> frozenset[str]:
        return frozenset(self._inner.names)

    @property
    def specs(self) -> tuple[EventSpec, ...]:
        return tuple(self._inner.specs)

    def started(self, run: FlowTracker) -> Event | None:
        return self._record(Moment("started", self._inner.started(run)))

    def completed(self, run: FlowTracker) -> Event | None:
        return self._record(Moment("completed", self._inner.completed(run)))

    def aborted(self, run: FlowTracker, reason: AbortReason) -> Event | None:
        event = self._inner.aborted(run, reason)
        return self._record(Moment("aborted", event, reason=str(reason)))

    def failed(self, run: FlowTracker, error: str, exit_code: int) -> Event | None:
        event = self._inner.failed(run, error, exit_code)
        return self._record(Moment("failed", event, error=error, exit_code=exit_code))

    def _record(self, moment: Moment) -> Event | None:
        self._log.append(moment)
        event = moment.event
        if event is None or not self._bait:
            return event
        return Event(event.name, {**event.properties, **BAIT})


class ObservedFunnel:
    """The funnel under check, seen by the engine with its emitter observed.

    Everything else (the machine above all, patched or not) is the funnel's own.
    """

    def __init__(self, funnel: Funnel, events: ObservingEvents) -> None:
        self._funnel = funnel
        self.events = events

    def __getattr__(self, name: str) -> Any:
        return getattr(self._funnel, name)


def observed(funnel: Funnel, log: list[Moment], bait: bool) -> Funnel:
    """``funnel`` with its emitter observed into ``log`` (typed as a Funnel for the engine)."""
    return cast(Funnel, ObservedFunnel(funnel, ObservingEvents(funnel.events, log, bait)))
