"""A report computed inside a warehouse (``cli.report._warehouse_connect``: where, how).

Queries, each an ibis expression of ``cli.report._warehouse_query`` compiled for the
engine and run there: a scan of ``tracks`` and one of the event tables for the bookkeeping
and the events not reported, and the figures (one window pass, tallied once):
the counts of flow instances per outcome, step, reason, error class and breakdown value
(completed late past the conversion window included), the orphan groups, each flow's median
and p90 from its histogram of durations and its time-to-convert bins. With ``--over`` (the
HTML page's conversion over time) the figures again, the breakdown value being the period
of each flow's start (``_warehouse_periods``); with ``--by`` a version-like property, when
each other value was first seen. Only those aggregated rows come back, as typed rows,
folded here to the same ``QueryResult`` the DuckDB paths return and rendered by the same
code. Every section of the report is computed on PostgreSQL and on Spark: none is
unavailable. The engine (``_warehouse_connect.Engine``) runs the queries: nothing here is
particular to one.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields, replace
from datetime import datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Final, Literal
from zoneinfo import ZoneInfo

from authfunnel.cli.app import CliError
from authfunnel.cli.report._warehouse_connect import Engine, Tables, open_engine

if TYPE_CHECKING:
    import ibis.expr.types as ir

    from authfunnel.cli.report._funnel_query import Durations, OutcomeCount, QueryResult
    from authfunnel.cli.report._model import Report
    from authfunnel.cli.report._periods import Period
    from authfunnel.cli.report._tally import BinRow, CountRow, QuantileRow
    from authfunnel.cli.report._unreported import Unreported
    from authfunnel.cli.report._warehouse_connect import AnyWarehouse
    from authfunnel.fsm import Funnel


def warehouse_report(
    warehouse: AnyWarehouse,
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
    with open_engine(warehouse) as engine:
        tables = _tables(engine, warehouse.schema)
        if by is not None:
            _check_by(tables, by, engine)
        read = _Read(engine, tables, warehouse.schema, since, until, window)
        events = read_events(tables, warehouse.schema, funnels, by, engine.identifiers)
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
        seen = _first_seen(engine, tables, warehouse.schema, by, result.outcomes) if by else {}
        result = replace(result, unreported=unreported)
    # Malformed and approximate are counted among the events the funnels read (the other
    # events' tables are counted only for the flows not reported).
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
    engine: Engine,
    tables: Tables,
    schema: str,
    by: str,
    counts: Sequence[OutcomeCount],
) -> dict[str, datetime]:
    """When each ``--by`` value that is not a version was first seen, where the breakdown
    reads its values as versions, as the DuckDB paths compute it (``_model._first_seen``)."""
    from authfunnel.cli.report._segments import read_as_versions, version
    from authfunnel.cli.report._warehouse_query import first_seen

    values = sorted({row.by_value for row in counts if row.by_value is not None})
    strays = [value for value in values if version(value) is None]
    if not strays or not read_as_versions(by, values):
        return {}
    query = first_seen(tables, schema, by, strays, engine.identifiers)
    if query is None:
        return {}
    found = [FirstSeen(**row) for row in engine.rows(query)]
    return {row.by_value: row.seen for row in found}


def _check_by(tables: Tables, by: str, engine: Engine) -> None:
    """Refuse a ``--by`` property no event carries: Segment adds a property's column (named
    as the engine stores it) to an event's table when a message first carries it, so no
    table has its column."""
    from authfunnel.cli.report._model import _no_such_property
    from authfunnel.cli.report._warehouse_query import COMMON, TRACKS

    properties = {c for name, cols in tables.items() if name != TRACKS for c in cols}
    properties -= set(COMMON) | _SEGMENT_COLUMNS
    if engine.identifiers.name_of(by) not in properties and len(tables) > 1:
        raise _no_such_property(by, tuple(sorted(properties)))


# Segment's own columns on every table, not properties (``--by`` lists the others).
_SEGMENT_COLUMNS: Final = frozenset(
    {"id", "event", "event_text", "original_timestamp", "sent_at", "received_at", "uuid_ts"}
    | {"context_library_name", "context_library_version"}
)


def _tables(engine: Engine, schema: str) -> Tables:
    """Every table of ``schema`` with its columns' types; a clear error without ``tracks``."""
    from authfunnel.cli.report._warehouse_query import TRACKS

    tables = engine.tables(schema)
    if TRACKS not in tables:
        raise CliError(
            f"no table {TRACKS} in the schema {schema!r}: it holds no Segment source",
            hint="name the schema Segment writes the source to: ?schema=NAME in the URL",
        )
    return tables


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
        engine: Engine,
        tables: Tables,
        schema: str,
        since: datetime | None,
        until: datetime | None,
        window: timedelta,
    ) -> None:
        from authfunnel.cli.report._warehouse_query import TRACKS, segment_table

        self.engine, self.since, self.until, self.window = engine, since, until, window
        self.schema = schema
        self.tracks = segment_table(schema, TRACKS, tables[TRACKS])

    def bookkeeping(
        self, tables: Mapping[str, Mapping[str, Any]], funnels: Sequence[Funnel]
    ) -> tuple[Bookkeeping, tuple[Unreported, ...]]:
        """The source's bookkeeping (a scan of ``tracks``), and in one scan of the event
        tables the read events' and the events ``funnels`` do not read, per flow or name
        (``_unreported``)."""
        from authfunnel.cli.report._unreported import Unreported, unreported_counts
        from authfunnel.cli.report._warehouse_query import bookkeeping, event_tables

        (tracks,) = self.engine.rows(bookkeeping(self.tracks))
        query = event_tables(tables, self.schema, funnels, self.engine.identifiers)
        tallies = [] if query is None else self.engine.rows(query)
        firsts = [t["read_first"] for t in tallies if t["read_first"] is not None]
        lasts = [t["read_last"] for t in tallies if t["read_last"] is not None]
        # Sums of counts: NUMERIC on PostgreSQL (Decimal), whole numbers.
        book = Bookkeeping(
            **tracks,
            unplaced=int(sum(t["unplaced"] for t in tallies)),
            approximate=int(sum(t["approximate"] for t in tallies)),
            read_first=min(firsts, default=None),
            read_last=max(lasts, default=None),
        )
        counts = [
            Unreported(t["flow"], t["event"], int(t["events"])) for t in tallies if t["events"]
        ]
        return book, unreported_counts(counts)

    def figures(
        self, events: ir.Table | None, book: Bookkeeping, *, breakdown: bool
    ) -> QueryResult:
        """The figures of ``events`` (their ``by_value`` the breakdown, if ``breakdown``:
        else NULL, and not carried through the window), folded."""
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
        # The instances (the one window pass) are tallied once; every figure is counted
        # from the tally, staged where the engine would compute it again for each use.
        rows = [figure_row(**row) for row in self.engine.rows(figures(found, self.engine.staged))]
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
