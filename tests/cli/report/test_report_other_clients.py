"""Messages from any Segment client are reported: with no ``invocation_id`` / ``sequence``
they are placed by sender and time, and the report says its figures are approximate.

The messages go through the real segment-analytics-python client to the real collector on
127.0.0.1, as another application's telemetry would; the report reads the collector's store.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from tests.cli.report.test_report_sources import run_cli
from tests.cli.telemetry.servers import collector

T0 = datetime(2026, 2, 3, 10, 0, tzinfo=UTC)


def send(store: Path, messages: list[tuple[dict[str, str], str, dict[str, Any], int]]) -> None:
    """Each (sender, event, properties, seconds after T0), through the real Segment client."""
    from segment.analytics import Client

    with collector(store) as server:
        client = Client("wk", host=server.url, upload_interval=0.05)
        for sender, event, properties, seconds in messages:
            client.track(
                **sender,
                event=event,
                properties=properties,
                timestamp=T0 + timedelta(seconds=seconds),
            )
        client.flush()
        client.join()


def test_messages_without_invocation_or_sequence_are_ordered_by_time_per_sender(
    tmp_path: Path,
) -> None:
    store = tmp_path / "store.jsonl"
    login = {"flow": "login"}
    anna, ben, carl = {"anonymous_id": "anna"}, {"anonymous_id": "ben"}, {"user_id": "carl"}
    # Sent out of time order: the order within each sender comes from the timestamps.
    send(
        store,
        [
            (anna, "CLI Auth Failed", {**login, "step": "code_exchange"}, 20),
            (anna, "CLI Auth Started", login, 0),
            (ben, "CLI Auth Started", login, 5),
            (anna, "CLI Auth Completed", {**login, "duration_ms": 4000}, 50),
            (anna, "CLI Auth Started", login, 40),  # a second flow: each start opens one
            (ben, "CLI Auth Aborted", {**login, "step": "browser_wait", "reason": "declined"}, 9),
            (carl, "CLI Auth Completed", {**login, "duration_ms": 2000}, 3),  # sent first
            (carl, "CLI Auth Started", login, 1),
        ],
    )
    status, out, err = run_cli(tmp_path, "report", "--format", "json", "--source", str(store))
    assert status == 0, err
    found = json.loads(out)
    assert found["malformed"] == 0
    assert found["approximate"] is True
    assert found["placed_by_time"] == 8
    figures = found["flows"]["login"]
    assert (figures["started"], figures["completed"]) == (4, 2)
    assert (figures["failed"], figures["aborted"]) == (1, 1)
    assert figures["aborted_by_reason"] == {"declined": 1}
    assert figures["median_ms"] == 3000  # anna's 4000 and carl's 2000
    assert found["terminal_events_without_start"] == 0
    assert "approximate: 8 messages without invocation_id / sequence" in err

    status, table, _ = run_cli(tmp_path, "report", "--source", str(store))
    assert status == 0
    assert "approximate: 8 messages without invocation_id / sequence" in table


def test_a_report_of_our_own_messages_is_not_labelled_approximate(tmp_path: Path) -> None:
    source = tmp_path / "events.jsonl"
    messages = [
        {
            "type": "track",
            "event": event,
            "anonymousId": "anna",
            "timestamp": f"2026-02-03T10:00:0{sequence}Z",
            "properties": {"invocation_id": "i", "sequence": sequence, "flow": "login"},
        }
        for sequence, event in enumerate(["CLI Auth Started", "CLI Auth Completed"], start=1)
    ]
    source.write_text("".join(json.dumps(m) + "\n" for m in messages))
    status, out, err = run_cli(tmp_path, "report", "--format", "json", "--source", str(source))
    assert status == 0, err
    found = json.loads(out)
    assert (found["approximate"], found["placed_by_time"]) == (False, 0)
    assert "approximate" not in err
