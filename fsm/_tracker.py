"""``FlowTracker``: one run of a funnel (its run scope, ``FlowRun``, is in ``_run_scope``).

The tracker is the model its funnel's machine drives: entering a step state records the step,
entering a terminal state emits that terminal event, and every state after a terminal one is
refused. Code that may run without a funnel (silent re-authentication) takes
``NULL_TRACKER``, whose methods do nothing, so no call site needs an ``if``::

    def run_oauth(tracker: FlowTracker = NULL_TRACKER) -> Token:
        tracker.advance(Step.CODE_EXCHANGE)

A tracker reads its funnel through ``RunnableFunnel`` and what it emits through
``FunnelEvents``, both declared here: the declaration (``fsm.Funnel``) builds trackers, so the
tracker must not depend on it.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, Final, NoReturn, Protocol

from authfunnel.fsm._catalog import Declaring, Event, EventSpec, PropertyValue
from authfunnel.fsm._client import TelemetryClient, track_event
from authfunnel.fsm._error_class import error_class
from authfunnel.fsm._errors import AbortReason, IllegalTransition
from authfunnel.fsm._machine import (
    ABORT,
    COMPLETE,
    FAIL,
    IDLE,
    START,
    TERMINAL_STATES,
    StepGraph,
)

if TYPE_CHECKING:
    from transitions import EventData, Machine

Clock = Callable[[], float]
_NOT_STEPS: Final = frozenset({START, COMPLETE, ABORT, FAIL})
_EMPTY: Final[Mapping[str, PropertyValue]] = MappingProxyType({})


class FunnelEvents(Protocol):
    """Turns a run's moments into catalog events; ``None`` means emit nothing then."""

    @property
    def names(self) -> frozenset[str]:
        """Every event name this emitter can return."""
        ...

    @property
    def specs(self) -> tuple[EventSpec, ...]:
        """The declaration of each of ``names``: role and properties (the tracking plan, the
        outbox's allow-list, recovery and the report read them)."""
        ...

    def started(self, run: FlowTracker) -> Event | None: ...

    def completed(self, run: FlowTracker) -> Event | None: ...

    def aborted(self, run: FlowTracker, reason: AbortReason) -> Event | None: ...

    def failed(self, run: FlowTracker, error: str, exit_code: int) -> Event | None: ...


class RunnableFunnel(StepGraph, Declaring, Protocol):
    """What a run reads of its funnel: a declaration (``fsm.Funnel``) as a tracker sees it."""

    @property
    def properties(self) -> Mapping[str, type]:
        """The declared run properties, name to type."""
        ...

    @property
    def events(self) -> FunnelEvents: ...

    @property
    def machine(self) -> Machine: ...

    def successors(self, step: str) -> tuple[str, ...]: ...

    @property
    def skips(self) -> tuple[tuple[str, str], ...]:
        """The moves that bypass the funnel's optional steps."""
        ...


