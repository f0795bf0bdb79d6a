"""A report computed inside a warehouse (``cli.report._warehouse_connect``: where, how).

The query is ``cli.report._warehouse_query``'s ibis expression, compiled for the engine and
run there; only aggregated rows come back (the bookkeeping row, and the histogram of flow
instances per outcome, step, reason, error class, breakdown value and completed duration),
folded here to the same ``QueryResult`` the DuckDB paths return, and rendered by the same
code. Every section of the report is computed on PostgreSQL; none is unavailable.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
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
    from authfunnel.fsm import Funnel


def warehouse_report(
    warehouse: Warehouse,
    funnels: Sequence[Funnel],
    *,
    by: str | None,
    since: datetime | None,
    until: datetime | None,
) -> Report:
    """The report of ``funnels`` computed in ``warehouse`` (see the module)."""
    from authfunnel.cli.report._events import UNPLACED, Loaded, reasons
    from authfunnel.cli.report._funnel_query import QueryResult
    from authfunnel.cli.report._model import assemble_report

    with psycopg_errors(warehouse):
        con = connect_warehouse(warehouse)
        try:
            tables = _tables(con, warehouse.schema)
            if by is not None:
                _check_by(tables, by)
            found = _query(con, tables, warehouse.schema, funnels, by, since, until)
        finally:
            con.close()
    counts, durations, book = found
    # Malformed and approximate are counted among the events the funnels read: the other
    # events' tables are never opened.
    loaded = Loaded(
        rows=book.rows,
        malformed=book.unplaced,
        malformed_reasons=reasons({UNPLACED: book.unplaced}),
        approximate=book.approximate,
    )
    result = QueryResult(counts, durations, book.unknown_events, book.orphans)
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
    orphans: int


@dataclass(frozen=True, slots=True)
class HistogramRow:
    """Flow instances alike in every printed column and completed duration
    (``_warehouse_query.histogram``)."""

    flow: str
    by_value: str | None
    outcome: str | None
    step: str | None
    reason: str | None
    error_class: str | None
    abandoned: bool
    duration: int | None
    flows: int
    no_browser: int


def _query(
    con: psycopg.Connection[Any],
    tables: Mapping[str, Mapping[str, str]],
    schema: str,
    funnels: Sequence[Funnel],
    by: str | None,
    since: datetime | None,
    until: datetime | None,
) -> tuple[list[OutcomeCount], list[Durations], Bookkeeping]:
    """Run the bookkeeping and the histogram in the warehouse, into typed rows; fold them."""
    import ibis
    from psycopg.rows import class_row

    from authfunnel.cli.report._warehouse_query import (
        TRACKS,
        bookkeeping,
        cutoff,
        histogram,
        paired,
        read_events,
        segment_table,
    )

    tracks = segment_table(schema, TRACKS, tables[TRACKS])
    events = read_events(tables, schema, funnels, by)
    sql = ibis.to_sql(bookkeeping(tracks, events), dialect="postgres")
    with con.cursor(row_factory=class_row(Bookkeeping)) as cursor:
        book = cursor.execute(sql).fetchall()[0]
    if events is None:
        return [], [], book
    sql = ibis.to_sql(histogram(paired(events), cutoff(tracks), since, until), "postgres")
    with con.cursor(row_factory=class_row(HistogramRow)) as cursor:
        rows = cursor.execute(sql).fetchall()
    counts, durations = fold(rows)
    return counts, durations, book


def fold(rows: Sequence[HistogramRow]) -> tuple[list[OutcomeCount], list[Durations]]:
    """Histogram rows to outcome counts and to each flow's median and p90 (overall and per
    breakdown value), read exactly from how many completed flows took each duration."""
    from authfunnel.cli.report._funnel_query import Durations, OutcomeCount

    # Rows that differ by duration alone are one outcome count: their flows summed.
    summed: dict[OutcomeCount, tuple[int, int]] = {}
    taken: dict[tuple[str, str | None, bool], Counter[int]] = defaultdict(Counter)
    for row in rows:
        key = OutcomeCount(
            row.flow,
            row.by_value,
            row.outcome,
            row.step,
            row.reason,
            row.error_class,
            abandoned=bool(row.abandoned),
            flows=0,
            no_browser=0,
        )
        flows, no_browser = summed.get(key, (0, 0))
        summed[key] = (flows + row.flows, no_browser + row.no_browser)
        if row.duration is not None:
            taken[row.flow, row.by_value, False][row.duration] += row.flows
            taken[row.flow, None, True][row.duration] += row.flows
    counts = [replace(key, flows=f, no_browser=n) for key, (f, n) in summed.items()]
    durations = [
        Durations(flow, by_value, _quantile(h, 0.5), _quantile(h, 0.9), overall)
        for (flow, by_value, overall), h in taken.items()
    ]
    return counts, durations


def _quantile(histogram: Counter[int], q: float) -> float | None:
    """The value at rank (n - 1) * q of the durations ``histogram`` counts, interpolated
    between its neighbours as the DuckDB paths do (``_tally._interpolate``)."""
    import math

    from authfunnel.cli.report._tally import _interpolate

    ordered = sorted(histogram.items())
    at = (sum(histogram.values()) - 1) * q

    def value_at(rank: int) -> int:
        seen = 0
        for value, times in ordered:
            seen += times
            if seen > rank:
                return value
        raise RuntimeError("internal error: a rank past the histogram")

    return _interpolate(value_at(math.floor(at)), value_at(math.ceil(at)), at)
