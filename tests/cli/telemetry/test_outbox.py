"""The outbox: durable, bounded, shared safely by processes, corrupt files moved aside."""

from __future__ import annotations

import json
import sqlite3
import uuid
from pathlib import Path

import pytest

from authfunnel.cli.telemetry import Outbox, OutboxError, open_outbox
from authfunnel.cli.telemetry._status import counter


def message(n: int = 0) -> dict[str, object]:
    return {"type": "track", "event": f"E{n}", "messageId": str(uuid.uuid4()), "properties": {}}


def test_an_appended_message_is_on_disk_before_append_returns(tmp_path: Path) -> None:
    outbox = Outbox(tmp_path / "o.sqlite3")
    sent = message()
    outbox.append(sent)
    # Another connection (another process would do the same) sees it committed.
    other = sqlite3.connect(tmp_path / "o.sqlite3")
    (body,) = other.execute("SELECT body FROM messages").fetchone()
    assert json.loads(body) == sent


def test_the_outbox_uses_wal_and_synchronous_normal(tmp_path: Path) -> None:
    outbox = Outbox(tmp_path / "o.sqlite3")
    assert outbox.db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert outbox.db.execute("PRAGMA synchronous").fetchone()[0] == 1  # NORMAL


def test_the_anonymous_id_is_made_once_per_install(tmp_path: Path) -> None:
    first = Outbox(tmp_path / "o.sqlite3").anonymous_id
    again = Outbox(tmp_path / "o.sqlite3").anonymous_id
    assert first == again
    assert uuid.UUID(first).version == 4


def test_beyond_the_count_bound_the_oldest_are_dropped_and_counted(tmp_path: Path) -> None:
    outbox = Outbox(tmp_path / "o.sqlite3", max_events=5)
    sent = [message(n) for n in range(8)]
    for each in sent:
        outbox.append(each)
    kept = [json.loads(body)["messageId"] for _, body in outbox.pending()]
    assert kept == [each["messageId"] for each in sent[3:]]
    assert dropped(outbox) == {"age": 0, "count": 3}


def test_deleted_messages_leave_and_the_others_stay(tmp_path: Path) -> None:
    outbox = Outbox(tmp_path / "o.sqlite3")
    for n in range(3):
        outbox.append(message(n))
    first, *rest = outbox.pending()
    outbox.delete([first[0]])
    assert outbox.pending() == rest


def test_a_corrupt_outbox_is_moved_aside_not_deleted_and_a_fresh_one_opened(
    tmp_path: Path,
) -> None:
    path = tmp_path / "o.sqlite3"
    path.write_bytes(b"this is not a database" * 100)
    outbox = open_outbox(path)
    assert outbox.count() == 0
    assert "was damaged: moved it to o.sqlite3.corrupt-" in str(outbox.get("repaired"))
    (moved,) = tmp_path.glob("o.sqlite3.corrupt-*")
    assert moved.read_bytes() == b"this is not a database" * 100


def test_an_unwritable_state_dir_is_an_outbox_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    with pytest.raises(OutboxError, match="cannot create"):
        open_outbox(blocker / "state" / "o.sqlite3")


def dropped(box: Outbox) -> dict[str, int]:
    """What the bounds dropped, as ``telemetry status`` reports it."""
    return {"age": counter(box, "dropped_age"), "count": counter(box, "dropped_count")}
