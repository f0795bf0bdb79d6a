"""A warehouse report follows the funnels' declarations too: a custom funnel's events are
read from their own tables (Segment snake_cases "Deploy Started" to ``deploy_started``),
and the events of flows not reported are counted per flow, as the DuckDB paths count them."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import psycopg

from authfunnel.fsm import BUILTIN_FUNNELS, COMMAND
from tests.cli.report.custom_funnels import DEPLOY, ROLLBACK
from tests.cli.report.warehouse.test_postgres_equals_duckdb import (
    assert_same_report,
    both_reports,
)

DEPLOYS = 6


def deploy_messages() -> list[dict[str, Any]]:
    """Six deploy commands, each a deploy flow (the even ones completed, the odd ones
    failed at upload), and one rollback that was aborted; events with no flow too."""
    messages = []
    for number in range(DEPLOYS):
        ending = (
            ("Deploy Completed", {"duration_ms": 40})
            if number % 2 == 0
            else ("Deploy Failed", {"step": "upload", "error_class": "OSError", "duration_ms": 9})
        )
        events = [
            ("Command Invoked", {"command": "deploy"}),
            ("Deploy Started", {"flow": "deploy"}),
            (ending[0], {"flow": "deploy", **ending[1]}),
            ("Command Completed", {"command": "deploy", "succeeded": number % 2 == 0}),
        ]
        messages += [
            {
                "type": "track",
                "event": event,
                "properties": {"invocation_id": f"inv-{number}", "sequence": sequence, **extra},
                "timestamp": f"2026-01-10T00:00:0{sequence}.000Z",
            }
            for sequence, (event, extra) in enumerate(events, 1)
        ]
    rollback = {"invocation_id": "rb", "flow": "rollback"}
    messages += [
        {"type": "track", "event": "Deploy Started", "properties": {**rollback, "sequence": 1}},
        {
            "type": "track",
            "event": "Deploy Aborted",
            "properties": {**rollback, "sequence": 2, "step": "revert", "reason": "interrupt"},
        },
        {
            "type": "track",
            "event": "Signed In",
            "properties": {"invocation_id": "x", "sequence": 1},
        },
    ]
    for message in messages:
        message.setdefault("timestamp", "2026-01-10T01:00:00.000Z")
    return messages


def test_the_app_flows_are_counted_not_reported_alike(
    warehouse: psycopg.Connection[Any], database: str, tmp_path: Path
) -> None:
    local, remote = both_reports(
        warehouse, database, tmp_path, deploy_messages(), list(BUILTIN_FUNNELS)
    )
    assert_same_report(remote, local)
    assert remote["unreported_events"] == {
        "total": 2 * DEPLOYS + 2 + 1,
        "by_flow": {"deploy": 2 * DEPLOYS, "rollback": 2},
        "by_event": {"Signed In": 1},
    }


def test_custom_funnels_are_read_from_their_own_tables_alike(
    warehouse: psycopg.Connection[Any], database: str, tmp_path: Path
) -> None:
    funnels = [DEPLOY, ROLLBACK, COMMAND]
    local, remote = both_reports(warehouse, database, tmp_path, deploy_messages(), funnels)
    assert_same_report(remote, local)
    deploy, rollback = remote["flows"]["deploy"], remote["flows"]["rollback"]
    assert (deploy["started"], deploy["completed"], deploy["failed"]) == (DEPLOYS, 3, 3)
    assert (rollback["started"], rollback["aborted"]) == (1, 1)
    assert remote["unreported_events"]["by_event"] == {"Signed In": 1}


def test_a_cancelled_command_is_aborted_for_its_recorded_reason_alike(
    warehouse: psycopg.Connection[Any], database: str, tmp_path: Path
) -> None:
    """The warehouse reads a cancelled command's ``reason`` as the DuckDB paths do; one
    recorded without it (an older authfunnel) is an interrupt."""
    messages = []
    for number, reason in enumerate(["prompt", "terminated", None]):
        said = {} if reason is None else {"reason": reason}
        cancelled = {"succeeded": False, "user_cancelled": True, **said}
        for sequence, (name, extra) in enumerate(
            [("Command Invoked", {}), ("Command Completed", cancelled)], 1
        ):
            properties = {"invocation_id": f"c-{number}", "sequence": sequence, **extra}
            messages.append(
                {
                    "type": "track",
                    "event": name,
                    "properties": {"command": "deploy", **properties},
                    "timestamp": f"2026-01-10T00:00:0{sequence}.000Z",
                }
            )
    local, remote = both_reports(warehouse, database, tmp_path, messages, [COMMAND])
    assert_same_report(remote, local)
    assert remote["flows"]["command"]["aborted_by_reason"] == {
        "prompt": 1,
        "terminated": 1,
        "interrupt": 1,
    }
