"""Definition checks, read off the funnel's real ``transitions`` machine.

The declaration is validated when it is made; these checks look at what was actually built
(a subclass or a patch can change it): one initial state with one way out, every step
reachable, every terminal state reachable from every step, and terminal states final.
"""

from __future__ import annotations

from typing import Final

from authfunnel.fsm._declaration import Funnel
from authfunnel.fsm._machine import IDLE, START, TERMINAL_STATES
from authfunnel.fsm.check._graph import MachineGraph
from authfunnel.fsm.check._report import Violation

ONE_INITIAL: Final = "one-initial-state"
REACHABLE: Final = "steps-reachable"
REACHES_TERMINALS: Final = "steps-reach-terminals"
TERMINALS_FINAL: Final = "terminals-final"
MATCHES_DECLARATION: Final = "machine-matches-declaration"


def check_definition(funnel: Funnel) -> tuple[Violation, ...]:
    """Every definition rule the funnel's machine breaks (empty when it is sound)."""
    graph = MachineGraph.of(funnel)
    found: list[Violation] = []
    found += _one_initial(funnel, graph)
    found += _reachable(graph)
    found += _reaches_terminals(graph)
    found += _terminals_final(graph)
    found += _matches_declaration(funnel, graph)
    return tuple(found)


def _one_initial(funnel: Funnel, graph: MachineGraph) -> list[Violation]:
    found = []
    if graph.initial != IDLE:
        found.append(Violation(ONE_INITIAL, f"initial state is {graph.initial!r}, not {IDLE!r}"))
    moves = [(t, d) for s, t, d in graph.transitions if s == graph.initial]
    if len(moves) != 1 or moves[0][0] != START:
        found.append(
            Violation(ONE_INITIAL, f"the initial state must have exactly one move, start: {moves}")
        )
    elif moves[0][1] != funnel.initial_step:
        found.append(
            Violation(
                ONE_INITIAL,
                f"start leads to {moves[0][1]!r}, the declaration starts at "
                f"{funnel.initial_step!r}",
            )
        )
    return found


def _reachable(graph: MachineGraph) -> list[Violation]:
    reached = graph.reachable([graph.initial])
    missing = [state for state in graph.states if state not in reached]
    if not missing:
        return []
    return [Violation(REACHABLE, f"unreachable from {graph.initial!r}: {', '.join(missing)}")]


def _reaches_terminals(graph: MachineGraph) -> list[Violation]:
    found = []
    for terminal in TERMINAL_STATES:
        if terminal not in graph.states:
            found.append(Violation(REACHES_TERMINALS, f"the machine has no {terminal!r} state"))
            continue
        reaching = graph.reaching(terminal)
        stuck = [step for step in graph.steps if step not in reaching]
        if stuck:
            found.append(
                Violation(REACHES_TERMINALS, f"can never reach {terminal}: {', '.join(stuck)}")
            )
    return found


def _terminals_final(graph: MachineGraph) -> list[Violation]:
    found = []
    for terminal in TERMINAL_STATES:
        if terminal in graph.states and terminal not in graph.finals:
            found.append(Violation(TERMINALS_FINAL, f"{terminal!r} is not marked final"))
        exits = [f"{t} -> {d}" for s, t, d in graph.transitions if s == terminal]
        if exits:
            found.append(
                Violation(TERMINALS_FINAL, f"{terminal!r} has moves out: {', '.join(exits)}")
            )
    extra = sorted(graph.finals - set(TERMINAL_STATES))
    if extra:
        found.append(Violation(TERMINALS_FINAL, f"non-terminal states marked final: {extra}"))
    return found


def _matches_declaration(funnel: Funnel, graph: MachineGraph) -> list[Violation]:
    declared = set(funnel.edges())
    built = {(s, d) for s, t, d in graph.transitions if s in graph.steps and d in graph.steps}
    if set(graph.steps) != set(funnel.step_names) or declared != built:
        extra = sorted(built - declared)
        absent = sorted(declared - built)
        return [
            Violation(
                MATCHES_DECLARATION,
                f"the machine's step moves differ from the declaration: extra {extra}, "
                f"missing {absent}",
            )
        ]
    return []
