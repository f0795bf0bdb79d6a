"""How PostgreSQL plans the report's figures query, read from its own EXPLAIN on a real
server: the shape the benchmark (``tests/benchmarks/bench_warehouse.py``) found fast, pinned
as plans rather than timings, so that it holds on a slow, busy machine."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import psycopg
import pytest

from authfunnel.cli.report._warehouse_connect import postgres_sql
from authfunnel.cli.report._warehouse_figures import cutoff, figures, instances, paired
from authfunnel.cli.report._warehouse_query import read_events
from authfunnel.fsm import BUILTIN_FUNNELS
from tests.cli.report.warehouse.parity import simulated_messages
from tests.cli.report.warehouse.segment_layout import load_segment, segment_messages

SCHEMA = "cli_prod"


@pytest.fixture(scope="module")
def messages(tmp_path_factory: pytest.TempPathFactory) -> list[dict[str, Any]]:
    return segment_messages(simulated_messages(tmp_path_factory.mktemp("plans"), 300))


def _tables(con: psycopg.Connection[Any]) -> dict[str, dict[str, str]]:
    tables: dict[str, dict[str, str]] = {}
    for table, column, kind in con.execute(
        "SELECT table_name, column_name, data_type FROM information_schema.columns "
        "WHERE table_schema = %s ORDER BY table_name, ordinal_position",
        (SCHEMA,),
    ).fetchall():
        tables.setdefault(table, {})[column] = kind
    return tables


def _plan(con: psycopg.Connection[Any], sql: str) -> dict[str, Any]:
    (row,) = con.execute(f"EXPLAIN (FORMAT JSON) {sql}").fetchall()
    return dict(row[0][0]["Plan"])


def _nodes(plan: dict[str, Any]) -> Iterator[dict[str, Any]]:
    yield plan
    for child in plan.get("Plans", ()):
        yield from _nodes(child)


def _over_events(plan: dict[str, Any], kind: str) -> list[dict[str, Any]]:
    """The nodes of ``kind`` that read the event tables, each the lowest such above them
    (the tallies and windows over those nodes' rows are left out)."""
    found = []
    for node in _nodes(plan):
        below = [n for child in node.get("Plans", ()) for n in _nodes(child)]
        scans = any("Relation Name" in n for n in below)
        if node["Node Type"] == kind and scans and not any(n["Node Type"] == kind for n in below):
            found.append(node)
    return found


@pytest.fixture
def figures_sql(warehouse: psycopg.Connection[Any], messages: list[dict[str, Any]]) -> str:
    load_segment(warehouse, SCHEMA, messages)
    warehouse.execute("ANALYZE")
    events = read_events(_tables(warehouse), SCHEMA, BUILTIN_FUNNELS, None)
    assert events is not None
    found = instances(
        paired(events, start_time=False, breakdown=False), cutoff(None), None, None, 1
    )
    return postgres_sql(figures(found))


def test_every_string_is_text_as_the_tables_columns_are(figures_sql: str) -> None:
    assert "VARCHAR" not in figures_sql.upper()
    assert "AS TEXT)" in figures_sql.upper()


def test_the_window_sorts_its_events_in_parallel_workers(
    warehouse: psycopg.Connection[Any], figures_sql: str
) -> None:
    """With parallel work free to start (as it pays at millions of events), each worker
    scans the event tables and sorts its share, merged in order for the window: with the
    strings typed VARCHAR, one process sorted everything (10 M events: 10.1 s -> 5.2 s)."""
    for setting in ("parallel_setup_cost", "parallel_tuple_cost", "min_parallel_table_scan_size"):
        warehouse.execute(f"SET {setting} = 0")
    (window,) = _over_events(_plan(warehouse, figures_sql), "WindowAgg")
    (below,) = window["Plans"]
    assert below["Node Type"] == "Gather Merge"
    assert below["Plans"][0]["Node Type"] == "Sort"
