"""The stateful phase: Hypothesis drives runs as a ``RuleBasedStateMachine``, steered deep.

Uniform rule choice rarely reaches a funnel's last steps (each step is as likely to end the
run as to advance it: measured on login, 4% of runs reach the last step), so moving on weighs
six times as much as ending, and ``target`` asks Hypothesis to favour examples whose runs go
deepest: about 40% of runs then reach the last step. (A second target, on distinct endings,
cost depth for no coverage gain.) A failing example is shrunk and its runs kept as the
counterexample. Hypothesis is imported here, only when this phase runs.
"""

from __future__ import annotations

from dataclasses import replace
from enum import StrEnum
from typing import TYPE_CHECKING, Any, Final

from authfunnel.fsm._declaration import Funnel
from authfunnel.fsm.check._context import Context
from authfunnel.fsm.check._engine import Engine
from authfunnel.fsm.check._paths import phase_result, pokes
from authfunnel.fsm.check._replay import replay
from authfunnel.fsm.check._report import PhaseResult, Violation
from authfunnel.fsm.check._run import Found, LiveRun
from authfunnel.fsm.check._script import (
    ERROR_KINDS,
    SECRET_FRAGMENTS,
    Advance,
    End,
    Ending,
    Poke,
    Script,
    Tick,
)

if TYPE_CHECKING:
    from hypothesis.strategies import SearchStrategy

CRASHED: Final = "check-crashed"
ADVANCE_WEIGHT: Final = 6  # against one for waiting and one for ending


class _Caught(Exception):
    """A violation found inside a Hypothesis example (shrunk, then re-raised to us)."""

    def __init__(self, violation: Violation) -> None:
        super().__init__(violation.message)
        self.violation = violation


def check_stateful(
    funnel: Funnel,
    engine: Engine | None = None,
    *,
    examples: int = 100,
    seed: int | None = None,
    steps: int = 40,
    steer: bool = True,
) -> PhaseResult:
    """Run ``examples`` Hypothesis examples of up to ``steps`` actions against ``funnel``.

    ``steer=False`` gives every action equal weight and no depth target (a baseline for
    measuring what steering buys).
    """
    import hypothesis
    from hypothesis import HealthCheck, Phase, Verbosity, settings
    from hypothesis.stateful import run_state_machine_as_test

    context = Context(funnel, engine or Engine())
    machine = _machine_class(context, steer)
    if seed is not None:
        machine = hypothesis.seed(seed)(machine)
    options = settings(
        max_examples=examples,
        stateful_step_count=steps,
        deadline=None,
        database=None,
        verbosity=Verbosity.quiet,
        report_multiple_bugs=False,
        suppress_health_check=list(HealthCheck),
        print_blob=False,
        phases=[Phase.explicit, Phase.reuse, Phase.generate, Phase.target, Phase.shrink],
    )
    violations: list[Violation] = []
    try:
        run_state_machine_as_test(machine, settings=options)
    except _Caught as caught:
        violations.append(_without_bystanders(context, caught.violation))
    except Exception as crash:  # a funnel's own code may raise anything: report, don't crash
        violations.append(Violation(CRASHED, f"{type(crash).__name__}: {crash}"))
    return phase_result("stateful", context, violations, examples=examples)


def _without_bystanders(context: Context, violation: Violation) -> Violation:
    """Drop earlier runs the violation does not need (Hypothesis cannot always remove them)."""
    scripts = violation.scripts
    for start in range(len(scripts) - 1, 0, -1):
        if violation.invariant in replay(context.funnel, scripts[start:], context.engine):
            return replace(violation, scripts=scripts[start:])
    return violation


def _machine_class(context: Context, steer: bool) -> type[Any]:
    from hypothesis import strategies as st
    from hypothesis import target
    from hypothesis.stateful import RuleBasedStateMachine, precondition, rule

    triggers = pokes(context.graph)
    properties = st.fixed_dictionaries(
        {name: _strategy(kind) for name, kind in context.funnel.properties.items()}
    )
    # A secret after arbitrary text, as real messages carry them; one text draw per message,
    # since text draws are the single largest cost of this phase.
    messages = st.tuples(st.text(max_size=16), st.sampled_from(SECRET_FRAGMENTS)).map(" ".join)
    ends = st.builds(
        End, st.sampled_from(list(Ending)), st.sampled_from(sorted(ERROR_KINDS)), messages
    )
    waits = st.floats(0, 600, allow_nan=False, allow_infinity=False)
    # Ending comes first so shrinking (towards the first choice) yields the shortest runs.
    choices = st.sampled_from(["end", "tick"] + ["onward"] * (ADVANCE_WEIGHT if steer else 1))

    class FunnelRuns(RuleBasedStateMachine):
        """Runs of one funnel, one after another, each checked after every action."""

        def __init__(self) -> None:
            super().__init__()
            self.finished: list[Script] = []
            self.live: LiveRun | None = None
            self.deepest = 0
            self.failed = False

        def _script(self) -> Script:
            live = self.live
            assert live is not None
            return Script(tuple(live.actions), live.no_browser, live.properties)

        def _check(self, found: list[Found]) -> None:
            live = self.live
            if live is not None:
                self.deepest = max(self.deepest, live.depth)
            if found:
                self.failed = True
                invariant, message = found[0]
                scripts = (*self.finished, self._script())
                broken = tuple(dict.fromkeys(i for i, _ in found))
                raise _Caught(Violation(invariant, message, scripts, broken))

        @precondition(lambda self: self.live is None or self.live.ended)
        @rule(no_browser=st.booleans(), values=properties)
        def start(self, no_browser: bool, values: dict[str, Any]) -> None:
            if self.live is not None:
                self.finished.append(self._script())
            self.live = LiveRun(context, no_browser=no_browser, properties=values)
            self._check(self.live.found)

        @precondition(lambda self: self.live is not None and not self.live.ended)
        @rule(choice=choices, wait=waits, pick=st.integers(0, 63), end=ends)
        def act(self, choice: str, wait: float, pick: int, end: End) -> None:
            live = self.live
            assert live is not None
            # Time passes before most actions, so durations are rarely trivially zero.
            if wait:
                self._check(live.apply(Tick(wait)))
            successors = live.successors()
            if choice == "end":
                action: Advance | End | Tick = end
            elif choice == "tick":
                action = Tick(wait)
            elif successors:
                action = Advance(successors[pick % len(successors)])
            else:
                action = End(Ending.RETURN)  # onward from a last step: the body returns
            self._check(live.apply(action))
            # A sound machine lists no move out of a terminal state; any it lists must be refused.
            if live.ended:
                for trigger in [t for s, t, _ in context.graph.transitions if s == live.state]:
                    self._check(live.apply(Poke(trigger)))

        @precondition(lambda self: self.live is not None and self.live.ended)
        @rule(trigger=st.sampled_from(triggers))
        def poke(self, trigger: str) -> None:
            assert self.live is not None
            self._check(self.live.apply(Poke(trigger)))

        def teardown(self) -> None:
            if self.live is not None and not self.failed:
                self._check(self.live.finish())
            if steer:
                target(float(self.deepest), label="depth")

    return FunnelRuns


def _strategy(kind: type) -> SearchStrategy[Any]:
    from hypothesis import strategies as st

    if kind is bool:
        return st.booleans()
    if kind is int:
        return st.integers(-(2**31), 2**31)
    if issubclass(kind, StrEnum):
        return st.sampled_from(list(kind))
    # Run properties are set by the program, never from user input: keep them plain words.
    return st.text(alphabet="abcdefghijklmnopqrstuvwxyz_", min_size=1, max_size=12)