class FlowTracker:
    """The state of one run: its step in force, its start time and its outcome."""

    __slots__ = (
        "_client",
        "_clock",
        "_ended_at",
        "_funnel",
        "_on_step",
        "_skipped",
        "_started_at",
        "_state",
        "_step",
        "no_browser",
        "properties",
    )

    def __init__(
        self,
        funnel: RunnableFunnel,
        client: TelemetryClient | None,
        *,
        no_browser: bool = False,
        properties: Mapping[str, PropertyValue] | None = None,
        clock: Clock = time.monotonic,
    ) -> None:
        self._funnel = funnel
        self._client = client
        # Optional hook (see fsm.StepRecorder), looked up once: a durable client records the
        # step of an open flow so a killed process's flow can still be ended later.
        self._on_step: Callable[[str, str], None] | None = getattr(client, "record_step", None)
        self._clock = clock
        self._state = IDLE
        self._step: str | None = None
        self._skipped = False
        self._started_at = clock()
        self._ended_at: float | None = None
        self.no_browser = no_browser
        self.properties = (
            _checked_properties(funnel, properties or {})
            if properties or funnel.properties
            else _EMPTY
        )

    @property
    def funnel(self) -> RunnableFunnel | None:
        """The funnel this run follows."""
        return self._funnel

    @property
    def flow(self) -> str:
        """The flow name reported in the events."""
        return self._funnel.flow

    @property
    def step(self) -> str | None:
        """The step in force: the last step state entered."""
        return self._step

    @property
    def skipped(self) -> bool:
        """Whether the run bypassed its funnel's optional steps (its ending says so)."""
        return self._skipped

    @property
    def state(self) -> str:
        """The machine state: ``idle``, a step, or ``completed`` / ``aborted`` / ``failed``."""
        return self._state

    @property
    def is_terminal(self) -> bool:
        """Whether the run has emitted its terminal event (and so accepts nothing more)."""
        return self._state in TERMINAL_STATES

    @property
    def duration_ms(self) -> int:
        """Milliseconds since the run started, frozen once it ends."""
        end = self._ended_at if self._ended_at is not None else self._clock()
        return max(0, round((end - self._started_at) * 1000))

    def start(self) -> None:
        """Emit the start event and enter the first step."""
        self._trigger(START)

    def advance(self, step: str) -> None:
        """Enter ``step``; an order the funnel does not allow fails the run, then raises."""
        if step in _NOT_STEPS:
            self._refuse(str(step))
        bypass = (self._step, str(step)) in self._funnel.skips
        self._trigger(str(step))
        self._skipped = self._skipped or bypass

    def complete(self) -> None:
        """End with the completed event; only from a completing step."""
        self._trigger(COMPLETE)

    def abort(self, reason: AbortReason = AbortReason.INTERRUPT) -> None:
        """End with the aborted event, at the step in force."""
        self._trigger(ABORT, reason=AbortReason(reason))

    def fail(self, error: BaseException | str, *, exit_code: int = 1) -> None:
        """End with the failed event; ``error`` is an exception or an error class name."""
        name = error if isinstance(error, str) else error_class(error)
        self._trigger(FAIL, error=name, exit_code=exit_code)

    def _trigger(self, trigger: str, **kwargs: Any) -> None:
        from transitions import MachineError

        event = self._funnel.machine.events.get(trigger)
        if event is None:
            self._refuse(trigger)
        try:
            event.trigger(self, **kwargs)
        except MachineError as exc:
            self._refuse(trigger, exc)

    def _refuse(self, trigger: str, cause: BaseException | None = None) -> NoReturn:
        refusal = IllegalTransition(trigger, self._state, self.flow)
        if self._state not in TERMINAL_STATES and self._state != IDLE:
            self._trigger(FAIL, error=error_class(refusal), exit_code=1)
        raise refusal from cause

    # Machine callbacks, resolved by name (see _machine).

    def _starting(self, event_data: EventData) -> None:
        self._started_at = self._clock()
        self._emit(self._funnel.events.started(self))

    def _entered_step(self, event_data: EventData) -> None:
        self._step = event_data.state.name
        if self._on_step is not None:
            try:
                self._on_step(self.flow, self._step)
            except Exception:  # like track_event: a recording failure never breaks the flow
                import logging

                logger = logging.getLogger("authfunnel.fsm")
                logger.warning("telemetry client failed to record a step")

    def _entered_completed(self, event_data: EventData) -> None:
        self._ended_at = self._clock()
        self._emit(self._funnel.events.completed(self))

    def _entered_aborted(self, event_data: EventData) -> None:
        self._ended_at = self._clock()
        self._emit(self._funnel.events.aborted(self, event_data.kwargs["reason"]))

    def _entered_failed(self, event_data: EventData) -> None:
        self._ended_at = self._clock()
        kwargs = event_data.kwargs
        self._emit(self._funnel.events.failed(self, kwargs["error"], kwargs["exit_code"]))

    def _emit(self, event: Event | None) -> None:
        if event is not None:
            if event.funnel is None:  # the run vouches for what its emitter returned
                event = Event(event.name, event.properties, self._funnel)
            track_event(self._client, event)

    def __repr__(self) -> str:
        return f"<FlowTracker {self.flow} state={self._state} step={self._step}>"


class _NullTracker(FlowTracker):
    """A tracker for code run outside any funnel: it records nothing and emits nothing."""

    __slots__ = ()

    def __init__(self) -> None:
        self._state = IDLE
        self._step = None
        self._skipped = False
        self._on_step = None
        self.no_browser = False
        self.properties = _EMPTY

    @property
    def funnel(self) -> None:
        return None

    @property
    def flow(self) -> str:
        return ""

    @property
    def duration_ms(self) -> int:
        return 0

    def start(self) -> None:
        pass

    def advance(self, step: str) -> None:
        pass

    def complete(self) -> None:
        pass

    def abort(self, reason: AbortReason = AbortReason.INTERRUPT) -> None:
        pass

    def fail(self, error: BaseException | str, *, exit_code: int = 1) -> None:
        pass

    def __repr__(self) -> str:
        return "NULL_TRACKER"


NULL_TRACKER: Final[FlowTracker] = _NullTracker()


def _checked_properties(
    funnel: RunnableFunnel, properties: Mapping[str, PropertyValue]
) -> Mapping[str, PropertyValue]:
    declared = funnel.properties
    checked: dict[str, PropertyValue] = {}
    for name, value in properties.items():
        kind = declared.get(name)
        if kind is None:
            raise TypeError(
                f"{funnel.flow}: unknown run property {name!r}; declared: {sorted(declared)}"
            )
        if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
            raise TypeError(f"{funnel.flow}: run property {name!r} must be {kind.__name__}")
        checked[name] = str(value) if isinstance(value, str) else value
    missing = set(declared) - set(checked)
    if missing:
        raise TypeError(f"{funnel.flow}: missing run properties {sorted(missing)}")
    return MappingProxyType(checked)
