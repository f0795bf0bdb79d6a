"""``telemetry disable`` while a sender posts: the count it gives is true, the archive whole.

A real sender posting to a real endpoint that answers slowly (a byte at a time) on
127.0.0.1, and the real command in the same home.
"""

from __future__ import annotations

import json
import threading
from pathlib import Path

from authfunnel import fsm
from authfunnel.cli.telemetry import Outbox, _lease, deliver, read_recorded
from tests.cli.telemetry.servers import drip
from tests.cli.telemetry.test_sender import settings
from tests.cli.test_telemetry import record, run


def recorded_commands(path: Path) -> list[str]:
    return sorted(json.loads(body)["properties"]["command"] for body in read_recorded(path))


def test_disable_counts_only_what_it_discards_and_the_batch_in_flight_is_archived(
    tmp_path: Path,
) -> None:
    path = tmp_path / "state" / "outbox.sqlite3"
    record(tmp_path, *(fsm.command_invoked(f"sent{n}") for n in range(3)))
    reports = []
    with drip() as server:
        sender = threading.Thread(
            target=lambda: reports.append(
                deliver(Outbox(path), settings(path.parent, server.url, timeout=60), budget=60)
            ),
            daemon=True,
        )
        sender.start()
        assert server.posted.wait(30)  # the three are in flight
        record(tmp_path, fsm.command_invoked("unsent"))
        status, out, _ = run(tmp_path, "telemetry", "disable")
        server.hurry.set()  # the endpoint answers now: 200, the batch is delivered
        sender.join(60)
    assert status == 0
    assert "discarded 1 unsent event;" in out
    assert "3 events already being sent" in out
    assert reports[0].sent == 3
    assert len(server.posts) == 1
    # Delivered, and kept for reports; the discarded one is gone.
    assert recorded_commands(path) == ["sent0", "sent1", "sent2"]


def test_disable_with_no_sender_running_discards_everything(tmp_path: Path) -> None:
    path = tmp_path / "state" / "outbox.sqlite3"
    record(tmp_path, fsm.command_invoked("a"), fsm.command_invoked("b"))
    box = Outbox(path)
    assert _lease.acquire(box, "a killed sender", ttl=-1)  # its lease has lapsed
    box.close()
    status, out, _ = run(tmp_path, "telemetry", "disable")
    assert status == 0
    assert out == "Telemetry disabled; discarded 2 unsent events.\n"
    assert recorded_commands(path) == []


def test_disable_counts_events_only_and_keeps_a_row_that_is_no_event_for_inspection(
    tmp_path: Path,
) -> None:
    path = tmp_path / "state" / "outbox.sqlite3"
    record(tmp_path, fsm.command_invoked("a"), fsm.command_invoked("b"))
    box = Outbox(path)
    box.db.execute("INSERT INTO messages (message_id, created, body) VALUES ('x', 0, '{torn')")
    box.close()
    status, out, _ = run(tmp_path, "telemetry", "disable")
    assert status == 0
    assert out == "Telemetry disabled; discarded 2 unsent events.\n"
    box = Outbox(path)
    assert box.count() == 0
    assert box.db.execute("SELECT data FROM quarantine").fetchall() == [("'{torn'",)]
