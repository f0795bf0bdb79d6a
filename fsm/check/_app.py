"""The application phase: the funnel's paths driven through the real application's own code.

In the manner of @xstate/test, where each event of the model has an executor that performs it
on the real application and each state a test: the application under check supplies
``Executors``, an executor per step (what makes the app move into that step: an answer to a
prompt, a server's reply) and one per way of ending (what makes it end there: input that
ends, a fault, an answer that declines). For every simple path of the funnel and every ending
it has an executor for, the phase starts a fresh session, runs the step executors in order and
then the ending's (which, for an application driven by its input, is where it runs), then
reads the events the application really emitted (through its real client: its outbox, or any
sink it offers) and compares them with what the model emits for the same run: one start, one
terminal event of the right kind at the step in force, each valid in the tracking plan. A
double emit, a missing terminal event or a step the application skipped is a violation whose
counterexample is the shortest run (paths are tried shortest first) and replays as Python.

Executors must make the application do the work: an executor that calls the tracker itself
checks nothing but the engine, which the other phases already do.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Final, Generic, TypeVar

from authfunnel.fsm._catalog import Event
from authfunnel.fsm._declaration import Funnel
from authfunnel.fsm._machine import TERMINAL_STATES
from authfunnel.fsm.check import _invariants as inv
from authfunnel.fsm.check._context import Context
from authfunnel.fsm.check._engine import Engine
from authfunnel.fsm.check._graph import MachineGraph
from authfunnel.fsm.check._paths import default_properties, phase_result, simple_paths
from authfunnel.fsm.check._report import PhaseResult, Violation
from authfunnel.fsm.check._run import Found, LiveRun
from authfunnel.fsm.check._script import Action, Advance, End, Ending, Script

Session = TypeVar("Session")
EXECUTOR_RAISED: Final = "executor-raised"
STATE_TEST: Final = "state-test"
APP_PHASE: Final = "app"
# An illegal move is the engine's concern: no application is driven into one on purpose.
DRIVABLE_ENDINGS: Final = frozenset(Ending) - {Ending.ILLEGAL}


class NotDriven(Exception):  # a signal from an executor, not an error
    """Raised by an executor: the application cannot be driven this way from where it is.

    The run is skipped and counted in the report's notes; coverage shows what was never run.
    """


@dataclass(frozen=True)
class Executors(Generic[Session]):
    """How to drive the real application through runs of a funnel.

    ``start()`` makes a fresh session for one run (a temporary home, the input to type);
    ``steps[step](session)`` makes the application move into ``step`` (every step after the
    first; a run starts at the first by itself); ``endings[ending](session)`` makes it end
    there that way, and runs it if it has not run yet; ``emitted(session)`` returns what the
    application really emitted: ``Event``s, or Segment messages (``{"event": ...,
    "properties": ...}``, as ``Telemetry.pending()`` returns them). Events of other flows
    (the command lifecycle) are ignored. Any executor may raise ``NotDriven``.
    ``tests[state](session)``, optional, is @xstate/test's test per state: after a run the
    model ends in ``state`` (``completed``, ``aborted`` or ``failed``), it asserts what the
    person saw then (an exit code, a message); an ``AssertionError`` is a violation.
    """

    start: Callable[[], Session]
    steps: Mapping[str, Callable[[Session], object]]
    endings: Mapping[Ending, Callable[[Session], object]]
    emitted: Callable[[Session], Iterable[Event | Mapping[str, Any]]]
    tests: Mapping[str, Callable[[Session], object]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        unknown = [str(ending) for ending in self.endings if ending not in DRIVABLE_ENDINGS]
        if unknown:
            raise ValueError(f"no executor can drive these endings: {unknown}")
        states = sorted(set(self.tests) - set(TERMINAL_STATES))
        if states:
            raise ValueError(f"state tests are for {list(TERMINAL_STATES)}, not {states}")


def check_app(
    funnel: Funnel, executors: Executors[Any], engine: Engine | None = None
) -> PhaseResult:
    """Drive every path the executors reach through the application; compare with the model."""
    return run_app_phase(funnel, executors, engine)[0]


def run_app_phase(
    funnel: Funnel, executors: Executors[Any], engine: Engine | None = None
) -> tuple[PhaseResult, int]:
    """``check_app``, and how many runs the executors could not drive (``NotDriven``)."""
    unknown = sorted(set(executors.steps) - set(funnel.step_names))
    if unknown:
        raise ValueError(f"{funnel.flow}: executors for steps it does not declare: {unknown}")
    context = Context(funnel, engine or Engine())
    violations: list[Violation] = []
    skipped = 0
    for script in app_scripts(context.graph, executors):
        found = drive(context, executors, script)
        if found is None:
            skipped += 1
        elif found:
            invariant, message = found[0]
            broken = tuple(dict.fromkeys(i for i, _ in found))
            violations.append(Violation(invariant, message, (script,), broken))
    return phase_result(APP_PHASE, context, violations), skipped


def app_scripts(graph: MachineGraph, executors: Executors[Any]) -> Iterator[Script]:
    """A run per simple path whose steps all have executors, times each ending that has one."""
    for path in simple_paths(graph):
        if all(step in executors.steps for step in path[1:]):
            walk: list[Action] = [Advance(step) for step in path[1:]]
            for ending in Ending:
                if ending in executors.endings:
                    yield Script((*walk, End(ending)), driven=True)


def drive(context: Context, executors: Executors[Any], script: Script) -> list[Found] | None:
    """Run ``script`` through the application, then the model; what differs (None: skipped)."""
    try:
        session = executors.start()
        for action in script.actions:
            if isinstance(action, Advance):
                executors.steps[action.step](session)
            elif isinstance(action, End):
                executors.endings[action.ending](session)
        emitted = [_event(item) for item in executors.emitted(session)]
    except NotDriven:
        return None
    except Exception as error:  # the application's own code may raise anything: report it
        return [(EXECUTOR_RAISED, f"{script.describe()}: {type(error).__name__}: {error}")]
    # The model's run, through the real engine: what the app must emit; it counts as coverage.
    model = LiveRun(context, properties=default_properties(context.funnel))
    for action in script.actions:
        model.apply(action)
    model.finish()
    funnel = context.funnel
    names = funnel.events.names
    mine = [e for e in emitted if e.name in names and e.properties.get("flow") == funnel.flow]
    found = compare(funnel, model.recorder.events, mine, model.step)
    test = executors.tests.get(model.state)
    if found or test is None:
        return found
    try:
        test(session)
    except AssertionError as failed:
        said = (str(failed) or "assert").splitlines()[0]  # pytest's detail follows the line
        return [(STATE_TEST, f"{script.describe()}: the {model.state} test failed: {said}")]
    return []


def compare(
    funnel: Funnel, expected: list[Event], got: list[Event], step: str | None
) -> list[Found]:
    """What the application's events break, against those of the model's run ending at
    ``step`` (empty: the same events, each valid in the tracking plan)."""
    if [_shape(e) for e in got] == [_shape(e) for e in expected]:
        return [(inv.TRACKING_PLAN, m) for e in got for m in inv.tracking_plan(e, funnel)]
    seen = _names(got)
    wanted = f"the model emits {_names(expected)}"
    start = expected[0].name if expected else None
    starts = sum(e.name == start for e in got)
    ends = [e for e in got if e.name != start]
    if starts > 1:
        return [(inv.SINGLE_START, f"the app emitted {seen}: {start!r} {starts} times")]
    if len(ends) > 1:
        return [(inv.ONE_TERMINAL, f"the app emitted {seen}: {len(ends)} terminal events")]
    if starts == 1 and not ends and len(expected) > 1:
        return [(inv.ONE_TERMINAL, f"the app emitted {seen}: no terminal event; {wanted}")]
    at = ends[0].properties.get("step") if ends else None
    if at is not None and at != step:
        return [
            (
                inv.STEP_IN_FORCE,
                f"the app's run ended at step {at!r}, the model's at {step!r} (a step skipped "
                f"or taken out of turn): the app emitted {seen}",
            )
        ]
    return [(inv.OUTCOME, f"the app emitted {seen}; {wanted}")]


def _shape(event: Event) -> tuple[str, object, object]:
    """What the application must match: the event, the step it names, the abort reason."""
    return (event.name, event.properties.get("step"), event.properties.get("reason"))


def _names(events: list[Event]) -> str:
    shown = [
        event.name + (f" at {event.properties['step']}" if "step" in event.properties else "")
        for event in events
    ]
    return "[" + ", ".join(shown) + "]"


def _event(item: Event | Mapping[str, Any]) -> Event:
    if isinstance(item, Event):
        return item
    return Event(str(item["event"]), dict(item.get("properties") or {}))
