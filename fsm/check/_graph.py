"""A funnel's ``transitions`` machine read back as a plain graph: what the checks explore.

Reading the real machine (not the declaration) is the point: a machine patched or built wrong
is what the definition checks and the coverage figures must see.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

from authfunnel.fsm._declaration import closure
from authfunnel.fsm._machine import IDLE, START, TERMINAL_STATES

if TYPE_CHECKING:
    from authfunnel.fsm._declaration import Funnel

Transition = tuple[str, str, str]  # (source, trigger, dest)


@dataclass(frozen=True)
class MachineGraph:
    """States, final flags and transitions of one funnel's machine."""

    initial: str
    states: tuple[str, ...]
    finals: frozenset[str]
    transitions: tuple[Transition, ...]
    steps: tuple[str, ...]

    @classmethod
    def of(cls, funnel: Funnel) -> MachineGraph:
        machine = funnel.machine
        transitions: list[Transition] = []
        for trigger, event in machine.events.items():
            for source, moves in event.transitions.items():
                transitions.extend((source, trigger, str(move.dest)) for move in moves)
        states = tuple(machine.states)
        finals = frozenset(name for name, state in machine.states.items() if state.final)
        steps = tuple(s for s in states if s != IDLE and s not in TERMINAL_STATES)
        return cls(str(machine.initial), states, finals, tuple(transitions), steps)

    def targets(self, state: str) -> Iterator[str]:
        """States one transition away from ``state``."""
        return (dest for source, _, dest in self.transitions if source == state)

    def step_successors(self, step: str) -> tuple[str, ...]:
        """Steps one step-trigger away from ``step`` (terminal and start moves excluded)."""
        return tuple(
            dest
            for source, trigger, dest in self.transitions
            if source == step and dest in self.steps and trigger == dest
        )

    def first_step(self) -> str | None:
        """Where ``start`` leads from the initial state (None if it leads nowhere or twice)."""
        dests = [d for s, t, d in self.transitions if s == self.initial and t == START]
        return dests[0] if len(dests) == 1 else None

    def terminal_pairs(self) -> frozenset[tuple[str, str]]:
        """Every (terminal state, step) pair a run can end with."""
        return frozenset(
            (dest, source)
            for source, _, dest in self.transitions
            if dest in TERMINAL_STATES and source in self.steps
        )

    def reachable(self, start: Iterable[str]) -> set[str]:
        """States reachable from ``start`` (included)."""
        return closure(start, self.targets)

    def reaching(self, goal: str) -> set[str]:
        """States from which ``goal`` is reachable (``goal`` included)."""
        return closure([goal], lambda s: (src for src, _, d in self.transitions if d == s))
