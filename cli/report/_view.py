"""The report drawn with rich: funnel bars and a table per flow, exportable as SVG or HTML."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final, TypeAlias

from authfunnel.cli.app import Environment, literal, plural, printable, terminal_width
from authfunnel.cli.report._cells import (
    FUNNEL_COLUMNS,
    MARK,
    TRAILING_COLUMNS,
    breakdown_cells,
    breakdown_columns,
    breakdown_legend,
    funnel_cells,
    funnel_columns,
    funnel_legend,
    percent,
    seconds,
    share,
)
from authfunnel.cli.report._conversion_time import BINS, window_text
from authfunnel.cli.report._events import approximate_note, malformed_reasons
from authfunnel.cli.report._figures import Figures
from authfunnel.cli.report._model import Report, breakdown_of
from authfunnel.cli.report._periods import Timeline, label, marks_legend
from authfunnel.cli.report._segments import Breakdown
from authfunnel.cli.report._unreported import unreported_note

if TYPE_CHECKING:
    from rich.console import Console, RenderableType
    from rich.text import Text

Cell: TypeAlias = "str | Text"
BAR_WIDTH: Final = 24
UNBOUNDED: Final = 10_000
MIN_BAR: Final = 8  # shorter bars tell nothing the percentages do not
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
        console.print(*_fitted(console, _funnel_grid(flow.figures)))
        console.print(Text(funnel_legend(flow.figures), style="dim"))
        for line in _outcome_lines(flow.figures) + conversion_lines(flow.figures, report):
            console.print(literal(line))
        if report.by:
            console.print()
            rows = breakdown_of(report, flow, top=report.top)
            grid = _breakdown_grid(flow.figures.flow, report.by, rows)
            console.print(*_fitted(console, grid))
            folded = any(row.folded for row in rows.segments)
            console.print(Text(breakdown_legend(rows.as_versions, folded), style="dim"))
        if flow.over is not None:
            console.print()
            console.print(*_fitted(console, _over_grid(flow.figures.flow, flow.over, report)))
            console.print(Text(over_legend(flow.over), style="dim"))
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
    found += unreported_note(report.unreported)
    if report.unknown_events:
        found.append(
            f"{plural(report.unknown_events, 'other message')} (identify, page, ...) ignored"
        )
    if report.orphan_terminals:
        endings = plural(report.orphan_terminals, "flow ending")
        found.append(f"{endings} without a start event ignored")
    unknown = sum(flow.figures.unknown_step for flow in report.flows)
    if unknown:
        found.append(f"{plural(unknown, 'flow')} ended at a step the funnel does not declare")
    return found


def _funnel_grid(f: Figures) -> Grid:
    title = f"{f.flow} funnel: {f.started:,} started, {percent(f.conversion())} completed"
    if f.median_ms is not None:
        title += f", median {seconds(f.median_ms)}, p90 {seconds(f.p90_ms)}"
    rows = funnel_cells(f, alternatives=" or\n")  # alternatives: one stage, a line each
    shares = [share(stage.reached, f.started) for stage in f.stages] + [f.conversion()]
    headers = tuple(_stacked(name) for name in funnel_columns(f))
    return Grid(title, headers, rows, shares, first_table_columns=len(FUNNEL_COLUMNS))


def _stacked(header: str) -> str:
    """A header of several words on two lines, its last word below: a narrower column."""
    head, _, last = header.rpartition(" ")
    return f"{head}\n{last}" if head else header


def _outcome_lines(f: Figures) -> list[str]:
    flight = f"in flight: {f.in_flight:,} · abandoned: {f.abandoned:,}"
    if f.records_no_browser:
        no_browser = f"no_browser: {f.no_browser:,} of {f.started:,}"
        flight = f"{no_browser} ({percent(share(f.no_browser, f.started))}) · {flight}"
    lines = [flight]
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


def conversion_lines(f: Figures, report: Report) -> list[str]:
    """The flows that completed after the conversion window, and the time-to-convert bins."""
    window = window_text(report.window)
    lines = []
    if f.completed_late:
        lines.append(
            f"completed late: {f.completed_late:,} took longer than the {window} conversion "
            "window (--window): not counted as completed, but as dropped at the last stage"
        )
    if any(f.time_to_convert):
        spread = " · ".join(
            f"{b.label} {n:,}" for b, n in zip(BINS, f.time_to_convert, strict=True) if n
        )
        lines.append(f"time to convert: {spread}")
    return lines


def _over_grid(flow: str, over: Timeline, report: Report) -> Grid:
    """Per period flows started in: started, completed in the window, late, conversion and
    its bar (the other outcomes are in the JSON: the rows stay within 80 columns)."""
    return Grid(
        f"{flow} by the {over.period} flows started ({report.tz.key})",
        (over.period, "started", "completed", "late", "conv."),
        [
            (
                label(bucket, over.period),
                *(f"{n:,}" for n in (b.started, b.completed, b.completed_late)),
                percent(b.conversion()),
            )
            for bucket in over.buckets
            for b in [bucket.figures]
        ],
        [bucket.figures.conversion() for bucket in over.buckets],
        first_table_columns=5,
    )


def over_legend(over: Timeline) -> str:
    """What the periods table's rows mean, and what is left out of it."""
    text = "completed: within the conversion window; late: after it." + marks_legend(over)
    if not over.filled:
        text += " Periods with no flow are not listed (too many between the first and last)."
    return text


