"""The archive: recorded events kept on this machine after delivery, for reports.

The sender deletes what the endpoint accepted from the outbox; a report of the outbox alone
would then see only what is still unsent: half-flows whose start already left. So an accepted
batch moves, in the transaction that removes it, to the outbox file's ``archive`` table,
which ``authfunnel report`` reads with the pending messages. Nothing in it is ever sent
again. It is bounded like the outbox, by the same helper on the same clock (``_bounds``): a
message keeps the ``created`` time it was recorded with, so its age runs on from there. The
oldest go first. Simulated traffic (``authfunnel simulate``) is written straight into it.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

from authfunnel.cli.telemetry._outbox import (
    Outbox,
    OutboxError,
    transaction,
    translated,
)
from authfunnel.cli.telemetry._store import connect_read_only


def archive(outbox: Outbox, row_ids: Iterable[int]) -> None:
    """Move accepted messages from the outbox to the archive (one transaction), trimmed."""
    _move(outbox, "id = ?", [(row_id,) for row_id in row_ids])


def archive_sent(outbox: Outbox, sent: Iterable[tuple[int, str]]) -> None:
    """Move the messages of an accepted batch, ``(row id, messageId)`` each, to the archive.

    A row id alone is not enough once the lease may have changed hands: a flush that took
    over from a stalled sender may have delivered the batch and emptied the outbox, and the
    next messages then reuse those row ids; the stalled post, accepted late, must not archive
    them (they would never be sent). Only a row still holding the message posted moves.
    """
    _move(outbox, "id = ? AND message_id = ?", [(row_id, str(mid)) for row_id, mid in sent])


def _move(outbox: Outbox, which: str, keys: list[tuple[object, ...]]) -> None:
    db = outbox.db
    with translated(), transaction(db):
        db.executemany(
            "INSERT INTO archive (message_id, created, body) "
            f"SELECT message_id, created, body FROM messages WHERE {which}",
            keys,
        )
        db.executemany(f"DELETE FROM messages WHERE {which}", keys)
        # A COUNT per accepted batch costs little: the sender runs off the critical path.
        outbox.bound("archive")


def keep(outbox: Outbox, messages: Iterable[dict[str, Any]]) -> int:
    """Archive messages that must never be sent; return how many the bounds then dropped."""
    import json

    now = outbox.now()
    rows = [
        (m["messageId"], now, json.dumps(m, separators=(",", ":"), ensure_ascii=False))
        for m in messages
    ]
    with translated(), transaction(outbox.db):
        outbox.db.executemany(
            "INSERT INTO archive (message_id, created, body) VALUES (?, ?, ?)", rows
        )
        return outbox.bound("archive").total


def archived(outbox: Outbox) -> int:
    """How many messages the archive holds."""
    with translated():
        return int(outbox.db.execute("SELECT COUNT(*) FROM archive").fetchone()[0])


def read_recorded(path: Path) -> list[str]:
    """The message JSON of every event kept in the outbox file at ``path``: archived, refused
    by the endpoint (the dead letters, see ``_refused``: recorded all the same), then pending.

    Read-only: a report never changes the outbox, nor moves a corrupt one aside (the next
    invocation that records does). Raises ``OutboxError``.
    """
    db = connect_read_only(path)  # immutable where the directory cannot be written
    try:
        with translated():
            tables = {row[0] for row in db.execute("SELECT name FROM sqlite_master")}
            if "messages" not in tables:
                raise OutboxError(f"{path} is an SQLite file but not an authfunnel outbox")
            kept = "".join(
                f"SELECT body FROM {table} UNION ALL "
                for table in ("archive", "refused")
                if table in tables
            )
            # One statement: one snapshot, even while a sender moves a batch across.
            return [str(row[0]) for row in db.execute(kept + "SELECT body FROM messages")]
    finally:
        db.close()
