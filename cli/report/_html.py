"""The report as one self-contained HTML page a person would share (``--format html``).

Everything is inline: the style sheet, and the charts as SVG drawn server-side
(``_html_charts``). The page holds no script and names no external resource, so it opens
offline and fetches nothing. It draws the ``Report`` the terminal view draws, recomputing
no figure. Every string from the events goes through ``printable`` then ``html.escape``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime
from html import escape
from typing import Final

from authfunnel.cli.app import plural, printable
from authfunnel.cli.report._cells import (
    AGAINST_REST,
    STEP_P,
    breakdown_cells,
    breakdown_columns,
    breakdown_legend,
    funnel_cells,
    funnel_columns,
    funnel_legend,
    percent,
    seconds,
)
from authfunnel.cli.report._conversion_time import window_text
from authfunnel.cli.report._figures import Figures
from authfunnel.cli.report._html_charts import (
    aborts_chart,
    conversion_chart,
    failed_steps,
    failures_chart,
    funnel_chart,
    over_time_chart,
    time_to_convert_chart,
)
from authfunnel.cli.report._model import FlowReport, Report, breakdown_of
from authfunnel.cli.report._periods import MOST_DAYS, Timeline, label, marks_legend
from authfunnel.cli.report._segments import Segment
from authfunnel.cli.report._significance import TEST_LEGEND, Comparison
from authfunnel.cli.report._view import notes

STYLE: Final = """
:root { color-scheme: light; }
body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial,
  "Noto Sans", "Liberation Sans", sans-serif; color: #2b2f36; background: #fff;
  margin: 0 auto; max-width: 64rem; padding: 2rem 1.5rem 4rem; line-height: 1.45; }
