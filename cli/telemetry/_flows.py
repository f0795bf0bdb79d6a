"""Open flows, recorded durably so a killed process still gets its one terminal event.

``CLI Auth Started`` opens a row (with the started message), each step entered updates it,
the terminal event deletes it. A row whose process is gone is a flow that can no longer end:
the next invocation emits ``CLI Auth Failed`` {step: last recorded, error_class:
"ProcessTerminated", recovered: true} for it, once (the insert and the delete are one
transaction, and the messageId is derived from the flow, so a replay dedupes).
"""

from __future__ import annotations

import json
import os
import sqlite3
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, Final

from authfunnel.cli.telemetry._message import track_message
from authfunnel.cli.telemetry._outbox import Outbox, transaction, translated
from authfunnel.fsm import AUTH_FAILED

PROCESS_TERMINATED: Final = "ProcessTerminated"
_RECOVERY_NAMESPACE: Final = uuid.UUID("8f8a3c8e-5d43-4f47-9d0c-2f5e6f7c1a10")


def open_flow(outbox: Outbox, message: dict[str, Any], pid: int) -> None:
    """Record the flow ``message`` (a ``CLI Auth Started``) opened, in process ``pid``."""
    properties = message["properties"]
    now = outbox.clock()
    with translated():
        outbox.db.execute(
            "INSERT OR REPLACE INTO open_flows VALUES (?, ?, ?, ?, NULL, ?, ?, ?)",
            (
                properties["invocation_id"],
                properties["flow"],
                pid,
                process_start(pid),
                now,
                now,
                json.dumps(message, separators=(",", ":")),
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


Alive = Callable[[int, str | None], bool]


def recover(outbox: Outbox, alive: Alive | None = None) -> list[dict[str, Any]]:
    """Emit ``CLI Auth Failed`` for each open flow whose process is gone; return those messages."""
    alive = alive or process_alive
    with translated():
        rows = outbox.db.execute(
            "SELECT invocation_id, flow, pid, pid_start, step, started, seen, started_body "
            "FROM open_flows"
        ).fetchall()
    dead = [row[:2] + row[4:] for row in rows if not alive(int(row[2]), row[3])]
    recovered: list[dict[str, Any]] = []
    for row in dead:
        with translated(), transaction(outbox.db):
            gone = outbox.db.execute(
                "DELETE FROM open_flows WHERE invocation_id = ? AND flow = ?", (row[0], row[1])
            ).rowcount
            if not gone:  # another invocation recovered it first
                continue
            message = _failed_message(row)
            outbox.append(message)
            recovered.append(message)
    return recovered


def _failed_message(row: sqlite3.Row | tuple[Any, ...]) -> dict[str, Any]:
    invocation_id, flow, step, started, seen, started_body = row
    started_message: dict[str, Any] = json.loads(started_body)
    properties = dict(started_message["properties"])
    properties.pop("no_browser", None)
    properties["sequence"] = int(properties.get("sequence", 0)) + 1
    properties.update(
        step=step or _initial_step(flow),
        duration_ms=max(0, round((seen - started) * 1000)),
        error_class=PROCESS_TERMINATED,
        recovered=True,
    )
    # The ids and context are the started message's: the flow ended in the process that began it.
    return track_message(
        AUTH_FAILED,
        properties,
        message_id=str(uuid.uuid5(_RECOVERY_NAMESPACE, f"{invocation_id}/{flow}")),
        timestamp=datetime.fromtimestamp(seen, UTC),
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


def process_alive(pid: int, start: str | None = None) -> bool:
    """Whether process ``pid`` (started at ``start``, when known) still runs.

    A zombie does not count, nor a new process that reuses the pid (its start time differs).
    """
    if start is not None and process_start(pid) != start:
        return False
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return _state(pid) != b"Z"


def process_start(pid: int) -> str | None:
    """The start time of ``pid`` in clock ticks since boot (Linux), or ``None``."""
    fields = _stat_fields(pid)
    return fields[19].decode() if fields is not None and len(fields) > 19 else None


def _state(pid: int) -> bytes | None:
    fields = _stat_fields(pid)
    return fields[0] if fields else None


def _stat_fields(pid: int) -> list[bytes] | None:
    # /proc/<pid>/stat: "pid (comm) state ppid ..."; comm may hold spaces, so split after ")".
    try:
        with open(f"/proc/{pid}/stat", "rb") as stat:
            return stat.read().rsplit(b")", 1)[1].split()
    except (OSError, IndexError):
        return None
