"""The archive: delivered events kept locally for reports, never sent again, bounded."""

from __future__ import annotations

import json
import sqlite3
import uuid
from pathlib import Path

import pytest

from authfunnel.cli.telemetry import Outbox, OutboxError
from authfunnel.cli.telemetry._archive import archive, archived, keep, read_recorded


def message(n: int = 0) -> dict[str, object]:
    return {"type": "track", "event": f"E{n}", "messageId": str(uuid.uuid4()), "properties": {}}


class Clock:
    """A wall clock whose every step really elapses (the clock since boot keeps pace)."""

    def __init__(self) -> None:
        self.now = 1_700_000_000.0

    def __call__(self) -> float:
        return self.now

    def uptime(self) -> tuple[str | None, float]:
        return "boot", self.now - 1_600_000_000.0


def test_accepted_messages_move_to_the_archive_never_to_be_sent_again(tmp_path: Path) -> None:
    outbox = Outbox(tmp_path / "o.sqlite3")
    first, second = message(1), message(2)
    outbox.append(first)
    outbox.append(second)
    archive(outbox, [outbox.pending()[0][0]])
    assert [json.loads(body) for _, body in outbox.pending()] == [second]
    assert archived(outbox) == 1


def test_the_archive_keeps_the_newest_within_the_count_bound(tmp_path: Path) -> None:
    outbox = Outbox(tmp_path / "o.sqlite3", max_events=3)
    for n in range(5):
        outbox.append(message(n))
    archive(outbox, [row_id for row_id, _ in outbox.pending()])
    assert (outbox.count(), archived(outbox)) == (0, 3)
    assert [json.loads(body)["event"] for body in read_recorded(outbox.path)] == ["E2", "E3", "E4"]


def test_the_archive_drops_what_is_older_than_the_age_bound(tmp_path: Path) -> None:
    clock = Clock()
    outbox = Outbox(tmp_path / "o.sqlite3", max_age_days=1, clock=clock, uptime=clock.uptime)
    keep(outbox, [message(1)])
    clock.now += 2 * 86_400
    assert keep(outbox, [message(2)]) == 1
    assert archived(outbox) == 1


def test_kept_messages_are_never_pending(tmp_path: Path) -> None:
    outbox = Outbox(tmp_path / "o.sqlite3")
    keep(outbox, [message(1), message(2)])
    assert (outbox.count(), archived(outbox)) == (0, 2)


def test_read_recorded_returns_archived_and_pending_messages(tmp_path: Path) -> None:
    outbox = Outbox(tmp_path / "o.sqlite3")
    sent, unsent = message(1), message(2)
    outbox.append(sent)
    archive(outbox, [outbox.pending()[0][0]])
    outbox.append(unsent)
    assert [json.loads(body) for body in read_recorded(outbox.path)] == [sent, unsent]


def test_read_recorded_refuses_an_sqlite_file_that_is_no_outbox(tmp_path: Path) -> None:
    other = tmp_path / "other.db"
    db = sqlite3.connect(other)
    db.execute("CREATE TABLE t (x)")
    db.close()
    with pytest.raises(OutboxError, match="not an authfunnel outbox"):
        read_recorded(other)


def test_an_outbox_from_before_the_archive_gains_one_and_keeps_its_messages(
    tmp_path: Path,
) -> None:
    path = tmp_path / "o.sqlite3"
    old = sqlite3.connect(path)
    old.executescript(
        "CREATE TABLE messages (id INTEGER PRIMARY KEY, message_id TEXT NOT NULL, "
        "created REAL NOT NULL, body TEXT NOT NULL); "
        "CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL); PRAGMA user_version = 1;"
    )
    kept = message(1)
    old.execute("INSERT INTO messages VALUES (1, ?, 0, ?)", (kept["messageId"], json.dumps(kept)))
    old.commit()
    old.close()
    assert [json.loads(body) for body in read_recorded(path)] == [kept]  # read as it is

    outbox = Outbox(path, max_age_days=1e9)
    archive(outbox, [1])

    assert (outbox.count(), archived(outbox)) == (0, 1)
