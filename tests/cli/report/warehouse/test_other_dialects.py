"""The warehouse report's queries compile for the other engines Segment loads into.

The same ibis expressions the PostgreSQL report runs (bookkeeping, the event tables'
tallies, the figures with their histogram quantiles and time-to-convert bins, the periods of
conversion over time, the first-seen times of ``--by`` values) compiled for Snowflake,
BigQuery, Databricks and ClickHouse, no server needed; Redshift, which ibis lacks, as the
PostgreSQL SQL parsed by sqlglot in the Redshift dialect. Every section compiles on every
one of them: none is unavailable. What would not: exact quantiles as one aggregate (ibis
compiles none for BigQuery or Trino), which is why the figures read them from a histogram of
durations.
Compiling is not running: these engines are not tested against a server.
"""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import ibis
import ibis.expr.types as ir
import pytest
import sqlglot
from ibis.common.exceptions import OperationNotDefinedError

from authfunnel.cli.report._roles import event_roles
from authfunnel.cli.report._warehouse_figures import cutoff, figures, instances, paired
from authfunnel.cli.report._warehouse_periods import period_value
from authfunnel.cli.report._warehouse_query import (
    PROPERTIES,
    TRACKS,
    bookkeeping,
    event_tables,
    first_seen,
    read_events,
    segment_table,
    snake_case,
)
from authfunnel.fsm import BUILTIN_FUNNELS

DIALECTS = ("snowflake", "bigquery", "databricks", "clickhouse")
SCHEMA = "cli_prod"
COMMON = {
    "id": "text",
    "anonymous_id": "text",
    "user_id": "text",
    "event": "text",
    "timestamp": "timestamp with time zone",
}
# Each property as a warehouse may have typed it; ``sequence`` as a double, as in the wild.
TYPES = {"string": "text", "int64": "bigint", "boolean": "boolean"}
COLUMNS = {
    **COMMON,
    **{name: TYPES[kind] for name, kind in PROPERTIES.items()},
    "sequence": "double precision",
    "cli_version": "text",
}
TABLES = {TRACKS: COMMON, **{snake_case(n): COLUMNS for n in event_roles(BUILTIN_FUNNELS).names}}
FIRST, LAST = datetime(2026, 1, 1, tzinfo=UTC), datetime(2026, 12, 31, tzinfo=UTC)


def sections() -> dict[str, ir.Table]:
    """Each query of a report by ``cli_version`` over a year, periods in Paris by week."""
    events = read_events(TABLES, SCHEMA, BUILTIN_FUNNELS, "cli_version")
    assert events is not None
    tracks = segment_table(SCHEMA, TRACKS, TABLES[TRACKS])
    periods = events.mutate(
        by_value=period_value(events.ts, "week", ZoneInfo("Europe/Paris"), FIRST, LAST)
    )

    def report(read: ir.Table) -> ir.Table:
        return figures(instances(paired(read), cutoff(LAST), FIRST, LAST, 3_600_000))

    seen = first_seen(TABLES, SCHEMA, "cli_version", ["dev", "nightly"])
    tallies = event_tables(TABLES, SCHEMA, BUILTIN_FUNNELS)
    assert seen is not None
    assert tallies is not None
    return {
        "bookkeeping": bookkeeping(tracks),
        "event tables": tallies,
        "figures": report(events),
        "over time": report(periods),
        "first seen": seen,
    }


@pytest.mark.parametrize("dialect", DIALECTS)
def test_every_section_compiles_for_the_dialect(dialect: str) -> None:
    for name, query in sections().items():
        sql = ibis.to_sql(query, dialect=dialect)
        # Every section reads the source's tables (the bookkeeping ``tracks`` alone).
        assert "cli_auth_started" in sql or (name == "bookkeeping" and TRACKS in sql), name


def test_every_section_as_postgresql_parses_as_redshift() -> None:
    for name, query in sections().items():
        sql = ibis.to_sql(query, dialect="postgres")
        written = sqlglot.transpile(sql, read="redshift", write="redshift")
        assert len(written) == 1, name
        # Redshift has no MAKE_INTERVAL: the periods shift times by literal intervals.
        assert "MAKE_INTERVAL" not in written[0].upper(), name


@pytest.mark.parametrize("dialect", ["bigquery", "trino"])
def test_exact_quantiles_as_one_aggregate_do_not_compile_everywhere(dialect: str) -> None:
    """Why the figures read quantiles from a histogram (``_warehouse_figures.figures``)."""
    durations = ibis.table({"duration": "int64"}, name="durations")
    with pytest.raises(OperationNotDefinedError):
        ibis.to_sql(durations.aggregate(median=durations.duration.quantile(0.5)), dialect)


@pytest.mark.parametrize("dialect", DIALECTS)
def test_an_events_name_of_200_characters_is_read_whole_in_the_dialect(dialect: str) -> None:
    """Only PostgreSQL's engine clips a name (``_warehouse_names``): compiled for the other
    dialects, a long-named event's table keeps its whole snake_cased name."""
    from tests.cli.report.warehouse.test_long_names import PUBLISH

    names = event_roles([PUBLISH]).names
    tables = {TRACKS: COMMON, **{snake_case(name): COLUMNS for name in names}}
    events = read_events(tables, SCHEMA, [PUBLISH], None)
    assert events is not None
    sql = ibis.to_sql(events, dialect=dialect)
    assert all(snake_case(name) in sql for name in names)
    assert "event_text" not in sql
