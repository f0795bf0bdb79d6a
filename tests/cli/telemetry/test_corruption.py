"""Corruption is moved aside and nothing good is lost: a damaged page, a bad open-flow row and a
message body that is not JSON each cost only themselves."""

from __future__ import annotations

import io
import json
import sqlite3
import uuid
from pathlib import Path

import pytest

from authfunnel import fsm
from authfunnel.cli.__main__ import main
from authfunnel.cli.app import Environment
from authfunnel.cli.telemetry import Outbox, OutboxClient, _flows, open_client
from authfunnel.cli.telemetry._sender import deliver
from tests.cli.telemetry.servers import collector, stored_ids
from tests.cli.telemetry.test_sender import settings

PAGE = 4096


def message(n: int) -> dict[str, object]:
    return {
        "type": "track",
        "event": f"E{n}",
        "messageId": str(uuid.uuid4()),
        "anonymousId": "anon",
        "timestamp": "2026-01-01T00:00:00.000+00:00",
        "properties": {"padding": "x" * 100},
    }


def environment(home: Path) -> Environment:
    return Environment(
        stdout=io.StringIO(), stderr=io.StringIO(), variables={"AUTHFUNNEL_HOME": str(home)}
    )


def bodies(path: Path, table: str = "messages") -> list[dict[str, object]]:
    db = sqlite3.connect(path)
    try:
        rows = db.execute(f"SELECT body FROM {table} ORDER BY id").fetchall()
    finally:
        db.close()
    return [json.loads(body) for (body,) in rows]


def test_a_damaged_page_is_moved_aside_and_every_readable_message_kept(tmp_path: Path) -> None:
    path = tmp_path / "state" / "outbox.sqlite3"
    outbox = Outbox(path)
    sent = [message(n) for n in range(3000)]
    for each in sent:
        outbox.append(each)
    outbox.db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    outbox.close()
    size = path.stat().st_size
    with open(path, "r+b") as file:  # one page in the middle of the messages table
        file.seek(size // 2 // PAGE * PAGE)
        file.write(b"\xff" * PAGE)

    env = environment(tmp_path)
    client = open_client(env)
    assert isinstance(client, OutboxClient)
    fsm.track_event(client, fsm.command_invoked("status"))
    client.close(0)

    warning = env.stderr.getvalue()  # type: ignore[attr-defined]
    assert warning.count("\n") == 1
    assert "was damaged: moved it to" in warning
    moved_files = path.parent.glob("outbox.sqlite3.corrupt-*")
    (moved,) = (p for p in moved_files if not p.name.endswith(("-wal", "-shm")))
    kept = bodies(path)
    assert kept[-1]["event"] == fsm.COMMAND_INVOKED  # recording went on
    kept_ids = [m["messageId"] for m in kept[:-1]]
    assert len(kept_ids) > 2900  # a page holds ~30 of them: only those around it are lost
    assert kept_ids == [m["messageId"] for m in sent if m["messageId"] in set(kept_ids)]
    later = environment(tmp_path)
    open_client(later).close(0)
    assert later.stderr.getvalue() == ""  # type: ignore[attr-defined]  # warned once
    assert moved.exists()


@pytest.mark.parametrize(
    ("column", "damage"),
    [("started_body", "{not json"), ("recovery", '{"role": "sole"}')],
    ids=["started message", "recovery"],
)
def test_a_bad_open_flow_row_is_quarantined_and_the_other_flows_recovered(
    tmp_path: Path, column: str, damage: str
) -> None:
    env = environment(tmp_path)
    client = open_client(env)
    for flow in (fsm.LOGIN, fsm.SIGNUP):
        fsm.track_event(client, fsm.auth_started(flow.flow, no_browser=False))
    client.close(0)
    path = tmp_path / "state" / "outbox.sqlite3"
    db = sqlite3.connect(path)
    db.execute(f"UPDATE open_flows SET {column} = ? WHERE flow = 'signup'", (damage,))
    db.commit()
    db.close()

    outbox = Outbox(path)
    (recovered,) = _flows.recover(outbox, alive=lambda pid, start: False)
    assert recovered["properties"]["flow"] == "login"
    assert outbox.db.execute("SELECT COUNT(*) FROM open_flows").fetchone() == (0,)
    (source, data) = outbox.db.execute("SELECT source, data FROM quarantine").fetchone()
    assert source == "open_flows"
    assert damage in data
    # and recording goes on: the next invocation is not turned off by it
    later = environment(tmp_path)
    assert isinstance(open_client(later), OutboxClient)
    assert later.stderr.getvalue() == ""  # type: ignore[attr-defined]


def test_a_message_body_that_is_not_json_is_quarantined_and_the_rest_delivered(
    tmp_path: Path,
) -> None:
    path = tmp_path / "state" / "outbox.sqlite3"
    outbox = Outbox(path)
    good = [message(1), message(2)]
    outbox.append(good[0])
    outbox.db.execute(
        "INSERT INTO messages (message_id, created, body) VALUES ('x', 0, '{truncated')"
    )
    outbox.append(good[1])

    show = environment(tmp_path)
    assert main(["telemetry", "show", "--json"], show) == 0
    shown = [json.loads(line) for line in show.stdout.getvalue().splitlines()]  # type: ignore[attr-defined]
    assert [m["messageId"] for m in shown] == [m["messageId"] for m in good]

    store = tmp_path / "store.jsonl"
    with collector(store) as server:
        report = deliver(outbox, settings(tmp_path, server.url), budget=60)
    assert (report.outcome, report.rejected, report.remaining) == ("delivered", 0, 0)
    assert stored_ids(store)[:2] == [m["messageId"] for m in good]  # then show's own events
    assert outbox.db.execute("SELECT source, data FROM quarantine").fetchall() == [
        ("messages", "'{truncated'")
    ]


def test_a_bad_row_two_processes_read_at_once_is_quarantined_once(tmp_path: Path) -> None:
    # A sender and 'telemetry show' both read the bad row before either moved it: each then
    # moves what it read. The row is one row, counted once.
    path = tmp_path / "state" / "outbox.sqlite3"
    first, second = Outbox(path), Outbox(path)
    first.db.execute("INSERT INTO messages (message_id, created, body) VALUES ('x', 0, '{bad')")
    read_by_first = first.db.execute("SELECT id, body FROM messages").fetchall()
    assert second.pending() == []  # the second moved it
    first.quarantine("messages", [(row_id, body, "not JSON") for row_id, body in read_by_first])
    assert first.db.execute("SELECT COUNT(*) FROM quarantine").fetchone() == (1,)
    assert first.get("quarantined") == "1"
