"""What recording one event writes to the outbox, and which of its properties may leave.

A flow's start (``CLI Auth Started``, ``Command Invoked``) and its end are written with their
open-flow record (``_flows``) in one transaction; a login's start and end also reserve and
release the file its ending falls back to on a full disk (``_ending``).
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any, Final

from authfunnel.cli.telemetry import _ending, _flows, _owner, _undeclared
from authfunnel.cli.telemetry._outbox import Outbox, transaction, translated
from authfunnel.fsm import (
    AUTH_ABORTED,
    AUTH_COMPLETED,
    AUTH_FAILED,
    AUTH_STARTED,
    BASE_PROPERTY_KEYS,
    COMMAND,
    COMMAND_COMPLETED,
    COMMAND_INVOKED,
    Event,
    invocation_id,
)

AUTH_ENDINGS: Final = frozenset({AUTH_COMPLETED, AUTH_ABORTED, AUTH_FAILED})
OPENING: Final = frozenset({AUTH_STARTED, COMMAND_INVOKED})
ENDING: Final = AUTH_ENDINGS | {COMMAND_COMPLETED}


def record(
    outbox: Outbox, name: str, message: dict[str, Any], undeclared: Iterable[str] = ()
) -> int:
    """Append ``message`` (event ``name``); return how many the bounds dropped.

    One transaction with the open-flow record: killed between the two writes, a Started would
    be left that nothing ends, or a terminal event followed by a recovered one. The names of
    the ``undeclared`` properties left out of it are counted in the same one (``_undeclared``).
    """
    flow = _flow_named(name, message)
    undeclared = tuple(undeclared)
    if flow is None and not undeclared:
        return outbox.append(message)
    with translated(), transaction(outbox.db):
        dropped = outbox.append(message)
        if undeclared:
            _undeclared.count(outbox, name, undeclared)
        if flow is not None and name in OPENING:
            _flows.open_flow(outbox, message, _owner.this_process())
        elif flow is not None:
            _flows.close_flow(outbox, *flow)
    return dropped


def _flow_named(name: str, message: dict[str, Any]) -> tuple[str, str] | None:
    """The (invocation, flow) that event ``name`` opens or closes; None for any other event,
    or one tracked without the properties that name its flow (a caller's bare catalog event:
    nothing could recover or close it, and recording it must not fail)."""
    if name not in OPENING | ENDING:
        return None
    properties = message.get("properties")
    if not isinstance(properties, dict):
        return None
    invocation = properties.get("invocation_id")
    flow = COMMAND.flow if name in (COMMAND_INVOKED, COMMAND_COMPLETED) else properties.get("flow")
    if not isinstance(invocation, str) or not isinstance(flow, str):
        return None
    return invocation, flow


def ending_file(state_dir: Path, name: str, properties: dict[str, Any]) -> Path | None:
    """The file kept for a login's ending, when event ``name`` starts or ends one."""
    if name != AUTH_STARTED and name not in AUTH_ENDINGS:
        return None  # a command's ending is recovered as killed: no file per command
    return _ending.path_for(state_dir, invocation_id(), str(properties.get("flow")))


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
