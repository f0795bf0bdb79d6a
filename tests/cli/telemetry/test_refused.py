"""A 400 never deletes: the batch is split to find the message at fault, which is kept.

Real HTTP on 127.0.0.1: a gateway answering a Segment-like JSON 400 to everything, and an
endpoint refusing only batches that hold one poisoned message. Each ``deliver`` is one run.
"""

from __future__ import annotations

import json
import sqlite3
import uuid
from pathlib import Path

from authfunnel.cli.telemetry import Outbox, read_recorded, status_facts
from authfunnel.cli.telemetry._sender import RETRY_AT, deliver
from tests.cli.telemetry.servers import (
    RefusesEverything,
    RefusesPoisoned,
    collector,
    stats,
    stored_ids,
)
from tests.cli.telemetry.test_sender import filled, settings


def poison(outbox: Outbox) -> str:
    message_id = str(uuid.uuid4())
    outbox.append({"type": "track", "event": "Poison", "messageId": message_id})
    return message_id


def refused_ids(path: Path) -> list[str]:
    db = sqlite3.connect(path)
    try:
        return [row[0] for row in db.execute("SELECT message_id FROM refused ORDER BY id")]
    finally:
        db.close()


def pending_ids(outbox: Outbox) -> list[str]:
    return [json.loads(body)["messageId"] for _, body in outbox.pending()]


def test_a_json_400_to_every_request_keeps_every_message_for_later(tmp_path: Path) -> None:
    # A gateway answering {"code": ...} to everything: before, each message "refused alone"
    # was deleted, one by one, unsent and unarchived, and the run reported "delivered".
    path = tmp_path / "o.sqlite3"
    outbox, ids = filled(path, 5)
    for _ in range(4):  # run after run: nothing is ever counted against the messages
        with collector(tmp_path / "store.jsonl", handler=RefusesEverything) as server:
            report = deliver(outbox, settings(tmp_path, server.url), budget=60)
        outbox.put(RETRY_AT, None)
        assert (report.outcome, report.sent, report.rejected) == ("retry-later", 0, 0)
        assert "refuses every request" in report.detail
        assert pending_ids(outbox) == ids
    assert refused_ids(path) == []
    assert sorted(json.loads(body)["messageId"] for body in read_recorded(path)) == sorted(ids)


def test_a_json_400_to_every_request_backs_off_like_a_wrong_key(tmp_path: Path) -> None:
    outbox, _ = filled(tmp_path / "o.sqlite3", 5)
    with collector(tmp_path / "store.jsonl", handler=RefusesEverything) as server:
        deliver(outbox, settings(tmp_path, server.url), budget=60)
        requests = stats(server.url)["requests"]
    assert float(outbox.get(RETRY_AT) or 0) >= outbox.clock() + 299
    assert requests <= 6  # halved to one message, then a second one alone: the verdict


def test_a_poisoned_message_is_found_by_splitting_and_the_others_are_delivered(
    tmp_path: Path,
) -> None:
    path = tmp_path / "o.sqlite3"
    outbox, before = filled(path, 6)
    bad = poison(outbox)
    _, after = filled(path, 5)
    store = tmp_path / "store.jsonl"
    with collector(store, handler=RefusesPoisoned) as server:
        report = deliver(outbox, settings(tmp_path, server.url), budget=60)
    assert sorted(stored_ids(store)) == sorted(before + after)
    assert pending_ids(outbox) == [bad]  # refused once: kept, tried again by a later run
    assert (report.sent, report.remaining, report.rejected) == (11, 1, 0)
    assert report.outcome == "retry-later"


def test_a_message_refused_alone_in_three_runs_is_kept_with_the_refused_events(
    tmp_path: Path,
) -> None:
    path = tmp_path / "o.sqlite3"
    outbox = Outbox(path)
    bad = poison(outbox)
    store = tmp_path / "store.jsonl"
    delivered: list[str] = []
    for run in range(3):
        _, fresh = filled(path, 2)  # each run has others to post: the endpoint takes them
        delivered += fresh
        with collector(store, handler=RefusesPoisoned) as server:
            report = deliver(outbox, settings(tmp_path, server.url), budget=60)
        assert report.rejected == (1 if run == 2 else 0)
    assert sorted(stored_ids(store)) == sorted(delivered)
    assert pending_ids(outbox) == []
    assert refused_ids(path) == [bad]
    assert report.outcome == "delivered"
    # Recorded all the same: local reports read it with the delivered ones.
    assert sorted(json.loads(body)["messageId"] for body in read_recorded(path)) == sorted(
        [*delivered, bad]
    )
    assert status_facts(settings(tmp_path, "http://127.0.0.1:9"), outbox)["refused"] == 1


def test_the_only_message_left_refused_alone_is_kept_and_not_counted(tmp_path: Path) -> None:
    # Nothing tells a poisoned message from a gateway refusing everything: keep it, uncounted.
    path = tmp_path / "o.sqlite3"
    outbox = Outbox(path)
    bad = poison(outbox)
    for _ in range(4):
        with collector(tmp_path / "store.jsonl", handler=RefusesPoisoned) as server:
            report = deliver(outbox, settings(tmp_path, server.url), budget=60)
        assert (report.outcome, report.remaining) == ("retry-later", 1)
        outbox.put(RETRY_AT, None)
    assert pending_ids(outbox) == [bad]
    assert refused_ids(path) == []


def test_a_row_torn_while_the_sender_splits_a_batch_is_quarantined_and_costs_nothing_else(
    tmp_path: Path,
) -> None:
    # While the sender looks for the refused message, a row of the outbox turns out not to be
    # a message (another process meets it, or it was written torn): it leaves the queue once,
    # and the splitting, the claims and the counts go on as without it.
    path = tmp_path / "o.sqlite3"
    outbox, before = filled(path, 6)
    bad = poison(outbox)
    _, after = filled(path, 5)
    torn: list[int] = []

    class TornMidRun(RefusesPoisoned):
        def do_POST(self) -> None:  # noqa: N802 (http.server's name)
            if not torn:  # at the first post: the batch is refused, the split begins
                other = Outbox(path)
                row = other.db.execute(
                    "INSERT INTO messages (message_id, created, body) VALUES ('t', 0, '{torn')"
                )
                torn.append(int(row.lastrowid or 0))
                other.close()
            super().do_POST()

    store = tmp_path / "store.jsonl"
    with collector(store, handler=TornMidRun) as server:
        report = deliver(outbox, settings(tmp_path, server.url), budget=60)
    assert sorted(stored_ids(store)) == sorted(before + after)
    assert pending_ids(outbox) == [bad]
    assert (report.sent, report.remaining, report.rejected) == (11, 1, 0)
    assert outbox.db.execute("SELECT data FROM quarantine").fetchall() == [("'{torn'",)]
    assert outbox.db.execute("SELECT COUNT(*) FROM in_flight").fetchone() == (0,)
