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
from datetime import datetime
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
from tests.cli.report.test_report_reference import FUNNEL_SETS, WHEN, population
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


@SETTINGS
@given(
    messages=population(),
    funnels=st.sampled_from(FUNNEL_SETS),
    by=st.sampled_from([None, "os", "no_browser"]),
    since=WHEN,
    until=WHEN,
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
) -> None:
    if not segment_messages(messages):
        return
    local, remote = both_reports(
        warehouse, database, tmp_path, messages, funnels, by=by, since=since, until=until
    )
    assert remote == local


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
    assert remote == local


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
