"""Messages from any Segment client are reported: with no ``invocation_id`` / ``sequence``
they are placed by sender and time, and the report says its figures are approximate.

The messages go through the real segment-analytics-python client to the real collector on
127.0.0.1, as another application's telemetry would; the report reads the collector's store.
"""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from authfunnel.cli.report._reference import reference_result
from authfunnel.fsm import BUILTIN_FUNNELS
from tests.cli.report.test_report_layout import child_variables
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


def test_a_timestamp_without_an_offset_is_utc_whatever_the_machines_time_zone(
    tmp_path: Path,
) -> None:
    # Written without an offset, 10:00 is 10:00 UTC, as the reference reads it: 5 hours after
    # the failure stamped 05:00Z, so the failure comes first and ends no flow. Read in the
    # machine's zone instead, Tokyo's 10:00 (01:00Z) would come before it and fail the flow.
    sender = {"anonymousId": "anna"}
    messages = [
        {
            **sender,
            "type": "track",
            "event": "CLI Auth Started",
            "timestamp": "2026-02-03T10:00:00",
            "properties": {"flow": "login"},
        },
        {
            **sender,
            "type": "track",
            "event": "CLI Auth Failed",
            "timestamp": "2026-02-03T05:00:00Z",
            "properties": {"flow": "login", "step": "browser_wait", "error_class": "OSError"},
        },
    ]
    source = tmp_path / "other-client.jsonl"
    source.write_text("".join(json.dumps(message) + "\n" for message in messages))
    _, expected = reference_result(messages, list(BUILTIN_FUNNELS))
    assert expected.orphan_terminals == 1  # the oracle's reading, checked before it is used
    argv = ["report", "--format", "json", "--flow", "login", "--source", str(source)]
    done = subprocess.run(
        [sys.executable, "-m", "authfunnel.cli", *argv],
        env=child_variables(tmp_path, TZ="Asia/Tokyo"),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )

    assert done.returncode == 0, done.stderr
    found = json.loads(done.stdout)
    assert found["terminal_events_without_start"] == 1
    assert found["flows"]["login"]["failed"] == 0
    assert found["flows"]["login"]["in_flight"] == 1
