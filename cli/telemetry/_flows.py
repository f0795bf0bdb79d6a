"""Open flows, recorded durably so a killed process still gets its one terminal event.

``CLI Auth Started`` opens a row (with the started message and its owner: ``_owner``), each
step entered updates it, the terminal event deletes it; ``Command Invoked`` and ``Command
Completed`` do the same for the command. A row whose owner is provably gone is a flow that can
no longer end: the next invocation records its ending, once (the insert and the delete are one
transaction, and the messageId is derived from the flow, so a replay dedupes):

- the ending its process kept when the disk was full (``_ending``), if it did;
- else ``CLI Auth Failed`` {step: last recorded, error_class: "ProcessTerminated",
  recovered: true}, or for a command ``Command Completed`` {succeeded: false, exit_code: 137,
  error_class: "ProcessTerminated", recovered: true} (137: 128 + SIGKILL, the one way left
  to end a command without its ending: SIGINT, SIGTERM and SIGHUP end it in-process).

A row that cannot be read is moved to the quarantine table: it must not stop the others.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Final

from authfunnel.cli.telemetry import _ending, _owner
from authfunnel.cli.telemetry._message import track_message
from authfunnel.cli.telemetry._outbox import Outbox, transaction, translated
from authfunnel.cli.telemetry._owner import Alive, Owner
from authfunnel.fsm import AUTH_FAILED, COMMAND, COMMAND_COMPLETED, COMMAND_INVOKED

PROCESS_TERMINATED: Final = "ProcessTerminated"
KILLED_EXIT_CODE: Final = 137
_RECOVERY_NAMESPACE: Final = uuid.UUID("8f8a3c8e-5d43-4f47-9d0c-2f5e6f7c1a10")
_COLUMNS: Final = (
    "rowid, invocation_id, flow, pid, pid_start, step, started, seen, started_body, pid_ns, boot_id"
)


def flow_of(message: dict[str, Any]) -> str:
    """The flow a started message opens (a command's is the command lifecycle)."""
    if message.get("event") == COMMAND_INVOKED:
        return str(COMMAND.flow)
    return str(message["properties"]["flow"])


def open_flow(outbox: Outbox, message: dict[str, Any], owner: Owner) -> None:
    """Record the flow ``message`` (``CLI Auth Started``, ``Command Invoked``) opened."""
    now = outbox.clock()
    with translated():
        outbox.db.execute(
            "INSERT OR REPLACE INTO open_flows (invocation_id, flow, pid, pid_start, step, "
            "started, seen, started_body, pid_ns, boot_id) "
            "VALUES (?, ?, ?, ?, NULL, ?, ?, ?, ?, ?)",
            (
                message["properties"]["invocation_id"],
                flow_of(message),
                owner.pid,
                owner.start,
                now,
                now,
                json.dumps(message, separators=(",", ":")),
                owner.pid_ns,
                owner.boot_id,
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

    @classmethod
    def parse(cls, row: tuple[Any, ...]) -> _OpenFlow:
        """Raises ``ValueError``/``TypeError``/``KeyError`` for a row that cannot be read."""
        _, invocation_id, flow, pid, start, step, started, seen, body, pid_ns, boot_id = row
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
        )

    @property
    def is_command(self) -> bool:
        return self.started_message.get("event") == COMMAND_INVOKED


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
            stale_after = _owner.STALE_COMMAND_S if flow.is_command else _owner.STALE_FLOW_S
            if not _owner.gone(
                flow.owner, quiet_for=now - flow.seen, stale_after=stale_after, alive=alive
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
    properties = dict(started_message["properties"])
    properties.pop("no_browser", None)
    properties["sequence"] = int(properties.get("sequence", 0)) + 1
    if flow.is_command:
        event = COMMAND_COMPLETED
        properties.update(succeeded=False, exit_code=KILLED_EXIT_CODE)
    else:
        event = AUTH_FAILED
        properties.update(step=flow.step or _initial_step(flow.flow))
    properties.update(
        duration_ms=max(0, round((flow.seen - flow.started) * 1000)),
        error_class=PROCESS_TERMINATED,
        recovered=True,
    )
    # The ids and context are the started message's: the flow ended in the process that began it.
    return track_message(
        event,
        properties,
        message_id=str(uuid.uuid5(_RECOVERY_NAMESPACE, f"{flow.invocation_id}/{flow.flow}")),
        timestamp=datetime.fromtimestamp(flow.seen, UTC),
        anonymous_id=started_message.get("anonymousId"),
        user_id=started_message.get("userId"),
        context=started_message.get("context"),
        integrations=started_message.get("integrations"),
    )


def _initial_step(flow: str) -> str:
    # Killed between Started and entering the first step: it was at the first step.
    from authfunnel.fsm import BUILTIN_FUNNELS

    for funnel in BUILTIN_FUNNELS:
        if funnel.flow == flow:
            return str(funnel.initial_step)
    return "unknown"


def _text(value: object) -> str | None:
    return None if value is None else str(value)
