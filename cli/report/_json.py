"""A report as plain data: what ``--format json`` prints, figures rounded as a reader uses
them."""

from __future__ import annotations

from typing import Any, Final

from authfunnel.cli.report._conversion_time import BINS, window_ms, window_text
from authfunnel.cli.report._figures import Figures
from authfunnel.cli.report._model import FlowReport, Report, breakdown_of
from authfunnel.cli.report._periods import Timeline
from authfunnel.cli.report._segments import Segment
from authfunnel.cli.report._significance import TEST_LEGEND, Comparison, rounded_p


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
        # Track messages of flows not reported (or of no flow: per name), counted not read.
        "unreported_events": {
            "total": sum(u.events for u in report.unreported),
            "by_flow": {u.flow: u.events for u in report.unreported if u.flow is not None},
            "by_event": {u.event: u.events for u in report.unreported if u.flow is None},
        },
        "terminal_events_without_start": report.orphan_terminals,
        # --over: flows per period they started in (the day, or the ISO week from Monday),
        # read in this time zone.
        "period": report.period,
        "tz": report.tz.key,
        "quantiles": "exact",  # from a histogram of durations, at any size
        # Completed flows count as converted ("completed") only within this long of their
        # start; the others are "completed_late".
        "conversion_window": window_text(report.window),
        "conversion_window_ms": window_ms(report.window),
        "flows": {
            flow.figures.flow: {
                **_figures_json(flow.figures),
                **(_breakdown_json(report, flow) if report.by else {}),
                **({"over": _over_json(flow.over)} if flow.over else {}),
            }
            for flow in report.flows
        },
    }


def _breakdown_json(report: Report, flow: FlowReport) -> dict[str, Any]:
    """Every value, in the tables' order, with its test against the rest of the flow and,
    among versions, its step from the previous version."""
    rows = breakdown_of(report, flow, top=None)
    return {
        "breakdown_test": TEST_LEGEND,
        "breakdown_as_versions": rows.as_versions,
        "breakdown": {row.value: _segment_json(row) for row in rows.segments},
    }


def _segment_json(row: Segment) -> dict[str, Any]:
    found = {**_figures_json(row.figures), "against_rest": _comparison_json(row.against_rest)}
    if row.step is not None:
        found["from_previous"] = {
            "previous": row.step.previous,
            "points": round(row.step.points, RATE_DECIMALS - 2),
            **_test_json(row.step.comparison),
        }
    return found


def _comparison_json(test: Comparison | None) -> dict[str, Any] | None:
    return None if test is None else _test_json(test)


def _test_json(test: Comparison) -> dict[str, Any]:
    return {
        "p_value": as_p(test.p_value),
        "adjusted_p": as_p(test.adjusted_p),
        "significant": test.significant,
        "too_few_flows": test.too_few_flows,
    }


def as_p(value: float | None) -> float | None:
    """A p-value to 4 significant digits: 0.0001234, not 0.0 (it is compared to 0.05); more
    where 4 would carry it across alpha (``rounded_p``)."""
    return None if value is None else float(rounded_p(value, 4, "g"))


def _figures_json(f: Figures) -> dict[str, Any]:
    return {
        "records_endings": f.records_endings,
        "started": f.started,
        "completed": f.completed,
        "completed_late": f.completed_late,
        "aborted": f.aborted,
        "failed": f.failed,
        "recovered": f.recovered,
        "in_flight": f.in_flight,
        "abandoned": f.abandoned,
        "conversion": _rate(f.conversion()),
        "no_browser": f.no_browser,
        "median_ms": _whole_ms(f.median_ms),
        "p90_ms": _whole_ms(f.p90_ms),
        # Every completed flow's duration (late ones too), binned: [from_ms, to_ms).
        "time_to_convert": [
            {"bin": b.label, "from_ms": b.from_ms, "to_ms": b.to_ms, "flows": flows}
            for b, flows in zip(BINS, f.time_to_convert, strict=True)
        ],
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
                "late": stage.late,
                "skipped": stage.skipped,
                "optional": stage.optional,
            }
            for stage in f.stages
        ],
        "ended_by_step": {step: dict(kinds) for step, kinds in f.ended_by_step.items()},
        "failed_by_step": {
            step: dict(classes.most_common()) for step, classes in f.failed_by_step.items()
        },
    }


def _over_json(over: Timeline) -> list[dict[str, Any]]:
    """Per period, oldest first (``start`` null: the flows whose start has no time)."""
    return [
        {
            "start": None if bucket.start is None else bucket.start.isoformat(),
            "incomplete": bucket.incomplete,
            "partial": bucket.partial,  # --since falls inside it
            "started": bucket.figures.started,
            "completed": bucket.figures.completed,
            "completed_late": bucket.figures.completed_late,
            "aborted": bucket.figures.aborted,
            "failed": bucket.figures.failed,
            "in_flight": bucket.figures.in_flight,
            "abandoned": bucket.figures.abandoned,
            "conversion": _rate(bucket.figures.conversion()),
            "median_ms": _whole_ms(bucket.figures.median_ms),
        }
        for bucket in over.buckets
    ]


# Figures as a reader uses them, not as floating point leaves them (p90 90505.00000000001 ms).
RATE_DECIMALS: Final = 4  # 0.7253: a hundredth of a percent


def _rate(value: float | None) -> float | None:
    return None if value is None else round(value, RATE_DECIMALS)


def _whole_ms(value: float | None) -> int | None:
    """A duration in whole milliseconds: the events record whole ones."""
    return None if value is None else round(value)
