"""A funnel's machine drawn in the terminal with rich: a tree of states from ``idle``.

Each branch is a transition (its trigger, and the traffic through it when counts are given);
a state already drawn higher up is referenced rather than expanded again, so loops end.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from authfunnel.cli.diagram._graph import SKIP_NOTE, Traffic, event_names, machine_shape
from authfunnel.fsm import Funnel

if TYPE_CHECKING:
    from rich.tree import Tree


def machine_tree(funnel: Funnel, traffic: Traffic | None = None) -> Tree:
    """A rich ``Tree`` of ``funnel``'s machine, terminal states marked, with the events the
    start and each terminal state emit."""
    from rich.markup import escape
    from rich.tree import Tree

    shape = machine_shape(funnel)
    events = event_names(funnel)
    final = {name for name, is_final in shape.states if is_final}
    outgoing: dict[str, list[tuple[str, str]]] = {name: [] for name, _ in shape.states}
    for trigger, source, dest in shape.transitions:
        outgoing[source].append((trigger, dest))

    def label(state: str) -> str:
        text = f"[bold]{state}[/]" if state not in final else f"[italic]({state})[/]"
        if state in events.states:
            text += f" [green]{escape(events.states[state])}[/]"
        if traffic is not None and state in traffic.states:
            text += f" [cyan]{traffic.states[state]}[/]"
        return text

    root = Tree(f"{label(shape.initial)}  [dim]{funnel.flow} funnel[/]")
    drawn = {shape.initial}
    pending: list[tuple[Tree, str]] = [(root, shape.initial)]
    while pending:
        node, state = pending.pop(0)
        for trigger, dest in outgoing[state]:
            volume = traffic.edges.get((state, dest)) if traffic is not None else None
            skip = f" {SKIP_NOTE}" if (state, dest) in funnel.skips else ""
            if state == shape.initial and events.start is not None:
                skip += f" [green]emits {escape(events.start)}[/]"
            via = f"[dim]─{trigger}{skip}{f' ({volume})' if volume is not None else ''}→[/] "
            if dest in drawn and dest not in final:
                node.add(f"{via}[dim]{dest} (above)[/]")
                continue
            child = node.add(via + label(dest))
            if dest not in drawn:
                drawn.add(dest)
                pending.append((child, dest))
    return root
