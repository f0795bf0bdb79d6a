"""What the warehouse report's figures query reads, pinned where the benchmark
(``tests/benchmarks/bench_warehouse.py``) found time going: ``tracks``, every message of the
source, is scanned once per report (its bookkeeping), not again by the figures; each event
table once for the read events' bookkeeping and the events not reported together; the
window computes only what it must."""

from __future__ import annotations

from datetime import UTC, datetime

import ibis
import psycopg
import sqlglot

from authfunnel.cli.report._warehouse_figures import cutoff, figures, instances, paired
from authfunnel.cli.report._warehouse_query import (
    TRACKS,
    bookkeeping,
    event_tables,
    read_events,
    segment_table,
)
from authfunnel.fsm import BUILTIN_FUNNELS
from tests.cli.report.warehouse.test_other_dialects import SCHEMA, TABLES

NEWEST = datetime(2026, 3, 1, tzinfo=UTC)


def test_the_figures_read_the_abandonment_cutoff_from_the_bookkeeping_not_from_tracks() -> None:
    events = read_events(TABLES, SCHEMA, BUILTIN_FUNNELS, None)
    assert events is not None
    sql = ibis.to_sql(
        figures(instances(paired(events), cutoff(NEWEST), None, None, 3_600_000)), "postgres"
    )
    assert '"tracks"' not in sql
    assert "2026-02-28T00:00:00" in sql  # a day before the newest message


def test_the_window_reads_only_whether_its_neighbours_are_a_start_or_an_ending() -> None:
    """Without --since, --until or --by, two window values (one LAG, one LEAD): an instance
    is the ending's own row, its outcome, step, reason... never read again through a LEAD."""
    events = read_events(TABLES, SCHEMA, BUILTIN_FUNNELS, None)
    assert events is not None
    windowed = paired(events, start_time=False, breakdown=False)
    sql = ibis.to_sql(figures(instances(windowed, cutoff(NEWEST), None, None, 3_600_000)))
    assert sql.count("LEAD(") + sql.count("LAG(") == 2


def test_the_read_events_bookkeeping_shares_the_one_scan_of_every_event_table() -> None:
    sql = ibis.to_sql(event_tables(TABLES, SCHEMA, BUILTIN_FUNNELS), "postgres")
    for table in TABLES:
        assert sql.count(f'"{table}"') == (table != TRACKS), table
    tracks = segment_table(SCHEMA, TRACKS, TABLES[TRACKS])
    assert ibis.to_sql(bookkeeping(tracks), "postgres").count('FROM "cli_prod"."') == 1


def test_the_report_session_does_not_jit_compile_its_queries(database: str) -> None:
    """JIT compiled each query's many expressions (in every parallel worker too) for longer
    than it saved: the report's own session turns it off, nothing else."""
    from authfunnel.cli.app import Environment
    from authfunnel.cli.report._warehouse_connect import connect_warehouse, warehouse_source

    con = connect_warehouse(warehouse_source(database, Environment(variables={})))
    try:
        assert con.execute("SHOW jit").fetchall() == [("off",)]
    finally:
        con.close()
    with psycopg.connect(database) as other:
        assert other.execute("SHOW jit").fetchall() == [("on",)]


def test_the_instances_are_tallied_by_their_duration_first() -> None:
    """Sorted to be grouped, instances that share the flow, outcome, step... (nearly all)
    are told apart at the first key: 10 M events, figures 13.5 s -> 8.7 s."""
    events = read_events(TABLES, SCHEMA, BUILTIN_FUNNELS, None)
    assert events is not None
    found = instances(paired(events), cutoff(NEWEST), None, None, 3_600_000)
    sql = ibis.to_sql(figures(found), "postgres")
    tree = sqlglot.parse_one(sql, read="postgres")
    tallies = [
        select.named_selects
        for select in tree.find_all(sqlglot.exp.Select)
        if select.args.get("group") and {"abandoned", "duration"} <= set(select.named_selects)
    ]
    assert tallies
    assert all(columns[0] == "duration" for columns in tallies), tallies
