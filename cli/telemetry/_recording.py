"""What recording one event writes to the outbox, and which of its properties may leave.

What an event does to its flow is its role in its declaration (``event.spec``), whatever it is
named: a STARTED event opens the flow's record (``_flows``), with how a killed run of it ends;
an ending (COMPLETED, ABORTED, FAILED, ENDED) closes it; each in the transaction that writes
the event. A flow that ends by a Failed event (a login, a deploy) also reserves, at its start,
the file its ending falls back to on a full disk, and releases it at its end (``_ending``); a
command-like one (a single ended event) does not: it is recovered as killed.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

from authfunnel.cli.telemetry import _ending, _flows, _owner, _undeclared
from authfunnel.cli.telemetry._outbox import Outbox, transaction, translated
from authfunnel.fsm import BASE_PROPERTY_KEYS, Event, EventRole, invocation_id

if TYPE_CHECKING:
    from authfunnel.fsm import Funnel

ENDING_ROLES: Final = frozenset(
    {EventRole.COMPLETED, EventRole.ABORTED, EventRole.FAILED, EventRole.ENDED}
)


@dataclass(frozen=True)
class FlowMark:
    """What recording an event does to its flow's open record: opens it (with the flow's
    ``recovery``) or closes it (``recovery`` None)."""

    invocation: str
    flow: str
    role: EventRole
    recovery: _flows.Recovery | None

    @property
    def ending_kept(self) -> bool:
        """Whether this flow's ending has a file reserved against a full disk."""
        if self.recovery is not None:
            return self.recovery.role is EventRole.FAILED
        return self.role is not EventRole.ENDED


def flow_mark(event: Event, properties: Mapping[str, Any]) -> FlowMark | None:
    """What ``event`` (its ``properties`` as stored) opens or closes; None for an event that
    neither starts nor ends a flow, or one tracked without the properties that name its flow
    (a caller's bare catalog event: nothing could recover or close it, and recording it must
    not fail)."""
    spec = event.spec
    if spec is None or (spec.role is not EventRole.STARTED and spec.role not in ENDING_ROLES):
        return None
    invocation = properties.get("invocation_id")
    declared = event.funnel or _builtin_funnel(event.name, properties.get("flow"))
    if not isinstance(invocation, str) or declared is None:
        return None
    if spec.role is not EventRole.STARTED:
        return FlowMark(invocation, str(declared.flow), spec.role, None)
    recovery = _flows.Recovery.of(declared)
    if recovery is None:  # it declares no ending a killed run could be given
        return None
    return FlowMark(invocation, str(declared.flow), spec.role, recovery)


def _builtin_funnel(name: str, flow: object) -> Funnel | None:
    """The built-in funnel a bare event (tracked outside a run) belongs to: the one that
    declares its name and, when the event names its flow, is that flow."""
    from authfunnel.fsm import BUILTIN_FUNNELS

    for funnel in BUILTIN_FUNNELS:
        spec = funnel.catalog.get(name)
        if spec is not None and ("flow" not in spec.properties or funnel.flow == flow):
            return funnel
    return None


def record(
    outbox: Outbox,
    name: str,
    message: dict[str, Any],
    mark: FlowMark | None = None,
    undeclared: Iterable[str] = (),
) -> int:
    """Append ``message`` (event ``name``); return how many the bounds dropped.

    One transaction with the open-flow record (``mark``): killed between the two writes, a
    Started would be left that nothing ends, or a terminal event followed by a recovered one.
    The names of the ``undeclared`` properties left out of it are counted in the same one
    (``_undeclared``).
    """
    undeclared = tuple(undeclared)
    if mark is None and not undeclared:
        return outbox.append(message)
    with translated(), transaction(outbox.db):
        dropped = outbox.append(message)
        if undeclared:
            _undeclared.count(outbox, name, undeclared)
        if mark is not None and mark.recovery is not None:
            _flows.open_flow(outbox, message, _owner.this_process(), mark.flow, mark.recovery)
        elif mark is not None:
            _flows.close_flow(outbox, mark.invocation, mark.flow)
    return dropped


def ending_file(state_dir: Path, mark: FlowMark | None) -> Path | None:
    """The file kept for a flow's ending, when the event (``mark``) starts or ends one."""
    if mark is None or not mark.ending_kept:
        return None  # a command's ending is recovered as killed: no file per command
    return _ending.path_for(state_dir, mark.invocation, mark.flow)


def put(outbox: Outbox, key: str, value: str | None) -> int:
    outbox.put(key, value)
    return 0


def enter_step(outbox: Outbox, flow: str, step: str) -> int:
    _flows.record_step(outbox, invocation_id(), flow, step)
    return 0


def allowed_properties(event: Event) -> frozenset[str]:
    """The properties ``event`` may carry off this machine: those its declaration names (its
    funnel's ``EventSpec``: the role's properties and the run properties), and the base ones.

    Only declared properties ever leave: whatever else a call site passes (a path, an email,
    an exception message) is never stored, so never sent. An event nothing declares keeps
    only the base properties.
    """
    spec = event.spec
    if spec is None:
        return BASE_PROPERTY_KEYS
    return BASE_PROPERTY_KEYS | spec.properties.keys()
