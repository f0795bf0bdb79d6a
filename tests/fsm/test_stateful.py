"""Hypothesis drives many runs at once, every way they can go, and checks the invariants after
every rule: one terminal per Started, at the step in force, with a consistent duration, a
strictly increasing sequence, unforgeable base properties, and every event in the plan."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass, field

import hypothesis.strategies as st
from hypothesis import settings
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from authfunnel import fsm
from authfunnel.fsm import NULL_TRACKER, AbortReason, Direction, Event, FlowTracker, Funnel
from authfunnel.fsm.testing import FakeClock, RecordingClient, assert_valid

from .funnels import PLAN_CHANGE

FUNNELS: tuple[Funnel, ...] = (fsm.LOGIN, fsm.SIGNUP, PLAN_CHANGE)
PLAN = (*fsm.BUILTIN_FUNNELS, PLAN_CHANGE)
TERMINALS = {
    fsm.AUTH_COMPLETED: "completed",
    fsm.AUTH_ABORTED: "aborted",
    fsm.AUTH_FAILED: "failed",
}
SECRETS = ["alice@example.com", "/home/alice/.netrc", "Bearer eyJhbGci.secret", "hunter2"]
ALL_STEP_NAMES = sorted({step for funnel in FUNNELS for step in funnel.step_names} | {"teleport"})


@dataclass
class RunModel:
    """What the test expects of one run, kept independently of the engine."""

    funnel: Funnel
    tracker: FlowTracker
    started_at: float
    step: str
    events: list[Event] = field(default_factory=list)
    outcome: str | None = None
    ended_at: float | None = None


class FunnelRuns(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.client = RecordingClient()
        self.clock = FakeClock()
        self.runs: list[RunModel] = []

    # Every rule that touches a run attributes the events it caused to that run.
    def _acting_on(self, run: RunModel, action: Callable[[], None]) -> None:
        before = len(self.client.events)
        try:
            action()
        finally:
            run.events += self.client.events[before:]

    def _pick(self, index: int, *, active: bool) -> RunModel | None:
        candidates = [run for run in self.runs if (run.outcome is None) == active]
        return candidates[index % len(candidates)] if candidates else None

    def _end(self, run: RunModel, outcome: str) -> None:
        run.outcome, run.ended_at = outcome, self.clock()

    @rule(
        funnel=st.sampled_from(FUNNELS),
        no_browser=st.booleans(),
        direction=st.sampled_from(Direction),
    )
    def start(self, funnel: Funnel, no_browser: bool, direction: Direction) -> None:
        properties = {"direction": direction} if funnel.properties else None
        tracker = funnel.tracker(
            self.client, no_browser=no_browser, properties=properties, clock=self.clock
        )
        run = RunModel(funnel, tracker, self.clock(), funnel.initial_step)
        self._acting_on(run, tracker.start)
        self.runs.append(run)

    @rule(seconds=st.floats(min_value=0, max_value=120, allow_nan=False))
    def time_passes(self, seconds: float) -> None:
        self.clock.advance(seconds)

    @precondition(lambda self: any(run.outcome is None for run in self.runs))
    @rule(index=st.integers(min_value=0), choice=st.integers(min_value=0))
    def advance_legally(self, index: int, choice: int) -> None:
        run = self._pick(index, active=True)
        assert run is not None
        successors = run.funnel.successors(run.step)
        if not successors:
            return
        step = successors[choice % len(successors)]
        self._acting_on(run, lambda: run.tracker.advance(step))
        run.step = step

    @rule(index=st.integers(min_value=0), step=st.sampled_from(ALL_STEP_NAMES))
    def advance_anywhere(self, index: int, step: str) -> None:
        run = self._pick(index, active=True) or self._pick(index, active=False)
        if run is None:
            return
        legal = run.outcome is None and step in run.funnel.successors(run.step)
        try:
            self._acting_on(run, lambda: run.tracker.advance(step))
        except fsm.IllegalTransition:
            assert not legal
            if run.outcome is None:
                self._end(run, "failed")
        else:
            assert legal
            run.step = step

    @precondition(lambda self: bool(self.runs))
    @rule(index=st.integers(min_value=0))
    def complete(self, index: int) -> None:
        run = self.runs[index % len(self.runs)]
        legal = run.outcome is None and run.step in run.funnel.completing_steps
        try:
            self._acting_on(run, run.tracker.complete)
        except fsm.IllegalTransition:
            assert not legal
            if run.outcome is None:
                self._end(run, "failed")
        else:
            assert legal
            self._end(run, "completed")

    @precondition(lambda self: any(run.outcome is None for run in self.runs))
    @rule(index=st.integers(min_value=0), reason=st.sampled_from(AbortReason))
    def cancel(self, index: int, reason: AbortReason) -> None:
        run = self._pick(index, active=True)
        assert run is not None
        self._acting_on(run, lambda: run.tracker.abort(reason))
        self._end(run, "aborted")

    @precondition(lambda self: any(run.outcome is None for run in self.runs))
    @rule(
        index=st.integers(min_value=0),
        kind=st.sampled_from([TimeoutError, ValueError, RuntimeError, OSError]),
        secret=st.sampled_from(SECRETS),
    )
    def raise_exception(self, index: int, kind: type[Exception], secret: str) -> None:
        run = self._pick(index, active=True)
        assert run is not None
        self._acting_on(run, lambda: run.tracker.fail(kind(secret)))
        self._end(run, "failed")

    @precondition(lambda self: any(run.outcome is not None for run in self.runs))
    @rule(index=st.integers(min_value=0))
    def terminal_after_terminal_is_refused(self, index: int) -> None:
        run = self._pick(index, active=False)
        assert run is not None
        try:
            self._acting_on(run, lambda: run.tracker.abort())
        except fsm.IllegalTransition:
            return
        raise AssertionError("a second terminal was accepted")

    @rule(step=st.sampled_from(ALL_STEP_NAMES))
    def reauthenticate_without_a_tracker(self, step: str) -> None:
        before = len(self.client.events)
        NULL_TRACKER.advance(step)
        NULL_TRACKER.fail(TimeoutError(SECRETS[0]))
        assert len(self.client.events) == before

    @rule(key=st.sampled_from(sorted(fsm.BASE_PROPERTY_KEYS)))
    def forge_a_base_property(self, key: str) -> None:
        fsm.track_event(self.client, fsm.Event(fsm.AUTH_LOGOUT, {"flow": "logout", key: "x"}))
        assert self.client.events[-1].properties[key] != "x"

    @invariant()
    def each_started_has_at_most_one_terminal_and_the_right_one(self) -> None:
        for run in self.runs:
            names = [event.name for event in run.events]
            assert names[0] == fsm.AUTH_STARTED
            terminals = [TERMINALS[name] for name in names[1:]]
            assert terminals == ([run.outcome] if run.outcome else [])

    @invariant()
    def the_terminal_is_at_the_step_in_force_with_a_consistent_duration(self) -> None:
        for run in self.runs:
            if run.outcome is None:
                assert run.tracker.step == run.step
                continue
            terminal = run.events[-1].properties
            if "step" in terminal:
                assert terminal["step"] == run.step
            if "duration_ms" in terminal:
                assert run.ended_at is not None
                assert terminal["duration_ms"] == round((run.ended_at - run.started_at) * 1000)
                assert isinstance(terminal["duration_ms"], int)
                assert terminal["duration_ms"] >= 0

    @invariant()
    def sequence_strictly_increases(self) -> None:
        sequences = [event.properties["sequence"] for event in self.client.events]
        assert all(a < b for a, b in itertools.pairwise(sequences))  # type: ignore[operator]

    @invariant()
    def every_event_is_in_the_plan_and_leaks_nothing(self) -> None:
        for event in self.client.events[-3:]:
            assert_valid(event, funnels=PLAN)
            text = " ".join(str(value) for value in event.properties.values())
            assert not any(secret in text for secret in SECRETS)


FunnelRuns.TestCase.settings = settings(max_examples=150, stateful_step_count=40, deadline=None)
TestFunnelRuns = FunnelRuns.TestCase
