"""Diagrams of a funnel, drawn by ``transitions``' own graph support from the funnel's machine.

The states and transitions are read off ``funnel.machine`` (the machine that runs the flow),
so a diagram cannot drift from the runtime. ``transitions``' ``GraphMachine`` renders them:
its ``mermaid`` engine needs no binaries; its ``graphviz`` engine writes DOT, which Graphviz's
``dot`` turns into SVG or PNG. Optional traffic counts become node and edge labels, and edge
widths by volume. In Graphviz drawings abort and fail edges are dashed and dotted, in their
own colours, and a legend says so; the layout runs top to bottom so a funnel fits a page.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Final, Literal

from authfunnel.cli.app import CliError
from authfunnel.fsm import EventRole, Funnel

Engine = Literal["mermaid", "graphviz"]
MERMAID: Final = "mermaid"
GRAPHVIZ: Final = "graphviz"
_TERMINAL_STYLE: Final = "terminal"
_MAX_PENWIDTH: Final = 6.0
_LABEL_GAP: Final = "   "  # wider than half the widest edge
# How an edge into each final state is drawn (Graphviz): an ending that is not a success
# must not look like one, in colour or without it.
_ENDINGS: Final[Mapping[str, Mapping[str, str]]] = {
    "aborted": {"color": "darkorange3", "fontcolor": "darkorange3", "style": "dashed"},
    "failed": {"color": "red3", "fontcolor": "red3", "style": "dotted", "arrowhead": "tee"},
}
_GOES_ON: Final[Mapping[str, str]] = {"color": "black", "fontcolor": "black", "style": "solid"}
# A move past a funnel's optional steps (login without an apps API): a way on, drawn apart.
_SKIPS: Final[Mapping[str, str]] = {"color": "gray40", "fontcolor": "gray40", "style": "dashed"}
SKIP_NOTE: Final = "(skips the optional steps)"
# Laid out top to bottom and no wider than this (points): the login funnel drawn left to
# right was 2043 pt wide.
MAX_WIDTH_PT: Final = 1000
_LAYOUT: Final = {"rankdir": "TB", "ranksep": "0.35", "nodesep": "0.3", "size": "13.8,40"}


@dataclass(frozen=True)
class Volume:
    """Flows through a state or an edge: exactly ``flows``; or, where steps are alternatives
    (``app_create`` / ``app_select``), at least ``flows`` of the ``shared`` flows that took
    one alternative or the other, since the events do not say which one a flow that went on
    took."""

    flows: int
    shared: int | None = None

    def __str__(self) -> str:
        if self.shared is None:
            return f"{self.flows:,}"
        return f"≥ {self.flows:,} of {self.shared:,}"


@dataclass(frozen=True)
class Traffic:
    """Recorded traffic to draw on a diagram: flows per state and per edge (source, dest)."""

    states: Mapping[str, Volume] = field(default_factory=dict)
    edges: Mapping[tuple[str, str], Volume] = field(default_factory=dict)

    @property
    def shared(self) -> bool:
        """Whether some count is a share of alternatives (the legend then explains '≥')."""
        volumes = [*self.states.values(), *self.edges.values()]
        return any(volume.shared is not None for volume in volumes)


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


@dataclass(frozen=True)
class EventNames:
    """What the funnel's declaration emits where: the event of its start, and of each final
    state (a final state with no event emits none: logout's)."""

    start: str | None
    states: Mapping[str, str]


_FINAL_ROLES: Final = (EventRole.COMPLETED, EventRole.ABORTED, EventRole.FAILED)


def event_names(funnel: Funnel) -> EventNames:
    """The events ``funnel`` emits, read from its declaration (``funnel.catalog``)."""
    start: str | None = None
    states: dict[str, str] = {}
    for name, spec in funnel.catalog.items():
        if spec.role in (EventRole.STARTED, EventRole.SOLE):
            start = name
        elif spec.role is EventRole.ENDED:  # one ending, whatever the outcome
            states.update({str(role): name for role in _FINAL_ROLES})
        else:
            states[str(spec.role)] = name
    return EventNames(start, states)


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
    # Graphviz: the count on a line of its own (DOT's escape); Mermaid: one line.
    apart = "\\n" if engine == GRAPHVIZ else " "
    events = event_names(funnel)
    labels = _edge_labels(shape, traffic, engine, frozenset(funnel.skips), events.start)
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
        label = _state_label(state.name, traffic, apart, events.states.get(state.name), engine)
        setattr(state, "label", label)  # noqa: B010 (read by markup)
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
    if engine == GRAPHVIZ or traffic is not None:
        _style_edges(
            machine, graph, shape, traffic, kinds=engine == GRAPHVIZ, skips=frozenset(funnel.skips)
        )
    drawn: Any = graph.get_graph(title=f"{funnel.flow} funnel")
    if engine == GRAPHVIZ:
        drawn.graph_attr.update(_LAYOUT)
        _add_legend(drawn, traffic, bool(funnel.skips))
    return drawn


def _edge_labels(
    shape: MachineShape,
    traffic: Traffic | None,
    engine: Engine,
    skips: frozenset[tuple[str, str]],
    start_event: str | None,
) -> dict[tuple[str, str], str]:
    """Each edge's trigger, the event the start emits, what a bypass of optional steps skips,
    and its count. In DOT each line is left-justified after a gap: dot sets a label just
    beside its edge, where a wide edge would run over the text."""
    labels: dict[tuple[str, str], str] = {}
    for trigger, source, dest in shape.transitions:
        lines = [trigger, SKIP_NOTE] if (source, dest) in skips else [trigger]
        if source == shape.initial and start_event is not None:
            lines.append(_literal(f"emits {start_event}", engine))
        if traffic is not None and (source, dest) in traffic.edges:
            lines.append(f"({traffic.edges[source, dest]})")
        if engine == GRAPHVIZ:
            labels[source, dest] = "".join(f"{_LABEL_GAP}{line}\\l" for line in lines)
        else:
            labels[source, dest] = " ".join(lines)
    return labels


def _state_label(
    name: str, traffic: Traffic | None, apart: str, event: str | None, engine: Engine
) -> str:
    between = apart if engine == GRAPHVIZ else " · "
    label = name if event is None else f"{name}{between}{_literal(event, engine)}"
    if traffic is None or name not in traffic.states:
        return label
    return f"{label}{apart}({traffic.states[name]})"


def _literal(text: str, engine: Engine) -> str:
    """``text`` (a declared event name: any printable text) shown as itself: DOT reads
    backslashes as escapes; Mermaid ends a label at a double quote and reads ``#...;`` as an
    entity."""
    if engine == GRAPHVIZ:
        return text.replace("\\", "\\\\")
    return text.replace("#", "#35;").replace('"', "#quot;")


def _style_edges(
    machine: Any,
    graph: Any,
    shape: MachineShape,
    traffic: Traffic | None,
    *,
    kinds: bool,
    skips: frozenset[tuple[str, str]],
) -> None:
    """Each edge drawn as what it is (with ``kinds``: goes on, skips optional steps, aborts,
    fails) and as wide as its traffic, in proportion to the busiest edge."""
    busiest = max(
        (volume.flows for volume in (traffic.edges if traffic else {}).values()), default=0
    )
    styles: Any = machine.style_attributes
    for _, source, dest in shape.transitions:
        volume = traffic.edges.get((source, dest)) if traffic is not None else None
        skip = (source, dest) in skips
        attributes = dict(_SKIPS if skip else _ENDINGS.get(dest, _GOES_ON)) if kinds else {}
        kind = "skips" if skip else dest if dest in _ENDINGS else "on"
        name = kind if kinds else "plain"
        if volume is not None and volume.flows and busiest:
            width = 1.0 + (_MAX_PENWIDTH - 1.0) * volume.flows / busiest
            attributes["penwidth"] = f"{width:.1f}"
            name += f"_volume_{width:.1f}".replace(".", "_")
        if attributes:
            styles["edge"][name] = attributes
            graph.custom_styles["edge"][source][dest] = name


def _add_legend(drawn: Any, traffic: Traffic | None, skips: bool) -> None:
    """A box beside the funnel: one sample edge per kind, and what the counts mean."""
    samples = {"goes on": _GOES_ON, "aborted": _ENDINGS["aborted"], "failed": _ENDINGS["failed"]}
    if skips:
        samples["skips optional steps"] = _SKIPS
    with drawn.subgraph(name="cluster_legend") as legend:
        legend.attr(label="legend", fontsize="10", color="gray60", style="rounded")
        legend.attr("node", shape="point", width="0.05", style="invis")
        for index, (kind, attributes) in enumerate(samples.items()):
            legend.edge(f"_legend_{index}a", f"_legend_{index}b", label=kind, **attributes)
        if traffic is not None:
            notes = ["counts: flows recorded", "width: in proportion to the flows"]
            if traffic.shared:
                notes.append("≥ n of m: at least n of the m flows through either alternative")
                notes.append("(the events do not say which one a flow that went on took)")
            legend.node(
                "_legend_notes",
                "\\l".join(notes) + "\\l",
                shape="plaintext",
                style="",
                fontsize="10",
            )
