"""The analysed range a report states: the first and last times of its well-formed messages."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from authfunnel.cli.report import build_report
from authfunnel.fsm import LOGIN


def _message(stamp: str, **fields: object) -> str:
    properties = {"invocation_id": "a", "sequence": 1, "flow": "login"}
    return json.dumps({"type": "track", "timestamp": stamp, "properties": properties, **fields})


@pytest.mark.parametrize("malformed", [False, True])
def test_the_range_is_read_from_well_formed_messages_only(tmp_path: Path, malformed: bool) -> None:
    """A message with no event name, stamped years away, is malformed: it widens nothing."""
    lines = [
        _message("2026-01-12T12:00:00Z", event="CLI Auth Started"),
        _message("2026-01-13T12:00:00Z", event="CLI Auth Completed", sequence=2),
    ]
    if malformed:
        lines.append(_message("2031-01-01T00:00:00Z"))
    source = tmp_path / "events.jsonl"
    source.write_text("\n".join(lines) + "\n")
    report = build_report(source, [LOGIN])
    assert report.loaded.malformed == int(malformed)
    assert (report.first_event, report.last_event) == (
        datetime(2026, 1, 12, 12, tzinfo=UTC),
        datetime(2026, 1, 13, 12, tzinfo=UTC),
    )
