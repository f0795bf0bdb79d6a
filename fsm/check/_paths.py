"""The exhaustive phase: every simple path from the start, times every way of ending there.

Paths come from the machine's step moves (see ``MachineGraph``), in the manner of
@xstate/test's simple paths; each is run through the real engine and checked after every
action. The first failing run of the fewest actions is the counterexample.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from enum import StrEnum
from typing import Final

from authfunnel.fsm._catalog import PropertyValue
from authfunnel.fsm._declaration import Funnel
from authfunnel.fsm.check._context import Context
from authfunnel.fsm.check._engine import Engine
from authfunnel.fsm.check._graph import MachineGraph
from authfunnel.fsm.check._report import PhaseResult, Violation
from authfunnel.fsm.check._run import LiveRun
from authfunnel.fsm.check._script import (
    ERROR_KINDS,
    Action,
    Advance,
    End,
    Ending,
    Poke,
    Script,
    Tick,
)

MAX_PATHS: Final = 2000
STEP_SECONDS: Final = 1.2345
END_SECONDS: Final = 0.125


def simple_paths(graph: MachineGraph, limit: int = MAX_PATHS) -> list[tuple[str, ...]]:
    """Every path from the first step that visits no step twice (each prefix counts).

    Plus, for each move back to an earlier step, one path that ends by taking it.
    """
    first = graph.first_step()
    if first is None:
        return []
    paths: list[tuple[str, ...]] = []
    pending: list[tuple[str, ...]] = [(first,)]
    while pending and len(paths) < limit:
        path = pending.pop()
        paths.append(path)
        for following in reversed(graph.step_successors(path[-1])):
            if following not in path:
                pending.append((*path, following))
    # A move back into a path (a retry loop) is on no simple path: add the shortest path to
    # its source followed by it, so every transition is still exercised.
    shortest: dict[str, tuple[str, ...]] = {}
    for path in sorted(paths, key=len):
        shortest.setdefault(path[-1], path)
    for source, path in shortest.items():
        paths += [(*path, back) for back in graph.step_successors(source) if back in path]
    return sorted(paths, key=lambda p: (len(p), p))


def endings() -> list[End]:
    """Every ending, with each kind of exception as its own ending."""
    result = [End(ending) for ending in Ending if ending is not Ending.EXCEPTION]
    return result + [End(Ending.EXCEPTION, error=name) for name in ERROR_KINDS]


def default_properties(funnel: Funnel) -> dict[str, PropertyValue]:
    """A valid value for each declared run property."""
    values: dict[str, PropertyValue] = {}
    for name, kind in funnel.properties.items():
        if kind is bool:
            values[name] = True
        elif kind is int:
            values[name] = 7
        elif isinstance(kind, type) and issubclass(kind, StrEnum):
            values[name] = next(iter(kind))
        else:
            values[name] = "check"
    return values


def pokes(graph: MachineGraph) -> list[str]:
    """Every trigger a finished run might be asked for."""
    return sorted({trigger for _, trigger, _ in graph.transitions} | set(graph.steps))


def scripts(funnel: Funnel, graph: MachineGraph) -> Iterator[Script]:
    """The exhaustive phase's runs, in order of length."""
    properties = default_properties(funnel)
    after_end = tuple(Poke(trigger) for trigger in pokes(graph))
    flip = itertools.cycle([False, True])
    for path in simple_paths(graph):
        walk: list[Action] = []
        for step in path[1:]:
            walk += [Tick(STEP_SECONDS), Advance(step)]
        for end in endings():
            actions = (*walk, Tick(END_SECONDS), end, *after_end)
            yield Script(actions, no_browser=next(flip), properties=properties)


def run_script(context: Context, script: Script) -> Violation | None:
    """Run ``script``; the first violation it shows, or None."""
    run = LiveRun(context, no_browser=script.no_browser, properties=script.properties)
    found = run.found
    for action in script.actions:
        if found:
            break
        found = run.apply(action)
    if not found:
        found = run.finish()
    if not found:
        return None
    done = Script(tuple(run.actions), script.no_browser, script.properties)
    invariant, message = found[0]
    return Violation(invariant, message, (done,), tuple(dict.fromkeys(i for i, _ in found)))


def check_paths(funnel: Funnel, engine: Engine | None = None) -> PhaseResult:
    """Run the exhaustive phase for ``funnel``."""
    context = Context(funnel, engine or Engine())
    violations: list[Violation] = []
    for script in scripts(funnel, context.graph):
        violation = run_script(context, script)
        if violation is not None:
            violations.append(violation)
    return phase_result("exhaustive", context, violations)


def phase_result(
    name: str, context: Context, violations: list[Violation], examples: int = 0
) -> PhaseResult:
    depths = context.depths
    deepest = max(depths, default=0)
    return PhaseResult(
        name=name,
        runs=context.runs,
        coverage=context.coverage(),
        violations=tuple(sorted(violations, key=lambda v: v.steps)),
        max_depth=deepest,
        deepest_runs=sum(depth == deepest for depth in depths),
        completed_runs=context.completed_runs,
        examples=examples,
    )
