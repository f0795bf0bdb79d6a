"""Funnel declarations: a flow's steps and their allowed order, as data, validated when declared.

One declaration drives everything: the ``transitions`` machine that runs it, the diagram, the
step order of a report, the paths a check explores and the tracking plan. ``transitions``
itself only checks state names lazily, so the checks below run when the funnel is declared::

    LOGIN = Funnel(
        flow=Flow.LOGIN,
        steps={
            Step.BROWSER_WAIT: [Step.CODE_EXCHANGE],
            Step.CODE_EXCHANGE: [],
        },
    )

The first step is where a run starts; a run may complete from any step without successors
(or from those named in ``completes_from``). ``optional`` names one segment of steps that a run
may bypass as a whole (login's app steps, which run only when there is an apps API): the
machine also allows the move from the segment's predecessors straight to what follows it, a
run that takes it is marked ``skipped``, and the report's stages still count the segment.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from functools import cached_property
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, Final

from authfunnel.fsm._base import BASE_PROPERTY_KEYS
from authfunnel.fsm._catalog import SNAKE_CASE, EventSpec, JSONSchema, PropertySpec
from authfunnel.fsm._emitters import AUTH_EVENTS, CommandEvents
from authfunnel.fsm._errors import DefinitionError
from authfunnel.fsm._machine import (
    ABORT,
    COMPLETE,
    FAIL,
    IDLE,
    START,
    TERMINAL_STATES,
    build_machine,
)
from authfunnel.fsm._run_scope import FlowRun
from authfunnel.fsm._tracker import FlowTracker, FunnelEvents

if TYPE_CHECKING:
    from transitions import Machine

    from authfunnel.fsm._catalog import PropertyValue
    from authfunnel.fsm._client import TelemetryClient
    from authfunnel.fsm._tracker import Clock

# Names transitions binds onto a model, or that our own states and triggers use.
_RESERVED: Final = frozenset(
    {IDLE, *TERMINAL_STATES, START, COMPLETE, ABORT, FAIL, "trigger", "may_trigger", "state"}
)
_RESERVED_PREFIXES: Final = ("is_", "may_", "to_")
_SNAKE: Final = re.compile(SNAKE_CASE)

PropertyType = type[bool] | type[int] | type[str] | type[StrEnum]


@dataclass(frozen=True, eq=False)
class Funnel:
    """One flow, declared once.

    ``steps`` maps each step to the steps that may follow it, in order; ``properties`` declares
    extra run properties (name to type: ``bool``, ``int``, ``str`` or a ``StrEnum``) that every
    event of a run carries, such as a ``Direction``.
    """

    flow: str
    # Keys typed Any: Mapping is invariant in its key, and steps are usually a StrEnum's members.
    steps: Mapping[Any, Sequence[str]]
    completes_from: Sequence[str] | None = None
    events: FunnelEvents = AUTH_EVENTS
    properties: Mapping[str, PropertyType] = field(default_factory=dict)
    optional: Sequence[str] = ()

    def __post_init__(self) -> None:
        steps = {str(step): tuple(str(s) for s in nexts) for step, nexts in self.steps.items()}
        object.__setattr__(self, "steps", steps)
        object.__setattr__(self, "optional", tuple(str(s) for s in self.optional))
        completes = (
            tuple(str(s) for s in self.completes_from)
            if self.completes_from is not None
            else tuple(step for step, nexts in steps.items() if not nexts)
        )
        object.__setattr__(self, "completes_from", completes)
        object.__setattr__(self, "properties", dict(self.properties))
        _validate(self)

    @property
    def initial_step(self) -> str:
        """The step every run enters first."""
        return str(next(iter(self.steps)))

    @property
    def step_names(self) -> tuple[str, ...]:
        """All steps, in declaration order (the order a report lists them in)."""
        return tuple(self.steps)

    @property
    def completing_steps(self) -> tuple[str, ...]:
        """The steps a run may complete from."""
        return tuple(self.completes_from or ())

    def successors(self, step: str) -> tuple[str, ...]:
        """The steps that may follow ``step``, a bypass of the optional segment included."""
        bypass = tuple(dest for source, dest in self.skips if source == step)
        return tuple(self.steps[step]) + bypass

    def declared_successors(self, step: str) -> tuple[str, ...]:
        """The steps declared to follow ``step`` (the order a report's stages follow)."""
        return tuple(self.steps[step])

    def edges(self) -> Iterator[tuple[str, str]]:
        """Every allowed step-to-step move, the bypasses of the optional segment last."""
        for step, nexts in self.steps.items():
            for following in nexts:
                yield step, following
        yield from self.skips

    @cached_property
    def skips(self) -> tuple[tuple[str, str], ...]:
        """The moves that bypass the optional segment: from each step leading into it to
        each step it leads out to (none when nothing is optional)."""
        return _bypasses(self.steps, frozenset(self.optional))

    def run(
        self,
        client: TelemetryClient | None,
        *,
        no_browser: bool = False,
        properties: Mapping[str, PropertyValue] | None = None,
        clock: Clock | None = None,
    ) -> FlowRun:
        """A run scope: ``with LOGIN.run(client) as tracker: ...`` (see ``FlowRun``)."""
        return FlowRun(
            self.tracker(client, no_browser=no_browser, properties=properties, clock=clock)
        )

    def tracker(
        self,
        client: TelemetryClient | None,
        *,
        no_browser: bool = False,
        properties: Mapping[str, PropertyValue] | None = None,
        clock: Clock | None = None,
    ) -> FlowTracker:
        """A new, not yet started run, for driving by hand (``start``, ``advance``, ...)."""
        if clock is None:
            return FlowTracker(self, client, no_browser=no_browser, properties=properties)
        return FlowTracker(self, client, no_browser=no_browser, properties=properties, clock=clock)

    @cached_property
    def catalog(self) -> Mapping[str, EventSpec]:
        """Each event this funnel emits, declared: its emitter's spec plus the run properties
        (which every event of a run carries; the emitter's own keys win)."""
        extra = {name: run_property_spec(kind) for name, kind in self.properties.items()}
        return MappingProxyType(
            {
                spec.name: EventSpec(spec.name, spec.role, {**extra, **spec.properties})
                for spec in self.events.specs
            }
        )

    @cached_property
    def machine(self) -> Machine:
        """The ``transitions`` machine, built once per process on first use."""
        return build_machine(self)

    def __repr__(self) -> str:
        return f"Funnel(flow={self.flow!r}, steps={list(self.steps)!r})"


def run_property_spec(kind: PropertyType) -> PropertySpec:
    """The schema of a run property of type ``kind`` (not required: a bare event lacks it)."""
    schema: JSONSchema
    if kind is bool:
        schema = {"type": "boolean"}
    elif kind is int:
        schema = {"type": "integer"}
    elif isinstance(kind, type) and issubclass(kind, StrEnum):
        schema = {"type": "string", "enum": [member.value for member in kind]}
    else:
        schema = {"type": "string"}
    return PropertySpec(schema, required=False)


def _validate(funnel: Funnel) -> None:
    flow = funnel.flow
    if not _SNAKE.match(str(flow)):
        raise DefinitionError(f"flow name {flow!r} must be snake_case, like 'login'")
    steps = funnel.steps
    if not steps:
        raise DefinitionError(f"{flow}: a funnel needs at least one step")
    for step in steps:
        _check_name(flow, step)
    for step, nexts in steps.items():
        for following in nexts:
            if following not in steps:
                raise DefinitionError(
                    f"{flow}: step {step!r} goes to {following!r}, which is not a step"
                    + _suggestion(following, steps)
                )
    completes = funnel.completing_steps
    if not completes:
        raise DefinitionError(f"{flow}: no step can complete the funnel; name completes_from")
    for step in completes:
        if step not in steps:
            raise DefinitionError(
                f"{flow}: completes_from names {step!r}, which is not a step"
                + _suggestion(step, steps)
            )
    reachable = closure([funnel.initial_step], lambda s: steps[s])
    unreachable = [step for step in steps if step not in reachable]
    if unreachable:
        raise DefinitionError(
            f"{flow}: unreachable from {funnel.initial_step!r}: {', '.join(unreachable)}"
        )
    predecessors: dict[str, list[str]] = {step: [] for step in steps}
    for step, following in funnel.edges():
        predecessors[following].append(step)
    can_complete = closure(list(completes), lambda s: predecessors[s])
    dead_ends = [step for step in steps if step not in can_complete]
    if dead_ends:
        raise DefinitionError(f"{flow}: these steps can never reach completed: {dead_ends}")
    _validate_optional(funnel)
    _validate_events(funnel)
    # The command lifecycle runs around every funnel, and one invocation knows a flow by its
    # name (its open record, a report's pairing): no other funnel may take the name.
    if str(flow) == _COMMAND_FLOW and not isinstance(funnel.events, CommandEvents):
        raise DefinitionError(
            f"flow name {_COMMAND_FLOW!r} is the command lifecycle's, which runs around every "
            "funnel: name yours after what it does, like 'deploy'"
        )
    for name, kind in funnel.properties.items():
        if not _SNAKE.match(name) or name in BASE_PROPERTY_KEYS or name in _EVENT_KEYS:
            raise DefinitionError(
                f"{flow}: run property {name!r} must be snake_case and not a base or event key"
            )
        if not (kind in (bool, int, str) or issubclass(kind, StrEnum)):
            raise DefinitionError(f"{flow}: run property {name!r} must be bool, int, str or enum")


_COMMAND_FLOW: Final = "command"
_EVENT_KEYS: Final = frozenset(
    {"flow", "step", "reason", "duration_ms", "error_class", "skipped", "recovered"}
)


def _validate_events(funnel: Funnel) -> None:
    specs = getattr(funnel.events, "specs", None)
    if not isinstance(specs, tuple) or not all(isinstance(s, EventSpec) for s in specs):
        raise DefinitionError(
            f"{funnel.flow}: events= must declare its events as a tuple of EventSpec in "
            "`specs` (FlowEvents does: FlowEvents.named('Deploy'))"
        )
    declared = {spec.name for spec in specs}
    if declared != set(funnel.events.names) or len(declared) != len(specs):
        raise DefinitionError(
            f"{funnel.flow}: events= names {sorted(funnel.events.names)} but declares "
            f"{sorted(spec.name for spec in specs)}: each name needs exactly one EventSpec"
        )


def _validate_optional(funnel: Funnel) -> None:
    flow, steps, optional = funnel.flow, funnel.steps, frozenset(funnel.optional)
    if not optional:
        return
    unknown = [step for step in funnel.optional if step not in steps]
    if unknown:
        raise DefinitionError(f"{flow}: optional names {unknown[0]!r}, which is not a step")
    if funnel.initial_step in optional:
        raise DefinitionError(f"{flow}: the first step {funnel.initial_step!r} cannot be optional")
    entries = sorted(
        {dest for source, dest in _declared_edges(steps) if dest in optional}
        & {dest for source, dest in _declared_edges(steps) if source not in optional}
    )
    if len(entries) != 1:
        raise DefinitionError(
            f"{flow}: the optional steps must be entered through one step, not {entries}"
        )
    if not _bypasses(steps, optional):
        raise DefinitionError(f"{flow}: the optional steps must lead on to a step after them")
    if set(funnel.completing_steps) & optional:
        raise DefinitionError(f"{flow}: an optional step cannot complete the funnel")


def _declared_edges(steps: Mapping[str, Sequence[str]]) -> Iterator[tuple[str, str]]:
    for step, nexts in steps.items():
        for following in nexts:
            yield step, following


def _bypasses(
    steps: Mapping[str, Sequence[str]], optional: frozenset[str]
) -> tuple[tuple[str, str], ...]:
    if not optional:
        return ()
    edges = list(_declared_edges(steps))
    into = [source for source, dest in edges if source not in optional and dest in optional]
    out = [dest for source, dest in edges if source in optional and dest not in optional]
    return tuple(
        (source, dest)
        for source in dict.fromkeys(into)
        for dest in dict.fromkeys(out)
        if dest not in steps[source]
    )


def _check_name(flow: str, step: str) -> None:
    if not _SNAKE.match(step):
        raise DefinitionError(f"{flow}: step {step!r} must be snake_case, like 'browser_wait'")
    if step in _RESERVED or step.startswith(_RESERVED_PREFIXES):
        raise DefinitionError(f"{flow}: step name {step!r} is reserved; choose another")


def _suggestion(name: str, steps: Mapping[str, object]) -> str:
    import difflib

    close = difflib.get_close_matches(name, list(steps), n=1)
    return f"; did you mean {close[0]!r}?" if close else ""


def closure(start: Iterable[str], neighbours: Callable[[str], Iterable[str]]) -> set[str]:
    """``start`` and every state reachable from it through ``neighbours``."""
    seen = set(start)
    pending = list(seen)
    while pending:
        for following in neighbours(pending.pop()):
            if following not in seen:
                seen.add(following)
                pending.append(following)
    return seen
