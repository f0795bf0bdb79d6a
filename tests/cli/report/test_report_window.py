"""``--since`` / ``--until``: a flow belongs to the window by its start's time, on both paths.

Each test runs the fast path (the per-invocation check without ``--by``, the per-flow check
with it) and the exact path, so each half of every window test in the SQL has a flow that
needs it: one started before ``--since`` and ended after, one started before ``--until`` and
ended after, and one whose ending is stamped before its start (a clock stepped back).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from authfunnel.cli.report import as_json, build_report
from authfunnel.cli.report._funnel_run import QueryPath
from authfunnel.fsm import BUILTIN_FUNNELS

PATHS: list[QueryPath] = ["fast", "exact"]


def at(hour: int) -> datetime:
    return datetime(2026, 1, 12, hour, tzinfo=UTC)


def login(invocation: str, started: int | None, ended: int | None) -> list[dict[str, Any]]:
    """A completed login of ``invocation``: its start and ending stamped at these hours (None:
    no timestamp), numbered 1 and 2, with its ``os`` on both."""
    messages = []
    for sequence, (event, hour) in enumerate(
        [("CLI Auth Started", started), ("CLI Auth Completed", ended)], start=1
    ):
        properties = {"invocation_id": invocation, "sequence": sequence, "flow": "login"}
        properties |= {"os": "linux", "duration_ms": 1000, "step": "profile_configure"}
        message: dict[str, Any] = {"type": "track", "event": event, "properties": properties}
        if hour is not None:
            message["timestamp"] = at(hour).isoformat().replace("+00:00", "Z")
        messages.append(message)
    return messages


def report(
    tmp_path: Path, messages: list[dict[str, Any]], path: QueryPath, by: str | None, **window: Any
) -> dict[str, Any]:
    source = tmp_path / "events.jsonl"
    source.write_text("".join(json.dumps(m) + "\n" for m in messages))
    found = as_json(build_report(source, list(BUILTIN_FUNNELS), path=path, by=by, **window))
    assert found["terminal_events_without_start"] == 0
    figures: dict[str, Any] = found["flows"]["login"]
    return figures


def outcomes(figures: dict[str, Any]) -> tuple[int, int, int]:
    return figures["started"], figures["completed"], figures["in_flight"]


@pytest.mark.parametrize("by", [None, "os"])
@pytest.mark.parametrize("path", PATHS)
def test_a_flow_started_before_since_and_ended_after_is_left_out(
    tmp_path: Path, path: QueryPath, by: str | None
) -> None:
    messages = login("spanning", 10, 12) + login("inside", 12, 12)
    figures = report(tmp_path, messages, path, by, since=at(11))
    assert outcomes(figures) == (1, 1, 0)


@pytest.mark.parametrize("by", [None, "os"])
@pytest.mark.parametrize("path", PATHS)
def test_a_flow_started_before_until_and_ended_after_is_counted_ended(
    tmp_path: Path, path: QueryPath, by: str | None
) -> None:
    messages = login("spanning", 10, 12) + login("after", 12, 12)
    figures = report(tmp_path, messages, path, by, until=at(11))
    assert outcomes(figures) == (1, 1, 0)
    assert figures["median_ms"] == 1000


@pytest.mark.parametrize("by", [None, "os"])
@pytest.mark.parametrize("path", PATHS)
def test_a_flow_in_both_bounds_with_its_ending_past_until_is_counted_ended(
    tmp_path: Path, path: QueryPath, by: str | None
) -> None:
    messages = login("spanning", 11, 13) + login("before", 9, 10) + login("after", 13, 13)
    figures = report(tmp_path, messages, path, by, since=at(10), until=at(12))
    assert outcomes(figures) == (1, 1, 0)


@pytest.mark.parametrize("by", [None, "os"])
@pytest.mark.parametrize("path", PATHS)
def test_a_flow_whose_ending_is_stamped_before_its_start_belongs_by_its_start(
    tmp_path: Path, path: QueryPath, by: str | None
) -> None:
    """A clock stepped back between the start (12:00, inside) and its ending (10:00)."""
    messages = login("stepped-back", 12, 10)
    assert outcomes(report(tmp_path, messages, path, by, since=at(11))) == (1, 1, 0)
    assert outcomes(report(tmp_path, messages, path, by, until=at(11))) == (0, 0, 0)


@pytest.mark.parametrize("by", [None, "os"])
@pytest.mark.parametrize("path", PATHS)
def test_a_flow_whose_start_has_no_time_is_in_no_window(
    tmp_path: Path, path: QueryPath, by: str | None
) -> None:
    messages = login("untimed", None, 12)
    assert outcomes(report(tmp_path, messages, path, by, since=at(11))) == (0, 0, 0)
    assert outcomes(report(tmp_path, messages, path, by)) == (1, 1, 0)


@pytest.mark.parametrize("by", [None, "os"])
@pytest.mark.parametrize("path", PATHS)
def test_a_retried_flow_belongs_by_its_start_when_its_ending_is_stamped_earlier(
    tmp_path: Path, path: QueryPath, by: str | None
) -> None:
    """The same, in a group paired instance by instance (a retry in one invocation)."""
    first, retry = login("retried", 12, 10), login("retried", 12, 12)
    for sequence, message in enumerate(first + retry, start=1):
        message["properties"]["sequence"] = sequence
    figures = report(tmp_path, first + retry, path, by, since=at(11))
    assert outcomes(figures) == (2, 2, 0)