h1 { font-size: 1.6rem; margin: 0 0 .25rem; }
h2 { font-size: 1.3rem; margin: 2.5rem 0 .25rem; padding-top: 1rem; border-top: 1px solid #d9dde3; }
h3 { font-size: 1.05rem; margin: 1.75rem 0 .5rem; }
.meta { color: #5b6270; margin: 0; display: grid; grid-template-columns: max-content 1fr;
  gap: .15rem 1.25rem; }
.meta dt { font-weight: 600; }
.meta dd { margin: 0; overflow-wrap: anywhere; }
.headline { font-size: 1.1rem; margin: .25rem 0 1rem; }
.headline strong { font-size: 1.3rem; }
figure.chart { margin: .5rem 0 1rem; }
figure.chart svg { max-width: 100%; height: auto; }
table { border-collapse: collapse; margin: .5rem 0 1rem; font-variant-numeric: tabular-nums; }
th, td { padding: .3rem .7rem; border-bottom: 1px solid #e6e9ee; text-align: right; }
th { background: #f4f6f9; font-weight: 600; }
th:first-child, td:first-child { text-align: left; }
td.drop { color: #b03a3a; }
td.sig { color: #8a1c1c; font-weight: 700; background: #fdecec; }
div.breakdown { overflow-x: auto; }
div.breakdown th, div.breakdown td { padding: .3rem .5rem; white-space: nowrap; }
tr.total td { font-weight: 600; }
.note { color: #5b6270; font-size: .92rem; }
ul.notes { color: #5b6270; }
"""


def render_html(report: Report, *, generated: datetime | None = None) -> str:
    """``report`` as one HTML document (``generated``: the time stamped on it, default now)."""
    flows = [flow for flow in report.flows if flow.figures.started]
    names = ", ".join(flow.figures.flow for flow in report.flows)
    title = f"authfunnel report: {names}"
    body = [
        f"<header><h1>{_text(title)}</h1>",
        _meta(report, generated or datetime.now(UTC)),
        "</header>",
    ]
    if not flows:
        body.append(f"<p>No flows in {_text(report.source)} match (nothing started).</p>")
    for flow in flows:
        body.extend(_flow_section(flow.figures, report))
        if flow.over is not None and flow.figures.records_endings:
            body.extend(_over_section(flow.figures.flow, flow.over, report))
        if report.by:
            body.extend(_breakdown_section(report, flow))
    found = notes(report)
    if found:
        body.append("<h2>Read but not counted</h2><ul class=notes>")
        body.extend(f"<li>{_text(note)}</li>" for note in found)
        body.append("</ul>")
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{_text(title)}</title><style>{STYLE}</style></head>\n<body>\n"
        + "\n".join(body)
        + "\n</body></html>\n"
    )


def _meta(report: Report, generated: datetime) -> str:
    window = (
        f"flows started {_when(report.since) if report.since else 'at any time'}"
        f" {'until ' + _when(report.until) if report.until else 'until the last event'}"
        if report.since or report.until
        else "every flow in the source (no --since or --until)"
    )
    events = (
        f"{_when(report.first_event)} to {_when(report.last_event)}"
        if report.first_event and report.last_event
        else "no timestamps"
    )
    lines = f"{plural(report.loaded.rows, 'line')}"
    if report.loaded.malformed:
        lines += f", {plural(report.loaded.malformed, 'malformed line')} skipped"
    rows = [
        ("Analysed", window),
        ("Conversion window", f"{window_text(report.window)} from a flow's start (--window)"),
        ("Events from", events),
        ("Source", f"{report.source} ({lines})"),
        ("Generated", _when(generated)),
    ]
    if report.by:
        rows.insert(2, ("Broken down by", report.by))
    items = "".join(f"<dt>{_text(k)}</dt><dd>{_text(v)}</dd>" for k, v in rows)
    return f"<dl class=meta>{items}</dl>"


def _flow_section(f: Figures, report: Report) -> Iterable[str]:
    yield f"<section><h2>{_text(f.flow)}</h2>"
    if not f.records_endings:
        yield (
            f"<p>{f.started:,} started. This flow records only its start, so it has no "
            "funnel.</p></section>"
        )
        return
    headline = (
        f"<strong>{percent(f.conversion())}</strong> of {f.started:,} started flows completed"
        f" ({f.completed:,})"
    )
    yield f"<p class=headline>{headline}</p>"
    yield "<h3>Funnel</h3>"
    yield f"<figure class=chart>{funnel_chart(f)}</figure>"
    yield _funnel_table(f)
    yield from _time_to_convert(f, report)
    yield f"<h3>Failures by step and error class ({f.failed:,})</h3>"
    chart = failures_chart(f)
    if chart is None:
        yield "<p>No flow failed.</p>"
    else:
        yield f"<figure class=chart>{chart}</figure>"
        rows = [
            (step, name, count)
            for step in failed_steps(f)
            for name, count in f.failed_by_step[step].most_common()
        ]
        yield _table(
            ("step", "error class", "flows", "share of failed"),
            [(s, n, f"{c:,}", percent(c / f.failed)) for s, n, c in rows],
        )
    yield f"<h3>Aborts by reason ({f.aborted:,})</h3>"
    chart = aborts_chart(f)
    if chart is None:
        yield "<p>No flow was aborted.</p>"
    else:
        yield f"<figure class=chart>{chart}</figure>"
        yield _table(
            ("reason", "flows", "share of aborted"),
            [(r, f"{c:,}", percent(c / f.aborted)) for r, c in f.aborted_by_reason.most_common()],
        )
    no_browser = (
        f"Started without a browser (no_browser): {f.no_browser:,}. "
        if f.records_no_browser
        else ""
    )
    yield (
        f"<p class=note>{no_browser}Still in flight: {f.in_flight:,}. Abandoned (no ending "
        f"within a day of the last event): {f.abandoned:,}.</p></section>"
    )


def _time_to_convert(f: Figures, report: Report) -> Iterable[str]:
    """The distribution of completed flows' durations, and the flows past the window."""
    window = window_text(report.window)
    yield "<h3>Time to convert</h3>"
    if f.median_ms is None:
        yield "<p>No completed flow carries a duration.</p>"
    else:
        yield (
            f"<p>Completed flows took <strong>{seconds(f.median_ms)}</strong> at the median"
            f" and <strong>{seconds(f.p90_ms)}</strong> at the 90th percentile.</p>"
        )
    chart = time_to_convert_chart(f)
    if chart is not None:
        yield f"<figure class=chart>{chart}</figure>"
    late = (
        f"{plural(f.completed_late, 'flow')} completed later, counted as completed late, not "
        "as converted."
        if f.completed_late
        else "None completed later."
    )
    yield (
        f"<p class=note>A flow converts when it completes within the {window} conversion "
        f"window of its start (--window). {late}</p>"
    )


def _over_section(flow: str, over: Timeline, report: Report) -> Iterable[str]:
    """Conversion over time: per period flows started in, a chart and its table."""
    yield f"<section><h3>{_text(flow)}: conversion over time, by {over.period}</h3>"
    chart = over_time_chart(over)
    if chart is not None:
        yield f"<figure class=chart>{chart}</figure>"
    yield _table(
        (over.period, "started", "completed", "completed late", "conversion"),
        [
            (
                label(bucket, over.period),
                *(f"{n:,}" for n in (b.started, b.completed, b.completed_late)),
                percent(b.conversion()),
            )
            for bucket in over.buckets
            for b in [bucket.figures]
        ],
    )
    chosen = (
        f"By {over.period}, as the analysed range decides (days when it spans at most "
        f"{MOST_DAYS} days, else weeks; --over day|week chooses). "
        if report.period_from_range
        else ""
    )
    yield (
        f"<p class=note>{chosen}Flows count in the period their start falls in, read in "
        f"{_text(report.tz.key)} (--tz).{_text(marks_legend(over))}"
        f"{'' if over.filled else ' Periods with no flow are not listed.'}</p></section>"
    )


def _funnel_table(f: Figures) -> str:
    columns = funnel_columns(f)
    dropped = columns.index("dropped here")
    table = _table(columns, funnel_cells(f), drop_columns=(dropped,))
    return f"{table}<p class=note>{_text(funnel_legend(f))}</p>"


def _breakdown_section(report: Report, flow: FlowReport) -> Iterable[str]:
    """``flow``'s breakdown, the rows of the terminal table (``_segments``: the top values,
    the rest folded): a chart of their conversion, then the table, a marked p-value where a
    value's conversion differs significantly, and what the test columns mean."""
    by = report.by or ""
    yield f"<section><h3>{_text(flow.figures.flow)} by {_text(by)}</h3>"
    rows = breakdown_of(report, flow, top=report.top)
    chart = conversion_chart(by, [(row.value, row.figures) for row in rows.segments])
    if chart is not None:
        yield f"<figure class=chart>{chart}</figure>"
    columns = breakdown_columns(rows.as_versions)
    marked: dict[str, Callable[[Segment], bool]] = {
        AGAINST_REST: lambda row: _significant(row.against_rest),
        STEP_P: lambda row: row.step is not None and row.step.comparison.significant,
    }
    head = "".join(f"<th>{_text(h)}</th>" for h in (by, *columns))
    body = []
    for row in rows.segments:
        cells = [f"<td>{_text(row.value)}</td>"]
        for name, cell in zip(columns, breakdown_cells(row, rows.as_versions), strict=True):
            if name in marked and marked[name](row):
                cells.append(f'<td class=sig title="{_text(SIGNIFICANT_TITLE)}">{_text(cell)}</td>')
            else:
                cells.append(f"<td>{_text(cell)}</td>")
        body.append(f"<tr>{''.join(cells)}</tr>")
    # A breakdown by version has 13 columns: it scrolls sideways rather than wrap its cells.
    table = f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"
    yield f"<div class=breakdown>{table}</div>"
    folded = any(row.folded for row in rows.segments)
    yield f"<p class=note>{_text(breakdown_legend(rows.as_versions, folded))}</p>"
    yield "</section>"


SIGNIFICANT_TITLE: Final = f"differs significantly ({TEST_LEGEND})"


def _significant(test: Comparison | None) -> bool:
    return test is not None and test.significant


def _table(
    headers: Sequence[str], rows: Iterable[Sequence[str]], drop_columns: Sequence[int] = ()
) -> str:
    head = "".join(f"<th>{_text(h)}</th>" for h in headers)
    body = "".join(
        "<tr>"
        + "".join(
            f"<td{' class=drop' if i in drop_columns else ''}>{_text(cell)}</td>"
            for i, cell in enumerate(row)
        )
        + "</tr>"
        for row in rows
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _text(value: str) -> str:
    return escape(printable(value))


def _when(moment: datetime | None) -> str:
    return "-" if moment is None else moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
