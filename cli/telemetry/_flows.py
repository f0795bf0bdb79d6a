"""Open flows, recorded durably so a killed process still gets its one terminal event.

Any event declared with the STARTED role (``CLI Auth Started``, ``Command Invoked``, an
application's ``Deploy Started``) opens a row, with the started message, its owner
(``_owner``) and how the flow ends if killed (``Recovery``: recorded now, since the invocation
that finds it may never import the funnel); each step entered updates it; any ending role
(COMPLETED, ABORTED, FAILED, ENDED) of the same flow deletes it. A row whose owner is provably
gone is a flow that can no longer end: the next invocation records its ending, once (the
insert and the delete are one transaction, and the messageId is derived from the flow, so a
replay dedupes):

- the ending its process kept when the disk was full (``_ending``), if it did;
- else the funnel's FAILED event {step: last recorded, else the funnel's first,
  error_class: "ProcessTerminated", recovered: true} (``CLI Auth Failed``, ``Deploy Failed``),
  or for a command-like funnel its ENDED event {succeeded: false, exit_code: 137,
  error_class: "ProcessTerminated", recovered: true} (``Command Completed``; 137: 128 +
  SIGKILL, the one way left to end a command without its ending: SIGINT, SIGTERM and SIGHUP
  end it in-process). Either carries the started message's properties that it declares (the
  run properties among them).

A row written before rows said how to recover (schema < 6) is ended as then: a command's as
``Command Completed``, any other as ``CLI Auth Failed``. A row that cannot be read is moved to
the quarantine table: it must not stop the others.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Final, Protocol

from authfunnel.cli.telemetry import _ending, _owner
from authfunnel.cli.telemetry._message import track_message
from authfunnel.cli.telemetry._outbox import Outbox, transaction, translated
from authfunnel.cli.telemetry._owner import Alive, Owner
from authfunnel.fsm import (
    AUTH_FAILED,
    BASE_PROPERTY_KEYS,
    COMMAND,
    COMMAND_COMPLETED,
    COMMAND_INVOKED,
    LOGIN,
    EventRole,
    EventSpec,
)

PROCESS_TERMINATED: Final = "ProcessTerminated"
KILLED_EXIT_CODE: Final = 137
_RECOVERY_NAMESPACE: Final = uuid.UUID("8f8a3c8e-5d43-4f47-9d0c-2f5e6f7c1a10")
_COLUMNS: Final = (
    "rowid, invocation_id, flow, pid, pid_start, step, started, seen, started_body, pid_ns, "
    "boot_id, recovery"
)
# How a killed flow ends, by preference: its Failed event, else its one ending (a command's).
_RECOVERY_ROLES: Final = (EventRole.FAILED, EventRole.ENDED)


class Declared(Protocol):
    """What recovery reads of a funnel (an ``fsm.Funnel``, as ``event.funnel`` gives it)."""

    @property
    def initial_step(self) -> str: ...

    @property
    def catalog(self) -> Mapping[str, EventSpec]: ...


@dataclass(frozen=True)
class Recovery:
    """How a flow ends if its process is killed, kept in its open-flow row.

    ``event``: the name of the funnel's FAILED event, else of its ENDED one (``role``);
    ``initial_step``: the step a flow killed before entering any was at; ``properties``:
    what ``event`` declares, so it carries only those of the started message.
    """

    event: str
    role: EventRole
    initial_step: str
    properties: frozenset[str]

    @classmethod
    def of(cls, funnel: Declared) -> Recovery | None:
        """``funnel``'s, or None when it declares no event a killed run could end with."""
        for role in _RECOVERY_ROLES:
            for spec in funnel.catalog.values():
                if spec.role is role:
                    keeps = frozenset(spec.properties)
                    return cls(spec.name, role, str(funnel.initial_step), keeps)
        return None

    def dumps(self) -> str:
        return json.dumps(
            {
                "event": self.event,
                "role": self.role.value,
                "initial_step": self.initial_step,
                "properties": sorted(self.properties),
            },
            separators=(",", ":"),
        )

    @classmethod
    def loads(cls, text: str) -> Recovery:
        """Raises ``ValueError``/``TypeError``/``KeyError`` for text that is not one."""
        found = json.loads(text)
        event, step, keeps = found["event"], found["initial_step"], found["properties"]
        if not isinstance(event, str) or not isinstance(step, str) or not isinstance(keeps, list):
            raise TypeError("a recovery needs an event, an initial step and properties")
        role = EventRole(found["role"])
        if role not in _RECOVERY_ROLES:
            raise ValueError(f"a flow cannot be recovered by its {role} event")
        return cls(event, role, step, frozenset(str(key) for key in keeps))


