"""A report computed inside a warehouse (``cli.report._warehouse_connect``: where, how).

Queries, each an ibis expression of ``cli.report._warehouse_query`` compiled for the
engine and run there: a scan for the bookkeeping row, and the figures (one window pass):
the counts of flow instances per outcome, step, reason, error class and breakdown value
(completed late past the conversion window included), the orphan groups, each flow's median
and p90 from its histogram of durations and its time-to-convert bins. With ``--over`` (the
HTML page's conversion over time) the figures again, the breakdown value being the period
of each flow's start (``_warehouse_periods``); with ``--by`` a version-like property, when
each other value was first seen. Only those aggregated rows come back, as typed rows,
folded here to the same ``QueryResult`` the DuckDB paths return and rendered by the same
code. Every section of the report is computed on PostgreSQL: none is unavailable.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields, replace
from datetime import datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Final, Literal
from zoneinfo import ZoneInfo

from authfunnel.cli.app import CliError
from authfunnel.cli.report._warehouse_connect import (
    Warehouse,
    connect_warehouse,
    psycopg_errors,
)

if TYPE_CHECKING:
    import ibis.expr.types as ir
    import psycopg

    from authfunnel.cli.report._funnel_query import Durations, OutcomeCount, QueryResult
    from authfunnel.cli.report._model import Report
    from authfunnel.cli.report._periods import Period
    from authfunnel.cli.report._tally import BinRow, CountRow, QuantileRow
    from authfunnel.cli.report._unreported import Unreported
    from authfunnel.fsm import Funnel


def warehouse_report(
    warehouse: Warehouse,
    funnels: Sequence[Funnel],
    *,
    by: str | None,
    since: datetime | None,
    until: datetime | None,
    window: timedelta,
    over: Period | Literal["auto"] | None = None,
    tz: ZoneInfo | None = None,
) -> Report:
    """The report of ``funnels`` computed in ``warehouse`` (see the module); a completed
    flow converted if it took at most ``window``; with ``over``, per period flows started
    in, read in ``tz`` (``_warehouse_periods``), as ``_model.build_report``."""
    from authfunnel.cli.report._events import UNPLACED, Loaded, reasons
    from authfunnel.cli.report._model import add_timelines, assemble_report
    from authfunnel.cli.report._periods import period_for_range
    from authfunnel.cli.report._warehouse_periods import period_value
    from authfunnel.cli.report._warehouse_query import read_events

    zone = tz or ZoneInfo("UTC")
    period: Period | None = None
    trend = None
    with psycopg_errors(warehouse):
        con = connect_warehouse(warehouse)
        try:
            tables = _tables(con, warehouse.schema)
            if by is not None:
                _check_by(tables, by)
            read = _Read(con, tables, warehouse.schema, since, until, window)
            events = read_events(tables, warehouse.schema, funnels, by)
            book, unreported = read.bookkeeping(tables, funnels)
            if over is not None:
                first, last = book.first_event, book.last_event
                period = period_for_range(since or first, until or last) if over == "auto" else over
                periods = None
                if events is not None:
                    at = period_value(events.ts, period, zone, book.read_first, book.read_last)
                    periods = events.mutate(by_value=at)
                trend = read.figures(periods, book, breakdown=True)
            # Without --by, the periods' figures are the report's too (as in build_report).
            result = (
                trend
                if trend is not None and by is None
                else read.figures(events, book, breakdown=by is not None)
            )
            seen = _first_seen(con, tables, warehouse.schema, by, result.outcomes) if by else {}
            result = replace(result, unreported=unreported)
        finally:
            con.close()
    # Malformed and approximate are counted among the events the funnels read: the other
    # events' tables are never opened.
    loaded = Loaded(
        rows=book.rows,
        malformed=book.unplaced,
        malformed_reasons=reasons({UNPLACED: book.unplaced}),
        approximate=book.approximate,
    )
    report = assemble_report(str(warehouse), funnels, by, loaded, result)
    report.since, report.until = since, until
    report.first_event, report.last_event = book.first_event, book.last_event
    report.first_seen, report.window, report.tz = seen, window, zone
    report.period, report.period_from_range = period, over == "auto"
    if trend is not None and period is not None:
        add_timelines(report, funnels, loaded, trend, period)
    return report


@dataclass(frozen=True, slots=True)
class FirstSeen:
    """A ``--by`` value and its earliest event's time (``_warehouse_query.first_seen``)."""

    by_value: str
    seen: datetime


def _first_seen(
    con: psycopg.Connection[Any],
    tables: Mapping[str, Mapping[str, str]],
    schema: str,
    by: str,
    counts: Sequence[OutcomeCount],
) -> dict[str, datetime]:
    """When each ``--by`` value that is not a version was first seen, where the breakdown
    reads its values as versions, as the DuckDB paths compute it (``_model._first_seen``)."""
    import ibis
    from psycopg.rows import class_row

    from authfunnel.cli.report._segments import read_as_versions, version
    from authfunnel.cli.report._warehouse_query import first_seen

    values = sorted({row.by_value for row in counts if row.by_value is not None})
    strays = [value for value in values if version(value) is None]
    if not strays or not read_as_versions(by, values):
        return {}
    query = first_seen(tables, schema, by, strays)
    if query is None:
        return {}
    with con.cursor(row_factory=class_row(FirstSeen)) as cursor:
        rows = cursor.execute(ibis.to_sql(query, dialect="postgres")).fetchall()
    return {row.by_value: row.seen for row in rows}


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
class _Tracks:
    """``tracks``' one row (``_warehouse_query.bookkeeping``)."""

    rows: int
    unknown_events: int
    first_event: datetime | None
    last_event: datetime | None


