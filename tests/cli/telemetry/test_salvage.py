"""A damaged outbox replaced by a fresh one: what the salvage copies, beside what other
processes record meanwhile, and the sender's bookkeeping it carries over."""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

import pytest

from authfunnel.cli.telemetry import Outbox, _lease, _salvage, deliver
from tests.cli.telemetry.servers import collector, stored_ids
from tests.cli.telemetry.test_sender import settings

PAGE = 4096


def message(n: int) -> dict[str, object]:
    return {
        "type": "track",
        "event": f"E{n}",
        "messageId": str(uuid.uuid4()),
        "anonymousId": "anon",
        "properties": {"padding": "x" * 100},
    }


def damaged_outbox(path: Path, count: int) -> list[str]:
    """An outbox of ``count`` messages with one page of them overwritten; their messageIds."""
    outbox = Outbox(path)
    sent = [message(n) for n in range(count)]
    for each in sent:
        outbox.append(each)
    outbox.db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    outbox.close()
    size = path.stat().st_size
    with open(path, "r+b") as file:
        file.seek(size // 2 // PAGE * PAGE)
        file.write(b"\xff" * PAGE)
    return [str(each["messageId"]) for each in sent]


def pending_ids(outbox: Outbox) -> list[str]:
    return [str(json.loads(body)["messageId"]) for _, body in outbox.pending()]


def test_what_another_process_records_in_the_fresh_store_survives_the_salvage(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The fresh file is in place before the readable rows are copied into it: another
    # command may record its events there meanwhile. Ordered here by running that other
    # process's write (a real second connection) just before the copy.
    path = tmp_path / "outbox.sqlite3"
    old_ids = damaged_outbox(path, 300)
    meanwhile = message(1000)
    copy = _salvage.salvage

    def another_process_records_first(source: Path, fresh: Outbox) -> int:
        other = Outbox(path)
        other.append(meanwhile)
        other.close()
        return copy(source, fresh)

    monkeypatch.setattr(_salvage, "salvage", another_process_records_first)
    fresh, notice = _salvage.replace(path, Outbox(path), {})
    assert "was damaged" in notice
    kept = pending_ids(fresh)
    assert meanwhile["messageId"] in kept
    salvaged = [each for each in kept if each != meanwhile["messageId"]]
    assert len(salvaged) > 250
    assert salvaged == [each for each in old_ids if each in set(salvaged)]  # oldest first


def test_the_senders_bookkeeping_carried_over_neither_loses_nor_double_counts(
    tmp_path: Path,
) -> None:
    # A claim of a sender on the old file, a message refused twice alone, a quarantined row:
    # in the fresh store every pending message is still sent, 'disable' counts what it
    # discards, the refusal count goes on from 2, and the quarantine holds its row once.
    path = tmp_path / "outbox.sqlite3"
    damaged_outbox(path, 300)
    old = Outbox(path)
    first_id = old.pending(1)[0][0]
    refused_id = str(json.loads(old.pending(2)[1][1])["messageId"])
    assert _lease.claim(old, "a sender of the old file", [first_id]) == {first_id}
    old.db.execute("INSERT INTO refusals VALUES (?, 2)", (refused_id,))
    bad = old.db.execute(
        "INSERT INTO messages (message_id, created, body) VALUES ('x', 0, '{bad')"
    ).lastrowid
    assert bad is not None
    old.quarantine("messages", [(bad, "{bad", "not JSON")])  # as reading it past the damage would
    assert old.get("quarantined") == "1"
    fresh, _ = _salvage.replace(path, old, {})
    pending = pending_ids(fresh)
    assert fresh.db.execute("SELECT COUNT(*) FROM quarantine").fetchone() == (1,)
    assert fresh.get("quarantined") == "1"
    assert fresh.db.execute(
        "SELECT count FROM refusals WHERE message_id = ?", (refused_id,)
    ).fetchone() == (2,)

    store = tmp_path / "store.jsonl"
    with collector(store) as server:
        report = deliver(fresh, settings(tmp_path, server.url), budget=60)
    assert (report.outcome, report.sent, report.remaining) == ("delivered", len(pending), 0)
    assert stored_ids(store) == pending


def test_disable_after_a_salvage_discards_every_pending_message(tmp_path: Path) -> None:
    path = tmp_path / "outbox.sqlite3"
    damaged_outbox(path, 300)
    old = Outbox(path)
    first_id = old.pending(1)[0][0]
    _lease.claim(old, "a sender of the old file", [first_id])
    fresh, _ = _salvage.replace(path, old, {})
    pending = fresh.count()
    left: Any = _lease.discard_unsent(fresh)
    assert (left.discarded, left.in_flight) == (pending, 0)
    assert fresh.count() == 0