def open_flow(
    outbox: Outbox, message: dict[str, Any], owner: Owner, flow: str, recovery: Recovery
) -> None:
    """Record that ``message`` (an event in the STARTED role) opened ``flow``."""
    now = outbox.clock()
    with translated():
        outbox.db.execute(
            "INSERT OR REPLACE INTO open_flows (invocation_id, flow, pid, pid_start, step, "
            "started, seen, started_body, pid_ns, boot_id, recovery) "
            "VALUES (?, ?, ?, ?, NULL, ?, ?, ?, ?, ?, ?)",
            (
                message["properties"]["invocation_id"],
                flow,
                owner.pid,
                owner.start,
                now,
                now,
                json.dumps(message, separators=(",", ":")),
                owner.pid_ns,
                owner.boot_id,
                recovery.dumps(),
            ),
        )


def record_step(outbox: Outbox, invocation_id: str, flow: str, step: str) -> None:
    """Remember that the open ``flow`` of ``invocation_id`` entered ``step``."""
    with translated():
        outbox.db.execute(
            "UPDATE open_flows SET step = ?, seen = ? WHERE invocation_id = ? AND flow = ?",
            (step, outbox.clock(), invocation_id, flow),
        )


def close_flow(outbox: Outbox, invocation_id: str, flow: str) -> None:
    """The flow emitted its terminal event: nothing to recover."""
    with translated():
        outbox.db.execute(
            "DELETE FROM open_flows WHERE invocation_id = ? AND flow = ?", (invocation_id, flow)
        )


@dataclass(frozen=True)
class _OpenFlow:
    invocation_id: str
    flow: str
    owner: Owner
    step: str | None
    started: float
    seen: float
    started_message: dict[str, Any]
    recovery: Recovery

    @classmethod
    def parse(cls, row: tuple[Any, ...]) -> _OpenFlow:
        """Raises ``ValueError``/``TypeError``/``KeyError`` for a row that cannot be read."""
        _, invocation_id, flow, pid, start, step, started, seen, body, pid_ns, boot_id, how = row
        message = json.loads(body)
        if not isinstance(message, dict) or not isinstance(message["properties"], dict):
            raise TypeError("the started message is not a JSON object")
        texts = (invocation_id, flow)
        if not all(isinstance(text, str) for text in texts) or isinstance(pid, bool):
            raise TypeError("invocation_id and flow must be text")
        return cls(
            invocation_id=invocation_id,
            flow=flow,
            owner=Owner(int(pid), _text(start), _text(pid_ns), _text(boot_id)),
            step=_text(step),
            started=float(started),
            seen=float(seen),
            started_message=message,
            recovery=Recovery.loads(how) if how is not None else _recovery_before(flow, message),
        )

    @property
    def stale_after(self) -> float:
        """Quiet this long, an owner that cannot be probed is taken as gone: a command may
        run for weeks (a dev server), a flow ended by a Failed event not past a day."""
        if self.recovery.role is EventRole.ENDED:
            return _owner.STALE_COMMAND_S
        return _owner.STALE_FLOW_S