@dataclass(frozen=True, slots=True)
class _Tally:
    """A row of ``_warehouse_query.event_tables``."""

    flow: str | None
    event: str | None
    events: int
    unplaced: int
    approximate: int
    read_first: datetime | None
    read_last: datetime | None


@dataclass(frozen=True, slots=True)
class Bookkeeping:
    """The warehouse's bookkeeping: ``tracks``' (``_warehouse_query.bookkeeping``) and the
    read events' (``_warehouse_query.event_tables``)."""

    rows: int
    unknown_events: int
    first_event: datetime | None
    last_event: datetime | None
    unplaced: int
    approximate: int
    # The times of the events the funnels read: the range periods are computed over.
    read_first: datetime | None
    read_last: datetime | None


class _Read:
    """The queries of one report, each an ibis expression run in the warehouse."""

    def __init__(
        self,
        con: psycopg.Connection[Any],
        tables: Mapping[str, Mapping[str, str]],
        schema: str,
        since: datetime | None,
        until: datetime | None,
        window: timedelta,
    ) -> None:
        from authfunnel.cli.report._warehouse_query import TRACKS, segment_table

        self.con, self.since, self.until, self.window = con, since, until, window
        self.schema = schema
        self.tracks = segment_table(schema, TRACKS, tables[TRACKS])

    def bookkeeping(
        self, tables: Mapping[str, Mapping[str, str]], funnels: Sequence[Funnel]
    ) -> tuple[Bookkeeping, tuple[Unreported, ...]]:
        """The source's bookkeeping (a scan of ``tracks``), and in one scan of the event
        tables the read events' and the events ``funnels`` do not read, per flow or name
        (``_unreported``)."""
        import ibis
        from psycopg.rows import class_row

        from authfunnel.cli.report._unreported import Unreported, unreported_counts
        from authfunnel.cli.report._warehouse_query import bookkeeping, event_tables

        with self.con.cursor(row_factory=class_row(_Tracks)) as cursor:
            sql = ibis.to_sql(bookkeeping(self.tracks), dialect="postgres")
            tracks = cursor.execute(sql).fetchall()[0]
        query = event_tables(tables, self.schema, funnels)
        tallies: list[_Tally] = []
        if query is not None:
            with self.con.cursor(row_factory=class_row(_Tally)) as cursor:
                tallies = cursor.execute(ibis.to_sql(query, "postgres")).fetchall()
        firsts = [t.read_first for t in tallies if t.read_first is not None]
        lasts = [t.read_last for t in tallies if t.read_last is not None]
        book = Bookkeeping(
            rows=tracks.rows,
            unknown_events=tracks.unknown_events,
            first_event=tracks.first_event,
            last_event=tracks.last_event,
            unplaced=sum(t.unplaced for t in tallies),
            approximate=sum(t.approximate for t in tallies),
            read_first=min(firsts, default=None),
            read_last=max(lasts, default=None),
        )
        counts = (Unreported(t.flow, t.event, t.events) for t in tallies if t.events)
        return book, unreported_counts(counts)

    def figures(
        self, events: ir.Table | None, book: Bookkeeping, *, breakdown: bool
    ) -> QueryResult:
        """The figures of ``events`` (their ``by_value`` the breakdown, if ``breakdown``:
        else NULL, and not carried through the window), folded."""
        import ibis
        from psycopg.rows import kwargs_row

        from authfunnel.cli.report._conversion_time import window_ms
        from authfunnel.cli.report._funnel_query import QueryResult
        from authfunnel.cli.report._warehouse_figures import cutoff, figures, instances, paired

        if events is None:
            return QueryResult([], [], book.unknown_events, 0)
        windowed = paired(
            events, start_time=self.since is not None or self.until is not None, breakdown=breakdown
        )
        found = instances(
            windowed, cutoff(book.last_event), self.since, self.until, window_ms(self.window)
        )
        sql = ibis.to_sql(figures(found), "postgres")
        with self.con.cursor(row_factory=kwargs_row(figure_row)) as cursor:
            rows = cursor.execute(sql).fetchall()
        outcomes, durations, orphans = fold(rows)
        return QueryResult(outcomes, durations, book.unknown_events, orphans)


def figure_row(**columns: Any) -> CountRow | QuantileRow | BinRow:
    """A row of the figures query as the DuckDB paths' typed rows (``_tally``): a count of
    paired instances (``overall`` NULL), a flow's completed flows in one time-to-convert bin
    (``bin`` set), or a flow's quantile ranks. Every field is read by its name, so a column
    the query lost fails here, loudly. The counts are sums of a tally (``_warehouse_figures``),
    which PostgreSQL computes as NUMERIC: whole numbers, read as ``int``."""
    from authfunnel.cli.report._tally import BinRow, CountRow, QuantileRow

    columns = {k: int(v) if isinstance(v, Decimal) else v for k, v in columns.items()}
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
