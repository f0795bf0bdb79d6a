"""A funnel report: figures per flow and per breakdown value, plus what was skipped and why."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Final

from authfunnel.cli.app import CliError
from authfunnel.cli.report._events import (
    WELL_FORMED,
    Loaded,
    connect,
    duckdb_errors,
    load_events,
)
from authfunnel.cli.report._figures import Figures, figures
from authfunnel.cli.report._funnel_query import QueryResult
from authfunnel.cli.report._funnel_run import QueryPath, run_query
from authfunnel.fsm import Funnel

SHOWN_PROPERTIES: Final = 30  # listed when --by names none of them


@dataclass
class FlowReport:
    """One flow: its overall figures and, with ``--by``, the figures per property value."""

    figures: Figures
    breakdown: dict[str, Figures] = field(default_factory=dict)


@dataclass
class Report:
    """Every flow's report and the source's bookkeeping (nothing is dropped silently)."""

    source: str
    by: str | None
    loaded: Loaded
    unknown_events: int
    orphan_terminals: int
    flows: list[FlowReport]
    # The analysed range: the window asked for (flows started at or after ``since``, before
    # ``until``), and the first and last timestamps among the source's well-formed messages.
    since: datetime | None = None
    until: datetime | None = None
    first_event: datetime | None = None
    last_event: datetime | None = None


def build_report(
    source: Path,
    funnels: Sequence[Funnel],
    *,
    by: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    path: QueryPath = "auto",
) -> Report:
    """Read ``source`` and compute the report of ``funnels`` (``path``: see ``run_query``)."""
    con = connect()
    try:
        loaded = load_events(con, source, by)
        if loaded.rows and loaded.rows == loaded.malformed:
            raise CliError(
                f"no readable events in {source}: "
                + ("its one line is" if loaded.rows == 1 else f"all {loaded.rows:,} lines are")
                + " malformed",
                hint="a source holds Segment track messages, one JSON object per line",
            )
        if by is not None and loaded.by_absent is not None:
            raise _no_such_property(by, loaded.by_absent)
        with duckdb_errors(f"cannot compute the report from {source}"):
            result = run_query(con, funnels, since=since, until=until, by=by is not None, path=path)
            # With no malformed message, every one is well formed: no filter, so Parquet's
            # statistics answer without a scan.
            well_formed = WELL_FORMED if loaded.malformed else "true"
            first, last = con.execute(
                f"SELECT min(ts), max(ts) FROM events WHERE {well_formed}"
            ).fetchall()[0]
    finally:
        con.close()
    report = assemble_report(str(source), funnels, by, loaded, result)
    report.since, report.until, report.first_event, report.last_event = since, until, first, last
    return report


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
    )


def _label(value: str | None) -> str:
    return "(none)" if value is None else value


def as_json(report: Report) -> dict[str, Any]:
    """The report as plain data (what ``--format json`` prints)."""
    return {
        "source": report.source,
        "by": report.by,
        "lines": report.loaded.rows,
        "malformed": report.loaded.malformed,
        "malformed_by_reason": dict(report.loaded.malformed_reasons),
        # Messages without invocation_id / sequence (other Segment clients), placed by sender
        # and time: the figures they enter are approximate.
        "approximate": report.loaded.approximate > 0,
        "placed_by_time": report.loaded.approximate,
        "unknown_events": report.unknown_events,
        "terminal_events_without_start": report.orphan_terminals,
        "quantiles": "exact",  # from a histogram of durations, at any size
        "flows": {
            flow.figures.flow: {
                **_figures_json(flow.figures),
                **(
                    {"breakdown": {k: _figures_json(v) for k, v in flow.breakdown.items()}}
                    if report.by
                    else {}
                ),
            }
            for flow in report.flows
        },
    }


def _figures_json(f: Figures) -> dict[str, Any]:
    return {
        "records_endings": f.records_endings,
        "started": f.started,
        "completed": f.completed,
        "aborted": f.aborted,
        "failed": f.failed,
        "recovered": f.recovered,
        "in_flight": f.in_flight,
        "abandoned": f.abandoned,
        "conversion": _rate(f.conversion()),
        "no_browser": f.no_browser,
        "median_ms": _whole_ms(f.median_ms),
        "p90_ms": _whole_ms(f.p90_ms),
        "unknown_step": f.unknown_step,
        "aborted_by_reason": dict(f.aborted_by_reason.most_common()),
        "failed_by_error_class": dict(f.failed_by_class.most_common()),
        "stages": [
            {
                "steps": list(stage.steps),
                "reached": stage.reached,
                "went_on": stage.went_on,
                "aborted": stage.aborted,
                "failed": stage.failed,
                "recovered": stage.recovered,
                "open": stage.open,
            }
            for stage in f.stages
        ],
        "ended_by_step": {step: dict(kinds) for step, kinds in f.ended_by_step.items()},
        "failed_by_step": {
            step: dict(classes.most_common()) for step, classes in f.failed_by_step.items()
        },
    }


# Figures as a reader uses them, not as floating point leaves them (p90 90505.00000000001 ms).
RATE_DECIMALS: Final = 4  # 0.7253: a hundredth of a percent


def _rate(value: float | None) -> float | None:
    return None if value is None else round(value, RATE_DECIMALS)


def _whole_ms(value: float | None) -> int | None:
    """A duration in whole milliseconds: the events record whole ones."""
    return None if value is None else round(value)
