"""What the runs of one phase share: the funnel, the engine, coverage and the last sequence."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from collections.abc import Set as AbstractSet
from typing import Any

from authfunnel.fsm._base import BASE_PROPERTY_KEYS, cli_version, invocation_id
from authfunnel.fsm._catalog import PropertyValue
from authfunnel.fsm._declaration import Funnel
from authfunnel.fsm._machine import COMPLETE, COMPLETED
from authfunnel.fsm.check._engine import Engine
from authfunnel.fsm.check._graph import MachineGraph
from authfunnel.fsm.check._report import Coverage, Ratio


class Context:
    """What the runs of one phase share: the funnel, the engine, coverage, the last sequence."""

    def __init__(self, funnel: Funnel, engine: Engine) -> None:
        self.funnel = funnel
        self.engine = engine
        self.graph = MachineGraph.of(funnel)
        self.completing = frozenset(
            s for s, t, d in self.graph.transitions if t == COMPLETE and d == COMPLETED
        )
        self.last_sequence = 0
        self.states: set[str] = set()
        self.transitions: set[tuple[str, str, str]] = set()
        self.pairs: set[tuple[str, str]] = set()
        self.runs = 0
        self.depths: list[int] = []
        self.completed_runs = 0
        self._truth: dict[str, PropertyValue] | None = None

    @property
    def truth(self) -> Mapping[str, PropertyValue]:
        """The base properties the engine must report in this process (but the sequence)."""
        if self._truth is None:
            from authfunnel.fsm._base import _current

            self._truth = {
                **_current().static,
                "invocation_id": invocation_id(),
                "cli_version": cli_version(),
            }
            assert set(self._truth) == BASE_PROPERTY_KEYS - {"sequence"}
        return self._truth

    def coverage(self) -> Coverage:
        graph = self.graph
        all_moves = set(graph.transitions)
        pairs = graph.terminal_pairs()
        return Coverage(
            states=_ratio(set(graph.states), self.states, str),
            transitions=_ratio(all_moves, self.transitions, lambda m: f"{m[0]} -{m[1]}-> {m[2]}"),
            terminal_pairs=_ratio(pairs, self.pairs, lambda p: f"{p[0]} at {p[1]}"),
        )


def _ratio(total: AbstractSet[Any], seen: AbstractSet[Any], name: Callable[[Any], str]) -> Ratio:
    missing = sorted(name(item) for item in total - seen)
    return Ratio(len(total & seen), len(total), tuple(missing))
