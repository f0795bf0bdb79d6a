"""Diagrams of a funnel, drawn by ``transitions``' own graph support from the funnel's machine.

The states and transitions are read off ``funnel.machine`` (the machine that runs the flow),
so a diagram cannot drift from the runtime. ``transitions``' ``GraphMachine`` renders them:
its ``mermaid`` engine needs no binaries; its ``graphviz`` engine writes DOT, which Graphviz's
``dot`` turns into SVG or PNG. Optional traffic counts become node and edge labels, and edge
widths by volume.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Final, Literal

from authfunnel.cli.app import CliError
from authfunnel.fsm import Funnel

Engine = Literal["mermaid", "graphviz"]
MERMAID: Final = "mermaid"
GRAPHVIZ: Final = "graphviz"
_TERMINAL_STYLE: Final = "terminal"
_MAX_PENWIDTH: Final = 8.0


@dataclass(frozen=True)
class Traffic:
    """Recorded traffic to draw on a diagram: flows per state and per edge (source, dest)."""

    states: Mapping[str, int] = field(default_factory=dict)
    edges: Mapping[tuple[str, str], int] = field(default_factory=dict)


@dataclass(frozen=True)
class MachineShape:
    """The states (name, is final) and transitions (trigger, source, dest) of a machine."""

    states: tuple[tuple[str, bool], ...]
    transitions: tuple[tuple[str, str, str], ...]
    initial: str


def machine_shape(funnel: Funnel) -> MachineShape:
    """What ``funnel.machine`` allows, read from the machine itself (not the declaration)."""
    machine = funnel.machine
    states = tuple((name, bool(state.final)) for name, state in machine.states.items())
    transitions = tuple(
        (trigger, source, transition.dest or source)
        for trigger, event in machine.events.items()
        for source, choices in event.transitions.items()
        for transition in choices
    )
    return MachineShape(states=states, transitions=transitions, initial=str(machine.initial))


def render_source(funnel: Funnel, engine: Engine, traffic: Traffic | None = None) -> str:
    """The diagram as text: Mermaid ``stateDiagram-v2`` or Graphviz DOT."""
    source = str(_graph(funnel, engine, traffic).source)
    if engine == MERMAID:
        # transitions writes the bare title as front matter; Mermaid reads YAML `title: ...`.
        lines = source.split("\n")
        if len(lines) > 2 and lines[0] == lines[2] == "---":
            lines[1] = f"title: {lines[1]}"
        source = "\n".join(lines)
    return source


def render_image(funnel: Funnel, image_format: str, traffic: Traffic | None = None) -> bytes:
    """The diagram as SVG or PNG bytes, laid out by Graphviz's ``dot``."""
    import graphviz

    graph = _graph(funnel, GRAPHVIZ, traffic)
    try:
        data: bytes = graph.pipe(format=image_format)
    except graphviz.ExecutableNotFound as exc:
        raise CliError(
            f"drawing {image_format.upper()} needs Graphviz's 'dot', which is not installed",
            hint="install Graphviz (Debian/Ubuntu: apt-get install graphviz; macOS: brew install "
            "graphviz), or use --format mermaid, which needs nothing",
        ) from exc
    except graphviz.CalledProcessError as exc:
        raise CliError(f"Graphviz's 'dot' failed: {exc}") from exc
    return data


def _graph(funnel: Funnel, engine: Engine, traffic: Traffic | None) -> Any:
    if engine == GRAPHVIZ:
        # Without the graphviz package transitions falls back to Mermaid, silently: fail
        # instead, so the diagram extra is named (the dispatcher maps the missing module).
        import graphviz  # noqa: F401
    from transitions.extensions import GraphMachine

    shape = machine_shape(funnel)
    labels = _edge_labels(shape, traffic)
    machine = GraphMachine(
        states=[name for name, _ in shape.states],
        transitions=[
            {"trigger": trigger, "source": source, "dest": dest, "label": labels[source, dest]}
            for trigger, source, dest in shape.transitions
        ],
        initial=shape.initial,
        auto_transitions=False,
        title=f"{funnel.flow} funnel",
        graph_engine=engine,
    )
    for state in machine.states.values():
        setattr(state, "label", _state_label(state.name, traffic))  # noqa: B010 (read by markup)
    machine._needs_update = True  # markup re-reads the states, now labelled
    # Class-level defaults are shared by every GraphMachine: change a copy.
    styles: Any = copy.deepcopy(machine.style_attributes)
    styles["node"][_TERMINAL_STYLE] = {"peripheries": "2", "fillcolor": "gray95"}
    machine.style_attributes = styles
    graph = machine.model_graphs[id(machine)]
    # The machine is its own model and sits in `idle`: draw no state as the active one.
    graph.reset_styling()
    for name, final in shape.states:
        if final:
            graph.set_node_style(name, _TERMINAL_STYLE)
    if traffic is not None:
        _style_traffic(machine, graph, shape, traffic)
    return graph.get_graph(title=f"{funnel.flow} funnel")


def _edge_labels(shape: MachineShape, traffic: Traffic | None) -> dict[tuple[str, str], str]:
    labels: dict[tuple[str, str], str] = {}
    for trigger, source, dest in shape.transitions:
        label = trigger
        if traffic is not None and (source, dest) in traffic.edges:
            label = f"{trigger} ({traffic.edges[source, dest]:,})"
        labels[source, dest] = label
    return labels


def _state_label(name: str, traffic: Traffic | None) -> str:
    if traffic is None or name not in traffic.states:
        return name
    return f"{name} ({traffic.states[name]:,})"


def _style_traffic(machine: Any, graph: Any, shape: MachineShape, traffic: Traffic) -> None:
    """Edge widths in proportion to the busiest edge."""
    busiest = max(traffic.edges.values(), default=0)
    for _, source, dest in shape.transitions:
        volume = traffic.edges.get((source, dest))
        if not volume or not busiest:
            continue
        width = 1.0 + (_MAX_PENWIDTH - 1.0) * volume / busiest
        style = f"volume_{width:.1f}".replace(".", "_")
        styles: Any = machine.style_attributes
        styles["edge"][style] = {"penwidth": f"{width:.1f}"}
        graph.custom_styles["edge"][source][dest] = style
