"""Drives one run of a funnel through the real engine, action by action, checking as it goes.

The run's body is a generator that holds the engine's own ``with funnel.run(...)`` block open,
so an action is exactly what a call site does: ``advance`` inside the block, an exception
thrown into it, or the body returning. After every action the run compares what the engine did
with what the model (the machine read as a graph) says it must do, and checks every new event.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Generator, Mapping
from dataclasses import dataclass, field
from typing import Any, Final

from authfunnel.fsm._catalog import PropertyValue
from authfunnel.fsm._error_class import qualified_name
from authfunnel.fsm._errors import AbortReason, IllegalTransition, IncompleteFlow
from authfunnel.fsm._machine import (
    ABORT,
    ABORTED,
    COMPLETE,
    COMPLETED,
    FAIL,
    FAILED,
    IDLE,
    START,
    TERMINAL_STATES,
)
from authfunnel.fsm._tracker import FlowTracker
from authfunnel.fsm.check import _invariants as inv
from authfunnel.fsm.check._context import Context
from authfunnel.fsm.check._engine import Moment, observed
from authfunnel.fsm.check._script import (
    ERROR_KINDS,
    EXPECTED_ILLEGAL,
    TIMEOUT_SECONDS,
    Action,
    Advance,
    End,
    Ending,
    Poke,
    Tick,
    illegal_target,
    poke_call,
    raised_by,
)
from authfunnel.fsm.testing import FakeClock, RecordingClient

INCOMPLETE: Final = qualified_name(IncompleteFlow)
_RETURN: Final = object()
_TRIGGER_INTO: Final = {COMPLETED: COMPLETE, ABORTED: ABORT, FAILED: FAIL}
Found = tuple[str, str]  # (invariant, message)
_MomentSpec = tuple[str, str | None, str | None, int | None]  # kind, reason, error, exit code


@dataclass
class _Expect:
    state: str
    step: str | None
    moments: list[_MomentSpec] = field(default_factory=list)
    raises: BaseException | type[BaseException] | None = None


class LiveRun:
    """One run in progress: start it, ``apply`` actions, read ``found`` after each."""

    def __init__(
        self,
        context: Context,
        *,
        no_browser: bool = False,
        properties: Mapping[str, PropertyValue] | None = None,
    ) -> None:
        self.context = context
        self.no_browser = no_browser
        self.properties = dict(properties or {})
        self.actions: list[Action] = []
        self.recorder = RecordingClient()
        self.clock = FakeClock()
        self.moments: list[Moment] = []
        self.messages: list[str] = []
        self.state = IDLE
        self.step: str | None = None
        self.depth = 0
        self._events_seen = 0
        self._moments_seen = 0
        funnel = observed(context.funnel, self.moments, context.engine.bait_base_properties)
        client = context.engine.client(self.recorder)
        self.tracker: FlowTracker = context.engine.tracker(
            funnel,
            client,
            no_browser=no_browser,
            properties=self.properties or None,
            clock=self.clock,
        )
        self._created_at = self.clock()
        self._body = self._host()
        context.runs += 1
        first = context.graph.first_step() or context.funnel.initial_step
        expect = _Expect(first, first, [("started", None, None, None)])
        self.found = self._settle(expect, lambda: next(self._body))

    @property
    def ended(self) -> bool:
        return self.state in TERMINAL_STATES

    def successors(self) -> tuple[str, ...]:
        """The steps the model allows next (none once the run ended)."""
        return () if self.ended else self.context.graph.step_successors(self.state)

    def apply(self, action: Action) -> list[Found]:
        """Take ``action`` and return what it broke (empty if nothing)."""
        self.actions.append(action)
        if isinstance(action, Tick):
            self.clock.advance(action.seconds)
            return self._settle(_Expect(self.state, self.step), lambda: None)
        if isinstance(action, Poke):
            return self._settle(
                _Expect(self.state, self.step, raises=IllegalTransition),
                lambda: _poke(self.tracker, action.trigger),
            )
        if isinstance(action, Advance):
            if action.step in self.successors():
                expect = _Expect(action.step, action.step)
                return self._settle(expect, self._sender(lambda t: t.advance(action.step)))
            return self._illegal(action.step)
        return self._end(action)

    def finish(self) -> list[Found]:
        """End a run left open by returning from its body."""
        return [] if self.ended else self.apply(End(Ending.RETURN))

    def _end(self, action: End) -> list[Found]:
        ending = action.ending
        if ending is Ending.RETURN:
            if self.state in self.context.completing:
                expect = _Expect(COMPLETED, self.step, [("completed", None, None, None)])
            else:
                expect = _Expect(FAILED, self.step, [("failed", None, INCOMPLETE, 1)])
            return self._settle(expect, self._sender(None))
        if ending is Ending.ILLEGAL:
            graph = self.context.graph
            target = illegal_target(self.successors(), graph.steps, self.state)
            self.actions[-1] = Advance(target)  # so a replay names the step it tried
            return self._illegal(target)
        if ending is Ending.TIMEOUT:
            self.clock.advance(TIMEOUT_SECONDS)
        error = raised_by(action)
        assert error is not None
        if ending in (Ending.EXCEPTION, Ending.TIMEOUT):
            self.messages += [action.message, *action.message.split()]
        if ending in (Ending.INTERRUPT, Ending.DECLINED, Ending.PROMPT):
            reason = AbortReason.INTERRUPT if ending is Ending.INTERRUPT else AbortReason(ending)
            moment: _MomentSpec = ("aborted", str(reason), None, None)
            expect = _Expect(ABORTED, self.step, [moment], raises=error)
        else:
            kind = ERROR_KINDS[action.error] if ending is Ending.EXCEPTION else None
            name = kind.error_class if kind else "TimeoutError"
            moment = ("failed", None, name, kind.exit_code if kind else 1)
            expect = _Expect(FAILED, self.step, [moment], raises=error)
        return self._settle(expect, lambda: self._body.throw(error))

    def _illegal(self, target: str) -> list[Found]:
        expect = _Expect(
            FAILED, self.step, [("failed", None, EXPECTED_ILLEGAL, 1)], raises=IllegalTransition
        )
        return self._settle(expect, self._sender(lambda t: t.advance(target)))

    def _sender(self, command: Callable[[FlowTracker], None] | None) -> Callable[[], None]:
        return lambda: self._body.send(_RETURN if command is None else command)

    def _host(self) -> Generator[None, Any, None]:
        with self.context.engine.run_scope(self.tracker) as tracker:
            while True:
                command = yield
                if command is _RETURN:
                    return
                command(tracker)

    def _settle(self, expect: _Expect, act: Callable[[], object]) -> list[Found]:
        before = self.tracker.state
        raised: BaseException | None = None
        try:
            act()
        except StopIteration:
            pass
        except BaseException as exc:  # the run may raise anything, even KeyboardInterrupt
            if isinstance(exc, KeyboardInterrupt) and exc is not expect.raises:
                raise  # a real Ctrl-C stops the check
            raised = exc
        new = self.moments[self._moments_seen :]
        self._moments_seen = len(self.moments)
        # Events first: what leaves the engine is what a report shows as the cause.
        found = self._events(expect, new)
        found += self._moments(expect, new)
        found += self._model(expect)
        found += self._propagation(expect, raised)
        self._cover(before)
        self.state, self.step = expect.state, expect.step
        return found

    def _propagation(self, expect: _Expect, raised: BaseException | None) -> list[Found]:
        wanted = expect.raises
        if wanted is None:
            if raised is not None:
                return [(inv.PROPAGATES, f"unexpected {type(raised).__name__}: {raised}")]
            return []
        if isinstance(wanted, type):
            if isinstance(raised, wanted):
                return []
            return [(inv.PROPAGATES, f"expected {wanted.__name__} to be raised, got {raised!r}")]
        if raised is wanted:
            return []
        self._close_swallowed()
        return [(inv.PROPAGATES, f"the run scope swallowed {type(wanted).__name__}")]

    def _close_swallowed(self) -> None:
        # A broken scope may do anything here; the violation is already reported.
        with contextlib.suppress(BaseException):
            self._body.send(_RETURN)

    def _model(self, expect: _Expect) -> list[Found]:
        found: list[Found] = []
        tracker = self.tracker
        if tracker.state != expect.state:
            invariant = inv.FINAL if self.ended else inv.OUTCOME
            found.append(
                (invariant, f"run is in state {tracker.state!r}, expected {expect.state!r}")
            )
        if tracker.step != expect.step:
            found.append(
                (inv.STEP_IN_FORCE, f"step in force is {tracker.step!r}, expected {expect.step!r}")
            )
        return found

    def _moments(self, expect: _Expect, new: list[Moment]) -> list[Found]:
        got = [(m.kind, m.reason, m.error, m.exit_code) for m in new]
        if got == expect.moments:
            return []
        if self.ended:
            return [(inv.FINAL, f"a finished run reported {_show(got)}")]
        kinds = [m.kind for m in self.moments]
        if kinds.count("started") > 1:
            return [(inv.SINGLE_START, f"the run started {kinds.count('started')} times")]
        terminals = [k for k in kinds if k != "started"]
        if len(terminals) > 1:
            return [(inv.ONE_TERMINAL, f"the run reported {len(terminals)} terminal moments")]
        return [
            (inv.OUTCOME, f"expected {_show(expect.moments)}, the engine reported {_show(got)}")
        ]

    def _events(self, expect: _Expect, moments: list[Moment]) -> list[Found]:
        context = self.context
        events = self.recorder.events
        new = events[self._events_seen :]
        self._events_seen = len(events)
        emitted = [m.event for m in moments if m.event is not None]
        found: list[Found] = []
        if len(new) != len(emitted):
            found.append(self._miscount(new, emitted))
        for tracked, original in zip(new, emitted, strict=False):
            found += [
                (inv.EMITTED_ONCE, m) for m in inv.same_call_site_properties(tracked, original)
            ]
        elapsed = max(0, round((self.clock() - self._created_at) * 1000))
        for event in new:
            found += [(inv.BASE_PROPERTIES, m) for m in inv.base_properties(event, context.truth)]
            found += [(inv.SEQUENCE, m) for m in inv.sequence(event, context.last_sequence)]
            value = event.properties.get("sequence")
            if isinstance(value, int):
                context.last_sequence = max(context.last_sequence, value)
            found += [(inv.TRACKING_PLAN, m) for m in inv.tracking_plan(event, context.funnel)]
            found += [(inv.NO_SECRETS, m) for m in inv.no_secrets(event, self.messages)]
            found += [(inv.DURATION, m) for m in inv.duration(event, elapsed)]
            found += [(inv.STEP_IN_FORCE, m) for m in inv.step_in_force(event, expect.step)]
        return found

    def _miscount(self, new: list[Any], emitted: list[Any]) -> Found:
        names = [event.name for event in new]
        started = {m.event.name for m in self.moments if m.kind == "started" and m.event}
        ended = {m.event.name for m in self.moments if m.kind != "started" and m.event}
        if sum(name in started for name in names) > 1:
            return (inv.SINGLE_START, f"tracked {names}: the start event twice")
        if sum(name in ended for name in names) > 1:
            return (inv.ONE_TERMINAL, f"tracked {names}: the terminal event twice")
        wanted = [event.name for event in emitted]
        return (inv.EMITTED_ONCE, f"tracked {names} where the emitter returned {wanted}")

    def _cover(self, before: str) -> None:
        context = self.context
        after = self.tracker.state
        context.states.update((before, after))
        if after == before:
            return
        trigger = START if before == IDLE else _TRIGGER_INTO.get(after, after)
        context.transitions.add((before, trigger, after))
        if after in TERMINAL_STATES:
            context.pairs.add((after, self.tracker.step or ""))
            context.depths.append(self.depth)
            if after == COMPLETED:
                context.completed_runs += 1
        else:
            self.depth += 1


def _poke(tracker: FlowTracker, trigger: str) -> None:
    method, arguments = poke_call(trigger)
    getattr(tracker, method)(*arguments)


def _show(moments: list[tuple[str, str | None, str | None, int | None]]) -> str:
    parts = []
    for kind, reason, error, exit_code in moments:
        detail = reason or (f"{error}, exit {exit_code}" if error else "")
        parts.append(f"{kind}({detail})" if detail else kind)
    return ", ".join(parts) or "nothing"
