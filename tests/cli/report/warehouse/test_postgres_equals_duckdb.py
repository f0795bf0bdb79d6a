"""The report computed inside PostgreSQL equals the DuckDB report on the same events.

Events are the reference tests' generated populations (``population``: damaged invocations,
retries, orphans, ties, other Segment clients), loaded into Segment's warehouse layout
(``segment_layout``), and one larger clean population from ``simulate``. Every figure of the
JSON report must be identical, except the bookkeeping of messages the funnels do not read:
the warehouse counts malformed (unplaced) and approximate messages among the events the
funnels read only (it never opens other events' tables).
"""

from __future__ import annotations

import json
import os
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from authfunnel.cli.app import CliError, Environment
from authfunnel.cli.report import as_json, build_report, report_source
from authfunnel.cli.report._warehouse_connect import Warehouse
from authfunnel.fsm import BUILTIN_FUNNELS, Funnel
from tests.cli.report.test_report_reference import FUNNEL_SETS, WHEN, WINDOWS, population
from tests.cli.report.warehouse.segment_layout import load_segment, segment_messages

SCHEMA = "cli_prod"
# What the warehouse counts only among the events it reads (see the module).
READ_ONLY_BOOKKEEPING = ("malformed", "malformed_by_reason", "approximate", "placed_by_time")


def env() -> Environment:
    return Environment(variables=dict(os.environ))


def both_reports(
    con: psycopg.Connection[Any],
    database: str,
    folder: Path,
    messages: list[dict[str, Any]],
    funnels: list[Funnel],
    **query: Any,
) -> tuple[dict[str, Any], dict[str, Any]]:
    """The JSON report of ``messages`` by DuckDB (from a file) and by PostgreSQL."""
    stored = segment_messages(messages)
    load_segment(con, SCHEMA, stored)
    source = folder / "events.jsonl"
    source.write_text("".join(json.dumps(m) + "\n" for m in stored))
    warehouse = report_source(f"{database}?schema={SCHEMA}", env())
    return report_or_refusal(source, funnels, query), report_or_refusal(warehouse, funnels, query)


def report_or_refusal(
    source: Path | Warehouse, funnels: list[Funnel], query: dict[str, Any]
) -> dict[str, Any]:
    """The JSON report less its source and the read-only bookkeeping; or, when the report is
    refused (``--by`` a property no event carries), the refusal."""
    try:
        found = as_json(build_report(source, funnels, **query))
    except CliError as refused:
        return {"refused": refused.message}
    found.pop("source")
    for key in READ_ONLY_BOOKKEEPING:
        found.pop(key)
    return found


SETTINGS = settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
        HealthCheck.function_scoped_fixture,
    ],
)


# Releases and values that are not versions (ordered by when each was first seen), on any
# message, the ones no funnel reads too; or none.
VERSIONS = st.sampled_from([None, "1.0", "1.9", "1.10", "dev", "nightly"])


@st.composite
def versioned(draw: st.DrawFn, messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """``messages``, each carrying a ``cli_version`` or not."""
    stamped = []
    for message in messages:
        value = draw(VERSIONS)
        if value is not None and isinstance(message.get("properties"), dict):
            message = {**message, "properties": {**message["properties"], "cli_version": value}}
        stamped.append(message)
    return stamped


def assert_same_report(remote: dict[str, Any], local: dict[str, Any]) -> None:
    """Equal figures, and in the same order (a breakdown's rows are ordered: releases by
    PEP 440, then the other values by when each was first seen)."""
    assert remote == local

    def rows(report: dict[str, Any]) -> dict[str, list[str]]:
        return {name: list(flow.get("breakdown", ())) for name, flow in report["flows"].items()}

    if "flows" in local:
        assert rows(remote) == rows(local)


@SETTINGS
@given(
    messages=population().flatmap(versioned),
    funnels=st.sampled_from(FUNNEL_SETS),
    by=st.sampled_from([None, "os", "no_browser", "cli_version"]),
    since=WHEN,
    until=WHEN,
    window=WINDOWS,
)
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
    import io

    from authfunnel.cli.__main__ import main

    simulated = tmp_path / "simulated.jsonl"
    variables = {"AUTHFUNNEL_HOME": str(tmp_path / "home"), "DO_NOT_TRACK": "1"}
    quiet = Environment(stdout=io.StringIO(), stderr=io.StringIO(), variables=variables)
    status = main(["simulate", "--flows", "3000", "--seed", "7", "--out", str(simulated)], quiet)
    assert status == 0
    messages = [json.loads(line) for line in simulated.read_text().splitlines()]
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