def _breakdown_grid(flow: str, by: str, rows: Breakdown) -> Grid:
    from rich.text import Text

    def marked(cell: str) -> Cell:
        """A significant test's cell stands out where the terminal has colour."""
        return Text(cell, style="bold red") if cell.endswith(f" {MARK}") else cell

    columns = breakdown_columns(rows.as_versions)
    return Grid(
        f"{flow} by {by}",
        (by, *(_stacked(name) for name in columns)),
        [
            (literal(row.value), *map(marked, breakdown_cells(row, rows.as_versions)))
            for row in rows.segments
        ],
        [row.figures.conversion() for row in rows.segments],
        # The value, its figures and tests: the first table when stacked.
        first_table_columns=1 + len(columns) - len(TRAILING_COLUMNS),
    )


@dataclass(frozen=True)
class Grid:
    """A table before it is drawn: its rows (the first cell names the row), each row's share
    drawn as a bar after the first ``first_table_columns`` columns, which are also what the
    first of two tables shows when one does not fit."""

    title: str
    headers: tuple[str, ...]
    rows: Sequence[tuple[Cell, ...]]
    shares: list[float | None]
    first_table_columns: int


def _fitted(console: Console, grid: Grid) -> list[RenderableType]:
    """``grid`` as one table as wide as ``console`` allows (the bars shortened, then dropped),
    or, when even that is too wide, as two tables one above the other: the row names with the
    first columns and the bars, then the row names with the rest. Never a cell cut short."""
    from rich.measure import Measurement

    unbounded = console.options.update_width(UNBOUNDED)  # measured as wide as they would be

    def width(columns: Sequence[int], bar_width: int) -> int:
        table = _table(grid, columns, bar_width=bar_width)
        return Measurement.get(console, unbounded, table).maximum

    def room_for_bar(columns: Sequence[int]) -> int:
        spare = console.width - width(columns, 1) + 1
        return min(BAR_WIDTH, spare) if spare >= MIN_BAR else 0

    every = range(len(grid.headers))
    if width(every, 0) <= console.width:
        return [_table(grid, every, bar_width=room_for_bar(every))]
    split = range(grid.first_table_columns)
    bar = room_for_bar(split)
    rest = _table(grid, [0, *every[len(split) :]], bar_width=0, title="")
    return [_table(grid, split, bar_width=bar), rest]


def _table(
    grid: Grid, columns: Iterable[int], *, bar_width: int, title: str | None = None
) -> RenderableType:
    from rich import box
    from rich.table import Table

    shown = list(columns)
    table = Table(
        title=grid.title if title is None else title or None,
        title_justify="left",
        box=box.SIMPLE_HEAD,
        pad_edge=False,
        collapse_padding=True,
    )
    for index in shown:
        # Folded, never cut: a cell too wide for the column wraps onto more lines, where an
        # ellipsis would hide a figure or make two --by values that differ at the end alike.
        table.add_column(
            grid.headers[index], justify="left" if index == 0 else "right", overflow="fold"
        )
        if bar_width and index == grid.first_table_columns - 1:
            table.add_column("", width=bar_width, no_wrap=True)
    for row, row_share in zip(grid.rows, grid.shares, strict=True):
        cells = []
        for index in shown:
            cells.append(row[index])
            if bar_width and index == grid.first_table_columns - 1:
                cells.append(_bar(row_share, bar_width))
        table.add_row(*cells)
    return table


def _bar(share: float | None, width: int) -> str:
    if share is None:
        return ""
    eighths = round(width * 8 * share)
    full, rest = divmod(eighths, 8)
    return "█" * full + ("", "▏", "▎", "▍", "▌", "▋", "▊", "▉")[rest]


def render(report: Report, fmt: str, env: Environment) -> str:
    """``report`` as a terminal table, at the terminal's width and in its colours (``fmt`` is
    "table"; the ``html`` and ``svg`` exports are ``export``'s)."""
    import io

    if fmt != "table":
        raise ValueError(f"render draws tables; {fmt!r} is an export")
    buffer = io.StringIO()
    console = env.console(buffer, width=terminal_width(env), terminal=env.stdout_isatty)
    print_report(console, report)
    if not env.stdout_isatty:
        # Plain text for a file or the next program: no padding after the last word.
        return "".join(line.rstrip() + "\n" for line in buffer.getvalue().splitlines())
    return buffer.getvalue()
