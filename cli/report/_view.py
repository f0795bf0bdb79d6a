"""The report drawn with rich: funnel bars and a table per flow, exportable as SVG or HTML."""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

from authfunnel.cli.app import Environment, literal, plural, printable
from authfunnel.cli.report._events import approximate_note, malformed_reasons
from authfunnel.cli.report._figures import Figures
from authfunnel.cli.report._model import Report

if TYPE_CHECKING:
    from rich.console import Console, RenderableType

BAR_WIDTH: Final = 24
TOP_ERRORS: Final = 5


def print_report(console: Console, report: Report) -> None:
    """Print every flow of ``report`` to ``console``: whatever comes from the events (property
    values, error classes, the path) goes through ``literal``, so no escape sequence or rich
    markup in them reaches the terminal."""
    from rich.text import Text

    shown = [flow for flow in report.flows if flow.figures.started]
    if not shown:
        console.print(literal(f"No flows in {report.source} match (nothing started)."))
    for flow in shown:
        if not flow.figures.records_endings:
            console.print(
                Text(
                    f"{flow.figures.flow}: {flow.figures.started:,} started (this flow records "
                    "only its start, so it has no funnel)"
                )
            )
            console.print()
            continue
        console.print(_funnel_table(flow.figures))
        for line in _outcome_lines(flow.figures):
            console.print(literal(line))
        if report.by:
            console.print(_breakdown_table(flow.figures.flow, report.by, flow.breakdown))
        console.print()
    for note in notes(report):
        console.print(Text(printable(note), style="dim"))


def notes(report: Report) -> list[str]:
    """What was read but not counted, said out loud."""
    found = []
    if report.loaded.malformed:
        skipped = plural(report.loaded.malformed, "malformed line")
        found.append(f"{skipped} skipped: {malformed_reasons(report.loaded)}")
    if report.loaded.approximate:
        found.append(approximate_note(report.loaded))
    if report.unknown_events:
        found.append(
            f"{plural(report.unknown_events, 'other message')} (unknown events, identify, ...) "
            "ignored"
        )
    if report.orphan_terminals:
        endings = plural(report.orphan_terminals, "flow ending")
        found.append(f"{endings} without a start event ignored")
    unknown = sum(flow.figures.unknown_step for flow in report.flows)
    if unknown:
        found.append(f"{plural(unknown, 'flow')} ended at a step the funnel does not declare")
    return found


def _funnel_table(f: Figures) -> RenderableType:
    from rich.table import Table

    title = f"{f.flow} funnel: {f.started:,} started, {_pct(f.conversion())} completed"
    if f.median_ms is not None:
        title += f", median {_seconds(f.median_ms)}, p90 {_seconds(f.p90_ms)}"
    table = Table(title=title, title_justify="left")
    table.add_column("stage", no_wrap=True)
    table.add_column("reached", justify="right")
    table.add_column("", min_width=BAR_WIDTH + 1, no_wrap=True)
    for header in ("went on", "step conv.", "overall", "aborted"):
        table.add_column(header, justify="right")
    table.add_column("failed", justify="right")
    # Only when there are some: the usual table keeps its width (it fits 120 columns).
    recovered = bool(f.recovered)
    if recovered:
        table.add_column("recovered", justify="right")
    table.add_column("open", justify="right")
    previous = f.started
    for stage in f.stages:
        table.add_row(
            " | ".join(stage.steps),
            f"{stage.reached:,}",
            _bar(stage.reached, f.started),
            f"{stage.went_on:,}",
            _pct(stage.reached / previous if previous else None),
            _pct(stage.reached / f.started if f.started else None),
            f"{stage.aborted:,}",
            f"{stage.failed:,}",
            *([f"{stage.recovered:,}"] if recovered else []),
            f"{stage.open:,}",
        )
        previous = stage.reached
    table.add_row(
        "completed",
        f"{f.completed:,}",
        _bar(f.completed, f.started),
        "",
        _pct(f.completed / previous if previous else None),
        _pct(f.conversion()),
        *[""] * (4 if recovered else 3),
    )
    return table


def _outcome_lines(f: Figures) -> list[str]:
    lines = [
        f"no_browser: {f.no_browser:,} of {f.started:,} ({_pct(_share(f.no_browser, f.started))})"
        f" · in flight: {f.in_flight:,} · abandoned: {f.abandoned:,}"
    ]
    if f.aborted_by_reason:
        reasons = ", ".join(f"{k} {v:,}" for k, v in f.aborted_by_reason.most_common())
        lines.append(f"aborted {f.aborted:,}: {reasons}")
    if f.failed_by_class:
        top = ", ".join(f"{k} {v:,}" for k, v in f.failed_by_class.most_common(TOP_ERRORS))
        lines.append(f"failed {f.failed:,}, top error classes: {top}")
    if f.recovered:
        lines.append(
            f"recovered {f.recovered:,} of the failed: the process was killed mid-flow and the "
            "next invocation recorded the ending"
        )
    return lines


def _breakdown_table(flow: str, by: str, breakdown: dict[str, Figures]) -> RenderableType:
    from rich.table import Table

    table = Table(title=f"{flow} by {by}", title_justify="left")
    table.add_column(by)
    for header in ("started", "completed", "conversion", "", "aborted", "failed", "open"):
        table.add_column(header, justify="left" if not header else "right")
    table.add_column("median", justify="right")
    table.add_column("p90", justify="right")
    for value, f in breakdown.items():
        table.add_row(
            literal(value),
            f"{f.started:,}",
            f"{f.completed:,}",
            _pct(f.conversion()),
            _bar(f.completed, f.started),
            f"{f.aborted:,}",
            f"{f.failed:,}",
            f"{f.in_flight + f.abandoned:,}",
            _seconds(f.median_ms),
            _seconds(f.p90_ms),
        )
    return table


def _bar(part: int, whole: int) -> str:
    if not whole:
        return ""
    eighths = round(BAR_WIDTH * 8 * part / whole)
    full, rest = divmod(eighths, 8)
    return "█" * full + ("", "▏", "▎", "▍", "▌", "▋", "▊", "▉")[rest]


def _share(part: int, whole: int) -> float | None:
    return part / whole if whole else None


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{100 * value:.1f}%"


def _seconds(ms: float | None) -> str:
    return "-" if ms is None else f"{ms / 1000:.1f} s"


def render(report: Report, fmt: str, env: Environment) -> str:
    """``report`` as text: ``table`` for the terminal (its width, its colours), or an ``svg`` /
    ``html`` export of the same drawing at 120 columns."""
    import io

    exporting = fmt != "table"
    buffer = io.StringIO()
    console = env.console(
        buffer,
        width=120 if exporting else _width(env),
        record=exporting,
        terminal=env.stdout_isatty and not exporting,
        color=exporting or None,
    )
    print_report(console, report)
    if fmt == "svg":
        return console.export_svg(title=printable(f"authfunnel report: {report.source}"))
    if fmt == "html":
        return console.export_html()
    return buffer.getvalue()


def _width(env: Environment) -> int:
    try:
        return max(60, int(env.variables.get("COLUMNS", "120")))
    except ValueError:
        return 120
