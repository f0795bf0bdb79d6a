"""A report computed inside a warehouse (``cli.report._warehouse_connect``: where, how).

Two queries, each an ibis expression of ``cli.report._warehouse_query`` compiled for the
engine and run there: a scan for the bookkeeping row, and the figures (one window pass):
the counts of flow instances per outcome, step, reason, error class and breakdown value, the
orphan groups, and each flow's median and p90 from its histogram of durations. Only those
aggregated rows come back, as typed rows, folded here to the same ``QueryResult`` the DuckDB
paths return and rendered by the same code. Every section of the report (funnel, reasons,
error classes, quantiles, breakdowns) is computed on PostgreSQL: none is unavailable.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Final

from authfunnel.cli.app import CliError
from authfunnel.cli.report._warehouse_connect import (
    Warehouse,
    connect_warehouse,
    psycopg_errors,
)

if TYPE_CHECKING:
    import psycopg

    from authfunnel.cli.report._funnel_query import Durations, OutcomeCount
    from authfunnel.cli.report._model import Report
    from authfunnel.cli.report._tally import BinRow, CountRow, QuantileRow
    from authfunnel.fsm import Funnel


def warehouse_report(
    warehouse: Warehouse,
    funnels: Sequence[Funnel],
    *,
    by: str | None,
    since: datetime | None,
    until: datetime | None,
    window: timedelta,
) -> Report:
    """The report of ``funnels`` computed in ``warehouse`` (see the module); a completed
    flow converted if it took at most ``window``."""
    from authfunnel.cli.report._events import UNPLACED, Loaded, reasons
    from authfunnel.cli.report._funnel_query import QueryResult
    from authfunnel.cli.report._model import assemble_report

    with psycopg_errors(warehouse):
        con = connect_warehouse(warehouse)
        try:
            tables = _tables(con, warehouse.schema)
            if by is not None:
                _check_by(tables, by)
            found = _query(con, tables, warehouse.schema, funnels, by, since, until, window)
        finally:
            con.close()
    counts, durations, orphans, book = found
    # Malformed and approximate are counted among the events the funnels read: the other
    # events' tables are never opened.
    loaded = Loaded(
        rows=book.rows,
        malformed=book.unplaced,
        malformed_reasons=reasons({UNPLACED: book.unplaced}),
        approximate=book.approximate,
    )
    result = QueryResult(counts, durations, book.unknown_events, orphans)
    report = assemble_report(str(warehouse), funnels, by, loaded, result)
    report.since, report.until = since, until
    report.first_event, report.last_event = book.first_event, book.last_event
    return report


def _check_by(tables: Mapping[str, Mapping[str, str]], by: str) -> None:
    """Refuse a ``--by`` property no event carries: Segment adds a property's column to an
    event's table when a message first carries it, so no table has its column."""
    from authfunnel.cli.report._model import _no_such_property
    from authfunnel.cli.report._warehouse_query import COMMON, TRACKS, snake_case

    properties = {c for name, cols in tables.items() if name != TRACKS for c in cols}
    properties -= set(COMMON) | _SEGMENT_COLUMNS
    if snake_case(by) not in properties and len(tables) > 1:
        raise _no_such_property(by, tuple(sorted(properties)))


# Segment's own columns on every table, not properties (``--by`` lists the others).
_SEGMENT_COLUMNS: Final = frozenset(
    {"id", "event", "event_text", "original_timestamp", "sent_at", "received_at", "uuid_ts"}
    | {"context_library_name", "context_library_version"}
)


