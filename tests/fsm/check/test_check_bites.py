"""Proof that the checks bite: each deliberately broken engine variant is caught.

Every variant is built from the real engine pieces (a tracker subclass, a client wrapper, a
funnel whose machine is patched) and handed to the checker the way ``Engine`` allows.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import cached_property
from typing import Any

import pytest
from transitions import EventData, Machine

from authfunnel.fsm import (
    AUTH_ABORTED,
    AUTH_COMPLETED,
    AUTH_FAILED,
    COMMAND_COMPLETED,
    LOGIN,
    Event,
    FlowTracker,
    Funnel,
    PropertyValue,
    error_class,
)
from authfunnel.fsm._base import with_base_properties
from authfunnel.fsm._machine import build_machine
from authfunnel.fsm.check import Engine, check_funnel, check_paths, check_stateful, replay
from authfunnel.fsm.check._definition import TERMINALS_FINAL
from authfunnel.fsm.testing import RecordingClient

TERMINALS = frozenset({AUTH_COMPLETED, AUTH_ABORTED, AUTH_FAILED, COMMAND_COMPLETED})


class DoubleTerminalClient:
    """Delivers every terminal event twice."""

    def __init__(self, inner: RecordingClient) -> None:
        self.inner = inner

    def track(self, event: Event) -> None:
        self.inner.track(event)
        if event.name in TERMINALS:
            self.inner.track(event)

    def identify(self, user_id: str, traits: Mapping[str, PropertyValue]) -> None:
        self.inner.identify(user_id, traits)

    def close(self, timeout: float) -> None:
        self.inner.close(timeout)


class ReusedSequenceClient(DoubleTerminalClient):
    """Gives each terminal event the sequence number of the event before it."""

    last: PropertyValue = None

    def track(self, event: Event) -> None:
        if self.last is not None and event.name in TERMINALS:
            event = Event(event.name, {**event.properties, "sequence": self.last})
        self.last = event.properties["sequence"]
        self.inner.track(event)


class StepSetOnceTracker(FlowTracker):
    """Records only the first step entered, never the later ones."""

    def _entered_step(self, event_data: EventData) -> None:
        if self._step is None:
            self._step = event_data.state.name


class MessageInErrorClassTracker(FlowTracker):
    """Reports a failure by its type *and message*."""

    def fail(self, error: BaseException | str, *, exit_code: int = 1) -> None:
        name = error if isinstance(error, str) else f"{error_class(error)}: {error}"
        self._trigger("fail", error=name, exit_code=exit_code)


class OverridableBaseTracker(FlowTracker):
    """Merges the call site's properties over the base ones instead of under them."""

    def _emit(self, event: Any) -> None:
        if event is not None:
            merged = with_base_properties(event)
            assert self._client is not None
            self._client.track(Event(event.name, {**merged.properties, **event.properties}))


class DoubleStartTracker(FlowTracker):
    """Emits the start event twice."""

    def _starting(self, event_data: EventData) -> None:
        super()._starting(event_data)
        super()._starting(event_data)


class ReopenableFunnel(Funnel):
    """A funnel whose completed state is not final: the first step can follow it."""

    @cached_property
    def machine(self) -> Machine:
        machine = build_machine(self)
        machine.get_state("completed").final = False
        machine.add_transition(self.initial_step, "completed", self.initial_step)
        return machine


REOPENABLE_LOGIN = ReopenableFunnel(flow=LOGIN.flow, steps=LOGIN.steps)

VARIANTS = {
    "terminal emitted twice": (LOGIN, Engine(client=DoubleTerminalClient), "one-terminal"),
    "step not set on entry": (LOGIN, Engine(tracker=StepSetOnceTracker), "step-in-force"),
    "exception message in error_class": (
        LOGIN,
        Engine(tracker=MessageInErrorClassTracker),
        "no-secrets",
    ),
    "base properties overridable": (
        LOGIN,
        Engine(tracker=OverridableBaseTracker),
        "base-properties",
    ),
    "sequence number reused": (LOGIN, Engine(client=ReusedSequenceClient), "sequence"),
    "terminal state not final": (REOPENABLE_LOGIN, Engine(), "terminal-final"),
    "started emitted twice": (LOGIN, Engine(tracker=DoubleStartTracker), "single-start"),
}


def _broken(report: Any) -> set[str]:
    return {name for violation in report.violations for name in violation.broken}


def test_the_real_engine_passes_every_check() -> None:
    report = check_funnel(LOGIN, examples=30, seed=7)

    assert report.ok, report.text()


@pytest.mark.parametrize("variant", list(VARIANTS))
def test_every_broken_engine_variant_fails_the_check(variant: str) -> None:
    funnel, engine, invariant = VARIANTS[variant]

    report = check_funnel(funnel, engine=engine, examples=30, seed=7)

    assert not report.ok
    assert invariant in _broken(report), report.text()


@pytest.mark.parametrize("variant", list(VARIANTS))
def test_the_exhaustive_phase_alone_catches_every_variant(variant: str) -> None:
    funnel, engine, _ = VARIANTS[variant]

    assert check_paths(funnel, engine).violations


@pytest.mark.parametrize("variant", list(VARIANTS))
def test_the_stateful_phase_alone_catches_every_variant(variant: str) -> None:
    funnel, engine, _ = VARIANTS[variant]

    assert check_stateful(funnel, engine, examples=60, seed=11).violations


def test_a_patched_machine_fails_the_definition_check() -> None:
    report = check_funnel(REOPENABLE_LOGIN, stateful=False)

    assert TERMINALS_FINAL in {violation.invariant for violation in report.definition}


def test_the_counterexample_is_shrunk_to_one_short_run() -> None:
    engine = Engine(client=DoubleTerminalClient)

    violation = check_stateful(LOGIN, engine, examples=60, seed=3).violations[0]

    assert len(violation.scripts) == 1
    assert len(violation.scripts[0].actions) <= 1


def test_a_counterexample_replays_to_the_same_violation() -> None:
    engine = Engine(client=DoubleTerminalClient)
    violation = check_stateful(LOGIN, engine, examples=60, seed=3).violations[0]

    assert violation.invariant in replay(LOGIN, violation.scripts, engine)
    assert replay(LOGIN, violation.scripts) == []
