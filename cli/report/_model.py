"""A funnel report: figures per flow and per breakdown value, plus what was skipped and why."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Final, Literal
from zoneinfo import ZoneInfo

from authfunnel.cli.app import CliError
from authfunnel.cli.report._conversion_time import DEFAULT_WINDOW
from authfunnel.cli.report._events import (
    WELL_FORMED,
    Loaded,
    connect,
    duckdb_errors,
    load_events,
    malformed_reasons,
)
from authfunnel.cli.report._figures import Figures, figures
from authfunnel.cli.report._funnel_query import QueryResult
from authfunnel.cli.report._funnel_run import QueryPath, run_query
from authfunnel.cli.report._periods import (
    Period,
    Timeline,
    period_for_range,
    stop,
    timeline,
    use_periods,
)
from authfunnel.cli.report._segments import (
    NONE_LABEL,
    TOP_VALUES,
    Breakdown,
    breakdown,
    read_as_versions,
    version,
)
from authfunnel.cli.report._unreported import Unreported
from authfunnel.fsm import Funnel

if TYPE_CHECKING:
    import duckdb

    from authfunnel.cli.report._warehouse_connect import AnyWarehouse

SHOWN_PROPERTIES: Final = 30  # listed when --by names none of them


@dataclass
class FlowReport:
    """One flow: its overall figures and, with ``--by``, the figures per property value;
    with ``--over`` (and in the HTML page), per period its flows started in."""

    figures: Figures
    breakdown: dict[str, Figures] = field(default_factory=dict)
    over: Timeline | None = None


@dataclass
class Report:
    """Every flow's report and the source's bookkeeping (nothing is dropped silently)."""

    source: str
    by: str | None
    loaded: Loaded
    unknown_events: int
    orphan_terminals: int
    flows: list[FlowReport]
    # Events of flows not reported (per flow, else per name): ``_unreported``.
    unreported: tuple[Unreported, ...] = ()
    # The analysed range: the window asked for (flows started at or after ``since``, before
    # ``until``), and the first and last timestamps among the source's well-formed messages.
    since: datetime | None = None
    until: datetime | None = None
    first_event: datetime | None = None
    last_event: datetime | None = None
    # With --by: when each value that is not a version was first seen (its earliest event),
    # where the values are read as versions (``_segments``); and how many values a table
    # shows before folding the rest into one row.
    first_seen: dict[str, datetime] = field(default_factory=dict)
    top: int = TOP_VALUES
    # A completed flow converted if it took at most this long (``_conversion_time``).
    window: timedelta = DEFAULT_WINDOW
    # The zone periods are read in (``--over``, ``_periods``).
    tz: ZoneInfo = field(default_factory=lambda: ZoneInfo("UTC"))
    period: Period | None = None  # day or week, when periods were computed
    period_from_range: bool = False  # chosen from the analysed range, not asked for


def build_report(
    source: Path | AnyWarehouse,
    funnels: Sequence[Funnel],
    *,
    by: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    path: QueryPath = "auto",
    window: timedelta = DEFAULT_WINDOW,
    over: Period | Literal["auto"] | None = None,
    tz: ZoneInfo | None = None,
) -> Report:
    """Read ``source`` and compute the report of ``funnels`` (``path``: see ``run_query``;
    ``window``: the conversion window; ``over``: the figures per period flows started in,
    read in ``tz``, ``auto`` choosing the period from the analysed range); a warehouse
    computes it where the events are (``cli.report._warehouse``)."""
    zone = tz or ZoneInfo("UTC")
    if not isinstance(source, Path):
        from authfunnel.cli.report._warehouse import warehouse_report

        return warehouse_report(
            source, funnels, by=by, since=since, until=until, window=window, over=over, tz=zone
        )
    con = connect()
    try:
        loaded = load_events(con, source, by)
        if loaded.rows and loaded.rows == loaded.malformed:
            raise CliError(
                f"no readable events in {source}: "
                + ("its one line is" if loaded.rows == 1 else f"all {loaded.rows:,} lines are")
                + f" malformed ({malformed_reasons(loaded)})",
                hint="a source holds Segment track messages, one JSON object per line",
            )
        if by is not None and loaded.by_absent is not None:
            raise _no_such_property(by, loaded.by_absent)
        with duckdb_errors(f"cannot compute the report from {source}"):
            # With no malformed message, every one is well formed: no filter, so Parquet's
            # statistics answer without a scan.
            well_formed = WELL_FORMED if loaded.malformed else "true"
            first, last = con.execute(
                f"SELECT min(ts), max(ts) FROM events WHERE {well_formed}"
            ).fetchall()[0]
            run = partial(
                run_query, con, funnels, since=since, until=until, path=path, window=window
            )
            # The --by property's query first: use_periods makes the periods the breakdown.
            result = run(by=True) if by is not None else None
            # Before use_periods, which makes the view's by_value the period.
            seen = _first_seen(con, by, result) if by is not None and result is not None else {}
            # The range the analysed events span: --since a year back on three days of
            # events is three days.
            spanned = (
                max((t for t in (since, first) if t is not None), default=None),
                min((t for t in (until, last) if t is not None), default=None),
            )
            period = period_for_range(*spanned) if over == "auto" else over
            trend = None
            if period is not None:
                use_periods(con, period, zone)
                trend = run(by=True)
            if result is None:
                # Periods are a breakdown whose values add up to the report's figures: without
                # --by the periods' query gives both.
                result = trend if trend is not None else run(by=False)
    finally:
        con.close()
    report = assemble_report(str(source), funnels, by, loaded, result)
    report.since, report.until, report.first_event, report.last_event = since, until, first, last
    report.first_seen = seen
    report.window, report.tz, report.period = window, zone, period
    report.period_from_range = over == "auto"
    if trend is not None and period is not None:
        add_timelines(report, funnels, loaded, trend, period)
    return report


def add_timelines(
    report: Report, funnels: Sequence[Funnel], loaded: Loaded, trend: QueryResult, period: Period
) -> None:
    """Give each flow of ``report`` its figures per ``period`` from ``trend``, a query whose
    breakdown values are the periods flows started in (read in ``report.tz``)."""
    ends = stop(report.last_event, report.until)
    for flow, funnel in zip(report.flows, funnels, strict=True):
        periods = assemble_report(report.source, [funnel], "period", loaded, trend).flows[0]
        flow.over = timeline(
            periods.breakdown, period, report.tz, ends, partial(figures, funnel, []), report.since
        )


def _first_seen(
    con: duckdb.DuckDBPyConnection, by: str, result: QueryResult
) -> dict[str, datetime]:
    """When each ``--by`` value that is not a version was first seen, where the breakdown
    reads its values as versions (only then are such values placed by time)."""
    values = sorted({row.by_value for row in result.outcomes if row.by_value is not None})
    if not read_as_versions(by, values):
        return {}
    strays = [value for value in values if version(value) is None]
    if not strays:
        return {}
    found = con.execute(
        f"SELECT by_value, min(ts) FROM events WHERE {WELL_FORMED} AND ts IS NOT NULL"
        " AND list_contains(?, by_value) GROUP BY by_value",
        [strays],
    ).fetchall()
    return {value: when for value, when in found}


def _no_such_property(by: str, found: tuple[str, ...]) -> CliError:
    listed = ", ".join(found[:SHOWN_PROPERTIES]) + (
        ", ..." if len(found) > SHOWN_PROPERTIES else ""
    )
    return CliError(
        f"no event carries the property {by!r}",
        hint=f"properties found: {listed}" if found else "no event carries any property",
    )


def assemble_report(
    source: str, funnels: Sequence[Funnel], by: str | None, loaded: Loaded, result: QueryResult
) -> Report:
    """The report of ``funnels`` from a query's ``result`` (or the reference's: see
    ``cli.report._reference``): each flow's figures, and per ``--by`` value."""
    flows = []
    for funnel in funnels:
        name = str(funnel.flow)
        mine = [row for row in result.outcomes if row.flow == name]
        timing = [row for row in result.durations if row.flow == name]
        report = FlowReport(figures(funnel, mine, [row for row in timing if row.overall]))
        if by is not None:
            for value in sorted({_label(row.by_value) for row in mine}):
                report.breakdown[value] = figures(
                    funnel,
                    [row for row in mine if _label(row.by_value) == value],
                    [t for t in timing if not t.overall and _label(t.by_value) == value],
                )
        flows.append(report)
    return Report(
        source=source,
        by=by,
        loaded=loaded,
        unknown_events=result.unknown_events,
        orphan_terminals=result.orphan_terminals,
        flows=flows,
        unreported=result.unreported,
    )


def _label(value: str | None) -> str:
    return NONE_LABEL if value is None else value


def breakdown_of(report: Report, flow: FlowReport, *, top: int | None) -> Breakdown:
    """``flow``'s breakdown rows (``_segments.breakdown``), ``top`` values shown."""
    assert report.by is not None
    return breakdown(report.by, flow.figures, flow.breakdown, top=top, first_seen=report.first_seen)
