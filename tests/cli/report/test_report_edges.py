"""Edge cases of the funnel, each pinned by a small example: the fast path, the exact path and
the plain reference all give the report, and the figure that the edge decides is stated.

The property tests (``test_report_reference.py``) find these too, but only when a random
population happens to hold them; these fail every time the rule is broken.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from authfunnel.cli.report._funnel_query import ABANDONED_AFTER_HOURS
from authfunnel.cli.report._funnel_run import QueryPath
from authfunnel.cli.report._json import as_json
from authfunnel.cli.report._model import assemble_report, build_report
from authfunnel.cli.report._reference import reference_result
from authfunnel.fsm import BUILTIN_FUNNELS, Funnel

NOON = datetime(2026, 1, 12, 12, tzinfo=UTC)


def event(
    name: str, invocation: str, sequence: int, at: datetime | None = NOON, **properties: Any
) -> dict[str, Any]:
    if name.startswith("CLI Auth"):
        properties.setdefault("flow", "login")
    message: dict[str, Any] = {
        "type": "track",
        "event": name,
        "properties": {"invocation_id": invocation, "sequence": sequence, **properties},
    }
    if at is not None:
        message["timestamp"] = at.isoformat().replace("+00:00", "Z")
    return message


def report(
    tmp_path: Path,
    messages: list[dict[str, Any]],
    funnels: Sequence[Funnel] = BUILTIN_FUNNELS,
    by: str | None = None,
    **window: datetime,
) -> dict[str, Any]:
    """The report of ``messages``, the same by the reference and by both DuckDB paths."""
    source = tmp_path / "events.jsonl"
    source.write_text("".join(json.dumps(m) + "\n" for m in messages))
    loaded, result = reference_result(messages, funnels, by=by, **window)
    expected = as_json(assemble_report(str(source), funnels, by, loaded, result))
    path: QueryPath
    for path in ("fast", "exact"):
        found = build_report(source, list(funnels), by=by, path=path, **window)
        assert as_json(found) == expected, path
    return expected


def test_a_cancelled_command_is_aborted_by_an_interrupt(tmp_path: Path) -> None:
    messages = [
        event("Command Invoked", "a", 1),
        event("Command Completed", "a", 2, succeeded=False, user_cancelled=True),
    ]
    command = report(tmp_path, messages)["flows"]["command"]
    assert (command["aborted"], command["aborted_by_reason"]) == (1, {"interrupt": 1})


def test_a_cancelled_command_is_aborted_for_the_reason_it_recorded(tmp_path: Path) -> None:
    """A cancelled command's ``Command Completed`` names why it stopped (a declined prompt, a
    signal); one recorded before it did (no ``reason``) is still an interrupt."""
    messages = []
    for number, reason in enumerate(["prompt", "terminated", "hangup", None, "interrupt"]):
        invocation = f"cancelled-{number}"
        said = {} if reason is None else {"reason": reason}
        messages += [
            event("Command Invoked", invocation, 1),
            event("Command Completed", invocation, 2, succeeded=False, user_cancelled=True, **said),
        ]
    command = report(tmp_path, messages)["flows"]["command"]
    assert command["aborted"] == 5
    assert command["aborted_by_reason"] == {
        "interrupt": 2,
        "prompt": 1,
        "terminated": 1,
        "hangup": 1,
    }


def test_a_start_and_an_ending_numbered_alike_pair_start_first_when_retried(
    tmp_path: Path,
) -> None:
    """Two runs, each start and its ending sharing a sequence: the start comes first, so
    neither ending is an orphan."""
    messages = [
        event("CLI Auth Started", "a", 1),
        event("CLI Auth Completed", "a", 1, step="profile_configure"),
        event("CLI Auth Started", "a", 2),
        event("CLI Auth Failed", "a", 2, step="browser_wait", error_class="OSError"),
    ]
    found = report(tmp_path, messages)
    login = found["flows"]["login"]
    assert (login["started"], login["completed"], login["failed"]) == (2, 1, 1)
    assert found["terminal_events_without_start"] == 0


def test_no_browser_on_a_repeated_ending_is_ignored(tmp_path: Path) -> None:
    messages = [
        event("CLI Auth Started", "a", 1, no_browser=False),
        event("CLI Auth Completed", "a", 2, step="profile_configure", no_browser=True),
        event("CLI Auth Completed", "a", 3, step="profile_configure", no_browser=True),
    ]
    assert report(tmp_path, messages)["flows"]["login"]["no_browser"] == 0


def test_a_flow_started_at_the_cutoff_itself_is_in_flight(tmp_path: Path) -> None:
    """Abandoned means started before the cutoff (the newest time less a day), strictly."""
    newest = NOON + timedelta(hours=ABANDONED_AFTER_HOURS)
    messages = [
        event("CLI Auth Started", "a", 1),
        event("CLI Auth Started", "b", 1, at=NOON - timedelta(milliseconds=1)),
        event("Something Else", "c", 1, at=newest),
    ]
    login = report(tmp_path, messages)["flows"]["login"]
    assert (login["in_flight"], login["abandoned"]) == (1, 1)


def test_a_flow_ended_across_the_cutoff_is_ended_with_by(tmp_path: Path) -> None:
    """Started before the cutoff, ended after it: with ``--by`` too, one completed flow,
    neither abandoned nor in flight."""
    newest = NOON + timedelta(hours=ABANDONED_AFTER_HOURS + 1)
    messages = [
        event("CLI Auth Started", "a", 1, os="linux"),
        event("CLI Auth Completed", "a", 2, NOON + timedelta(hours=2), os="linux"),
        event("CLI Auth Started", "b", 1, os="linux"),  # open, so counts cannot go negative
        event("Something Else", "c", 1, at=newest),
    ]
    login = report(tmp_path, messages, by="os")["flows"]["login"]
    assert (login["completed"], login["abandoned"], login["in_flight"]) == (1, 1, 0)
    assert login["breakdown"]["linux"]["completed"] == 1


def test_endings_without_a_start_are_counted_whatever_the_window(tmp_path: Path) -> None:
    """Orphans are bookkeeping of the whole source: never dropped silently, nor windowed."""
    messages = [
        event("CLI Auth Completed", "a", 1, step="profile_configure", duration_ms=9_000),
        event("CLI Auth Started", "b", 1, NOON + timedelta(hours=2)),
        event("CLI Auth Completed", "b", 2, NOON + timedelta(hours=2), duration_ms=1_000),
    ]
    found = report(tmp_path, messages, since=NOON + timedelta(hours=1))
    assert found["terminal_events_without_start"] == 1
    assert found["flows"]["login"]["completed"] == 1
    # The orphan's duration is no completed flow's.
    assert found["flows"]["login"]["median_ms"] == 1_000


def test_a_retried_flows_by_value_is_its_starts_when_its_ending_says_another(
    tmp_path: Path,
) -> None:
    """A retry pairs instance by instance; each flow still takes its start's ``--by`` value,
    its ending's only when the start has none."""
    messages = [
        event("CLI Auth Started", "a", 1, os="linux"),
        event("CLI Auth Failed", "a", 2, step="browser_wait", os="darwin"),
        event("CLI Auth Started", "a", 3),
        event("CLI Auth Completed", "a", 4, step="profile_configure", os="darwin"),
    ]
    breakdown = report(tmp_path, messages, by="os")["flows"]["login"]["breakdown"]
    assert {value: (f["failed"], f["completed"]) for value, f in breakdown.items()} == {
        "linux": (1, 0),
        "darwin": (0, 1),
    }
