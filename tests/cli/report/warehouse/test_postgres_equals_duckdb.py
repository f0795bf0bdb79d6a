"""The report computed inside PostgreSQL equals the DuckDB report on the same events.

Events are the reference tests' generated populations (``population``: damaged invocations,
retries, orphans, ties, other Segment clients), loaded into Segment's warehouse layout
(``segment_layout``), and one larger clean population from ``simulate``. Every figure of the
JSON report must be identical, except the bookkeeping of messages the funnels do not read:
the warehouse counts malformed (unplaced) and approximate messages among the events the
funnels read only (it never opens other events' tables).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg
import pytest
from hypothesis import given

from authfunnel.fsm import BUILTIN_FUNNELS, Funnel
from tests.cli.report.warehouse.parity import (
    GENERATED,
    SCHEMA,
    assert_same_report,
    duckdb_and_warehouse,
    parity_settings,
    simulated_messages,
)
from tests.cli.report.warehouse.segment_layout import load_segment, segment_messages

SETTINGS = parity_settings(max_examples=40)


def both_reports(
    con: psycopg.Connection[Any],
    database: str,
    folder: Path,
    messages: list[dict[str, Any]],
    funnels: list[Funnel],
    **query: Any,
) -> tuple[dict[str, Any], dict[str, Any]]:
    """The JSON report of ``messages`` by DuckDB (from a file) and by PostgreSQL."""

    def load(stored: list[dict[str, Any]]) -> str:
        load_segment(con, SCHEMA, stored)
        return f"{database}?schema={SCHEMA}"

    return duckdb_and_warehouse(load, folder, messages, funnels, **query)


@SETTINGS
@given(**GENERATED)
def test_postgres_report_equals_duckdb_report_on_generated_populations(
    warehouse: psycopg.Connection[Any],
    database: str,
    tmp_path: Path,
    messages: list[dict[str, Any]],
    funnels: list[Funnel],
    by: str | None,
    since: datetime | None,
    until: datetime | None,
    window: timedelta,
) -> None:
    """Every figure alike, the completed-late flows and time-to-convert bins of a
    conversion window as short as a second too, and first-seen times of non-versions."""
    if not segment_messages(messages):
        return
    local, remote = both_reports(
        warehouse,
        database,
        tmp_path,
        messages,
        funnels,
        by=by,
        since=since,
        until=until,
        window=window,
    )
    assert_same_report(remote, local)


@pytest.mark.parametrize("by", [None, "os"])
def test_postgres_report_equals_duckdb_report_on_simulated_traffic(
    warehouse: psycopg.Connection[Any], database: str, tmp_path: Path, by: str | None
) -> None:
    """A larger population: what ``authfunnel simulate`` records for 3,000 invocations."""
    messages = simulated_messages(tmp_path)
    local, remote = both_reports(
        warehouse, database, tmp_path, messages, list(BUILTIN_FUNNELS), by=by
    )
    assert local["flows"]["login"]["started"] > 1000
    assert_same_report(remote, local)


def test_by_a_property_no_event_carries_is_refused_alike(
    warehouse: psycopg.Connection[Any], database: str, tmp_path: Path
) -> None:
    messages = [
        {
            "type": "track",
            "event": "CLI Auth Started",
            "properties": {"invocation_id": "a", "sequence": 1, "flow": "login"},
            "timestamp": "2026-01-10T00:00:00.000Z",
        }
    ]
    local, remote = both_reports(
        warehouse, database, tmp_path, messages, list(BUILTIN_FUNNELS), by="os"
    )
    assert remote == local == {"refused": "no event carries the property 'os'"}


def flow_messages(number: int, day: int, version: str, took_ms: int) -> list[dict[str, Any]]:
    """One login flow started on January ``day``, completed after ``took_ms``."""
    properties = {"invocation_id": f"inv-{number}", "flow": "login", "cli_version": version}
    when = f"2026-01-{day:02d}T00:00:00.000Z"
    return [
        {
            "type": "track",
            "event": event,
            "properties": {**properties, "sequence": sequence, **extra},
            "timestamp": when,
        }
        for sequence, (event, extra) in enumerate(
            [("CLI Auth Started", {}), ("CLI Auth Completed", {"duration_ms": took_ms})], 1
        )
    ]


def test_by_cli_version_orders_values_not_versions_by_first_seen_and_counts_late_alike(
    warehouse: psycopg.Connection[Any], database: str, tmp_path: Path
) -> None:
    """'nightly' was seen before 'dev' (on an event no funnel reads, even), so it is listed
    first, not by name; a flow longer than the window is completed late in both."""
    messages = [
        *flow_messages(1, 12, "1.10", 500),
        *flow_messages(2, 11, "1.9", 5_000),
        *flow_messages(3, 13, "dev", 500),
        *flow_messages(4, 14, "nightly", 500),
        {
            "type": "track",
            "event": "Something Else",
            "properties": {"cli_version": "nightly"},
            "timestamp": "2026-01-10T00:00:00.000Z",
        },
    ]
    local, remote = both_reports(
        warehouse,
        database,
        tmp_path,
        messages,
        list(BUILTIN_FUNNELS),
        by="cli_version",
        window=timedelta(seconds=1),
    )
    assert list(local["flows"]["login"]["breakdown"]) == ["1.9", "1.10", "nightly", "dev"]
    assert local["flows"]["login"]["completed_late"] == 1
    assert_same_report(remote, local)