def recover(outbox: Outbox, alive: Alive | None = None) -> list[dict[str, Any]]:
    """Record the ending of each open flow whose owner is gone; return those messages."""
    alive = alive or _owner.process_alive
    with translated():
        rows = outbox.db.execute(f"SELECT {_COLUMNS} FROM open_flows").fetchall()
    now = outbox.clock()
    recovered: list[dict[str, Any]] = []
    unreadable: list[tuple[int, Any, str]] = []
    for row in rows:
        try:
            flow = _OpenFlow.parse(tuple(row))
            if not _owner.gone(
                flow.owner, quiet_for=now - flow.seen, stale_after=flow.stale_after, alive=alive
            ):
                continue
            kept = _ending.path_for(outbox.path.parent, flow.invocation_id, flow.flow)
            message = _ending.read(kept) or _terminated(flow)
        except (ValueError, TypeError, KeyError, IndexError, ArithmeticError, OSError) as exc:
            unreadable.append((int(row[0]), tuple(row[1:]), f"{type(exc).__name__}: {exc}"))
            continue
        with translated(), transaction(outbox.db):
            gone = outbox.db.execute(
                "DELETE FROM open_flows WHERE invocation_id = ? AND flow = ?",
                (flow.invocation_id, flow.flow),
            ).rowcount
            if not gone:  # another invocation recovered it first
                continue
            outbox.append(message)
        _ending.discard(kept)
        recovered.append(message)
    if unreadable:
        outbox.quarantine("open_flows", unreadable)
    return recovered


def _terminated(flow: _OpenFlow) -> dict[str, Any]:
    """The ending of a flow whose process was killed before it could record one."""
    started_message = flow.started_message
    recovery = flow.recovery
    keeps = recovery.properties | BASE_PROPERTY_KEYS
    properties = {k: v for k, v in started_message["properties"].items() if k in keeps}
    properties["sequence"] = int(properties.get("sequence", 0)) + 1
    if recovery.role is EventRole.ENDED:
        properties.update(succeeded=False, exit_code=KILLED_EXIT_CODE)
    else:
        properties.update(step=flow.step or recovery.initial_step)
    properties.update(
        duration_ms=max(0, round((flow.seen - flow.started) * 1000)),
        error_class=PROCESS_TERMINATED,
        recovered=True,
    )
    # The ids and context are the started message's: the flow ended in the process that began it.
    return track_message(
        recovery.event,
        {key: value for key, value in properties.items() if key in keeps},
        message_id=str(uuid.uuid5(_RECOVERY_NAMESPACE, f"{flow.invocation_id}/{flow.flow}")),
        timestamp=datetime.fromtimestamp(flow.seen, UTC),
        anonymous_id=started_message.get("anonymousId"),
        user_id=started_message.get("userId"),
        context=started_message.get("context"),
        integrations=started_message.get("integrations"),
    )


def _recovery_before(flow: str, started_message: dict[str, Any]) -> Recovery:
    """How a row of an earlier version, which did not say, is ended: as it was then (a
    command's by ``Command Completed``, any other flow's by ``CLI Auth Failed``)."""
    if started_message.get("event") == COMMAND_INVOKED:
        ending = COMMAND.catalog[COMMAND_COMPLETED]
        return Recovery(ending.name, ending.role, str(COMMAND.initial_step), _keys(ending))
    ending = LOGIN.catalog[AUTH_FAILED]
    return Recovery(ending.name, ending.role, _initial_step(flow), _keys(ending))


def _keys(spec: EventSpec) -> frozenset[str]:
    return frozenset(spec.properties)


def _initial_step(flow: str) -> str:
    # Killed between Started and entering the first step: it was at the first step.
    from authfunnel.fsm import BUILTIN_FUNNELS

    for funnel in BUILTIN_FUNNELS:
        if funnel.flow == flow:
            return str(funnel.initial_step)
    return "unknown"


def _text(value: object) -> str | None:
    return None if value is None else str(value)