def _tables(con: psycopg.Connection[Any], schema: str) -> dict[str, dict[str, str]]:
    """Every table of ``schema`` with its columns' types; a clear error without ``tracks``."""
    from authfunnel.cli.report._warehouse_query import TRACKS

    tables: dict[str, dict[str, str]] = defaultdict(dict)
    for table, column, kind in con.execute(
        "SELECT c.relname, a.attname, format_type(a.atttypid, a.atttypmod) "
        "FROM pg_attribute a JOIN pg_class c ON a.attrelid = c.oid "
        "JOIN pg_namespace n ON c.relnamespace = n.oid "
        "WHERE n.nspname = %s AND c.relkind IN ('r', 'v', 'm', 'p', 'f') "
        "AND a.attnum > 0 AND NOT a.attisdropped ORDER BY c.relname, a.attnum",
        (schema,),
    ).fetchall():
        tables[table][column] = kind
    if TRACKS not in tables:
        raise CliError(
            f"no table {TRACKS} in the schema {schema!r}: it holds no Segment source",
            hint="name the schema Segment writes the source to: ?schema=NAME in the URL",
        )
    return dict(tables)


@dataclass(frozen=True, slots=True)
class Bookkeeping:
    """The warehouse's one row of bookkeeping (``_warehouse_query.bookkeeping``)."""

    rows: int
    unknown_events: int
    first_event: datetime | None
    last_event: datetime | None
    unplaced: int
    approximate: int


def _query(
    con: psycopg.Connection[Any],
    tables: Mapping[str, Mapping[str, str]],
    schema: str,
    funnels: Sequence[Funnel],
    by: str | None,
    since: datetime | None,
    until: datetime | None,
    window: timedelta,
) -> tuple[list[OutcomeCount], list[Durations], int, Bookkeeping]:
    """Run the bookkeeping and the figures in the warehouse, into typed rows; fold them."""
    import ibis
    from psycopg.rows import class_row, kwargs_row

    from authfunnel.cli.report._conversion_time import window_ms
    from authfunnel.cli.report._warehouse_figures import cutoff, figures, instances, paired
    from authfunnel.cli.report._warehouse_query import (
        TRACKS,
        bookkeeping,
        read_events,
        segment_table,
    )

    tracks = segment_table(schema, TRACKS, tables[TRACKS])
    events = read_events(tables, schema, funnels, by)
    sql = ibis.to_sql(bookkeeping(tracks, events), dialect="postgres")
    with con.cursor(row_factory=class_row(Bookkeeping)) as cursor:
        book = cursor.execute(sql).fetchall()[0]
    if events is None:
        return [], [], 0, book
    windowed = paired(events)
    found = instances(windowed, cutoff(tracks), since, until, window_ms(window))
    sql = ibis.to_sql(figures(found), "postgres")
    with con.cursor(row_factory=kwargs_row(figure_row)) as cursor:
        rows = cursor.execute(sql).fetchall()
    return (*fold(rows), book)


def figure_row(**columns: Any) -> CountRow | QuantileRow | BinRow:
    """A row of the figures query as the DuckDB paths' typed rows (``_tally``): a count of
    paired instances (``overall`` NULL), a flow's completed flows in one time-to-convert bin
    (``bin`` set), or a flow's quantile ranks. Every field is read by its name, so a column
    the query lost fails here, loudly."""
    from authfunnel.cli.report._tally import BinRow, CountRow, QuantileRow

    if columns["bin"] is not None:
        return BinRow(**{f.name: columns[f.name] for f in fields(BinRow)})
    if columns["overall"] is None:
        named = {f.name: columns[f.name] for f in fields(CountRow) if f.name != "kind"}
        return CountRow(**named, kind="instance")
    return QuantileRow(**{f.name: columns[f.name] for f in fields(QuantileRow)})


def fold(
    rows: Sequence[CountRow | QuantileRow | BinRow],
) -> tuple[list[OutcomeCount], list[Durations], int]:
    """Figure rows to outcome counts, durations and the orphan groups' count, folded as the
    DuckDB paths fold theirs (``_tally``)."""
    from authfunnel.cli.report._tally import (
        BinRow,
        CountRow,
        QuantileRow,
        _fold,
        bin_rows,
        quantiles,
    )

    outcomes, orphans = _fold([row for row in rows if isinstance(row, CountRow)])
    binned = bin_rows([row for row in rows if isinstance(row, BinRow)])
    durations = quantiles([row for row in rows if isinstance(row, QuantileRow)], binned)
    return outcomes, durations, orphans
