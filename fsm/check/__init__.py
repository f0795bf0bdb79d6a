"""Property-based checks of a funnel: its definition, every path, and Hypothesis-driven runs.

In the manner of @xstate/test, the checks read the funnel's real machine, generate runs from it
and drive each through the real engine (``FlowRun``, ``FlowTracker``, ``track_event``) into an
``authfunnel.fsm.testing.RecordingClient`` with a ``FakeClock``, checking after every action
that each start has exactly one terminal event at the step in force, durations match the clock,
sequences increase, base properties cannot be overridden, every event fits the tracking plan and
no exception message, email, token or path leaks into a property::

    from authfunnel.fsm.check import check_funnel

    def test_my_funnel():
        check_funnel(MY_FUNNEL).assert_ok()

Given ``executors`` (see ``Executors``: one per step and per way of ending, as @xstate/test
has one per event), the check also drives the real application along every path and compares
the events it really emitted with the model's: a double emit, a missing terminal event or a
skipped step in the application's own code is a violation with a replay.

Hypothesis (for the stateful phase) and jsonschema (for the tracking plan) are imported only
when a check runs, so ``import authfunnel.fsm.check`` stays as cheap as ``import authfunnel.fsm``.
"""

from __future__ import annotations

import random
from typing import Any, Final

from authfunnel.fsm._declaration import Funnel
from authfunnel.fsm.check._app import Executors, NotDriven, check_app, run_app_phase
from authfunnel.fsm.check._definition import check_definition
from authfunnel.fsm.check._engine import Engine, Moment
from authfunnel.fsm.check._paths import check_paths, simple_paths
from authfunnel.fsm.check._replay import replay
from authfunnel.fsm.check._report import (
    CheckReport,
    Coverage,
    FunnelCheckFailed,
    PhaseResult,
    Ratio,
    Violation,
    replay_code,
)
from authfunnel.fsm.check._script import (
    SECRET_FRAGMENTS,
    Advance,
    CheckProbeError,
    End,
    Ending,
    ExitingProbeError,
    Poke,
    Script,
    Tick,
)

DEFAULT_EXAMPLES: Final = 100
DEFAULT_STEPS: Final = 25

__all__ = [
    "DEFAULT_EXAMPLES",
    "SECRET_FRAGMENTS",
    "Advance",
    "CheckProbeError",
    "CheckReport",
    "Coverage",
    "End",
    "Ending",
    "Engine",
    "Executors",
    "ExitingProbeError",
    "FunnelCheckFailed",
    "Moment",
    "NotDriven",
    "PhaseResult",
    "Poke",
    "Ratio",
    "Script",
    "Tick",
    "Violation",
    "check_app",
    "check_definition",
    "check_funnel",
    "check_paths",
    "check_stateful",
    "replay",
    "replay_code",
    "simple_paths",
]


def check_funnel(
    funnel: Funnel,
    *,
    examples: int = DEFAULT_EXAMPLES,
    seed: int | None = None,
    engine: Engine | None = None,
    stateful: bool = True,
    executors: Executors[Any] | None = None,
) -> CheckReport:
    """Check ``funnel``: definition, exhaustive paths, then ``examples`` Hypothesis examples;
    with ``executors``, then the application driven along every path (phase ``app``).

    The Hypothesis and application phases run only if the others found nothing (their
    counterexample is already minimal, and a broken engine would fail every app run).
    ``seed`` makes the stateful phase reproducible (one is drawn and reported when omitted);
    ``engine`` swaps engine pieces, which is how the tests prove each check catches a broken
    engine. Never raises for what it finds: see ``CheckReport.ok`` and ``assert_ok()``.
    """
    engine = engine or Engine()
    seed = random.SystemRandom().randrange(2**32) if seed is None else seed
    definition = check_definition(funnel)
    phases = [check_paths(funnel, engine)]
    notes: list[str] = []
    if stateful and examples > 0:
        if definition or phases[0].violations:
            # The exhaustive counterexample is already the shortest; don't pay for shrinking.
            notes.append("stateful phase skipped: the funnel already failed")
        else:
            phases.append(check_stateful(funnel, engine, examples=examples, seed=seed))
    if executors is not None:
        if definition or any(phase.violations for phase in phases):
            notes.append("app phase skipped: the funnel already failed")
        else:
            app, skipped = run_app_phase(funnel, executors, engine)
            phases.append(app)
            if skipped:
                notes.append(f"app phase: {skipped} runs the executors could not drive")
    return CheckReport(str(funnel.flow), definition, tuple(phases), seed=seed, notes=tuple(notes))


def check_stateful(
    funnel: Funnel,
    engine: Engine | None = None,
    *,
    examples: int = DEFAULT_EXAMPLES,
    seed: int | None = None,
    steps: int = DEFAULT_STEPS,
    steer: bool = True,
) -> PhaseResult:
    """The Hypothesis phase alone (see ``_stateful``)."""
    from authfunnel.fsm.check._stateful import check_stateful as run

    return run(funnel, engine, examples=examples, seed=seed, steps=steps, steer=steer)
