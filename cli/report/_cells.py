"""How a figure reads in a cell, and what each column is called and means: one vocabulary for
the terminal table and the HTML page."""

from __future__ import annotations

from typing import Final

from authfunnel.cli.report._figures import Figures
from authfunnel.cli.report._segments import Segment
from authfunnel.cli.report._significance import TEST_LEGEND, Comparison, rounded_p

# The funnel's columns, then how the flows that dropped at a stage ended ("recovered" and
# "late" only when some were: a column of zeros otherwise), then "skipped" when some flows
# bypassed a funnel's optional steps (login's app steps, which run only with an apps API).
FUNNEL_COLUMNS: Final = ("stage", "reached", "% of start", "% of prev.", "dropped here")
FUNNEL_ENDINGS: Final = ("aborted", "failed", "recovered", "open", "late", "skipped")
FUNNEL_LEGEND: Final = (
    "reached: flows that got to the stage; % of start / % of prev.: reached as a share of the "
    "flows started / of those that reached the stage above; dropped here: flows that ended at "
    "the stage without completing (aborted + failed + open, that is in flight or abandoned{late})."
    "{skipped}"
)

# A breakdown row after its value: what each segment of a --by adds up to; the tests come
# after the conversion they are about ("vs prev." and its p only when the values are versions).
AGAINST_REST: Final = "p vs rest"
STEP: Final = "vs prev."
STEP_P: Final = "p vs prev."
LEADING_COLUMNS: Final = ("started", "completed", "conversion")
TRAILING_COLUMNS: Final = ("aborted", "failed", "open", "median", "p90")
TOO_FEW: Final = "too few"  # flows: said in full by the legend, kept short for 80 columns
MARK: Final = "*"


def breakdown_columns(as_versions: bool) -> tuple[str, ...]:
    """The columns of a breakdown row after its value, in ``breakdown_cells`` order."""
    tests = (AGAINST_REST, STEP, STEP_P) if as_versions else (AGAINST_REST,)
    return (*LEADING_COLUMNS, *tests, *TRAILING_COLUMNS)


def breakdown_legend(as_versions: bool, folded: bool) -> str:
    """What the test columns of a breakdown mean (``folded``: it has an "other" row)."""
    legend = f"{AGAINST_REST}: the value's conversion against the rest of the flow's flows"
    if as_versions:
        legend += (
            f"; {STEP}: the change from the version above, in percentage points; "
            f"{STEP_P}: that change's"
        )
    legend += f". Each p is adjusted for its column's many tests; {MARK}: significant"
    if folded:
        legend += f"; a folded row (older, other): how many of its values are marked {MARK}"
    return f"{legend} ({TEST_LEGEND})."


def percent(value: float | None) -> str:
    return "-" if value is None else f"{100 * value:.1f}%"


def seconds(ms: float | None) -> str:
    return "-" if ms is None else f"{ms / 1000:.1f} s"


def share(part: int, whole: int | None) -> float | None:
    return part / whole if whole else None


def funnel_columns(f: Figures) -> tuple[str, ...]:
    """The funnel table's columns for ``f`` (``funnel_cells`` order)."""
    shown = {
        "recovered": bool(f.recovered),
        "late": bool(f.completed_late),
        "skipped": _has_skipped(f),
    }
    return (*FUNNEL_COLUMNS, *(end for end in FUNNEL_ENDINGS if shown.get(end, True)))


def funnel_legend(f: Figures) -> str:
    """What the funnel's columns mean; "late" and "skipped" only where the table has them."""
    late = ", + late, completed after the conversion window" if f.completed_late else ""
    skipped = (
        " skipped: of the flows that reached a stage of optional steps, those that went past "
        "it without running them (a login without an apps API)."
        if _has_skipped(f)
        else ""
    )
    return FUNNEL_LEGEND.format(late=late, skipped=skipped)


def funnel_cells(f: Figures, *, alternatives: str = " or ") -> list[tuple[str, ...]]:
    """The funnel table's rows: one per stage (its steps joined by ``alternatives``), then
    "completed"."""
    recovered, late, optional = bool(f.recovered), bool(f.completed_late), _has_skipped(f)
    rows: list[tuple[str, ...]] = []
    previous: int | None = None  # the first stage has no stage above it
    for stage in f.stages:
        rows.append(
            (
                alternatives.join(stage.steps),
                f"{stage.reached:,}",
                percent(share(stage.reached, f.started)),
                percent(share(stage.reached, previous)),
                f"{stage.ended:,}",
                f"{stage.aborted:,}",
                f"{stage.failed:,}",
                *([f"{stage.recovered:,}"] if recovered else []),
                f"{stage.open:,}",
                *([f"{stage.late:,}"] if late else []),
                *([f"{stage.skipped:,}" if stage.optional else ""] if optional else []),
            )
        )
        previous = stage.reached
    ends = len(funnel_columns(f)) - len(FUNNEL_COLUMNS)
    rows.append(
        (
            "completed",
            f"{f.completed:,}",
            percent(f.conversion()),
            percent(share(f.completed, previous)),
            *[""] * (1 + ends),
        )
    )
    return rows


def _has_skipped(f: Figures) -> bool:
    return any(stage.skipped for stage in f.stages)


def p_value(test: Comparison | None) -> str:
    """A test's cell: its adjusted p-value (marked when significant), "too few" (flows to
    test), or nothing when there was nothing to test."""
    if test is None:
        return ""
    if test.adjusted_p is None:
        return TOO_FEW
    shown = "<0.001" if test.adjusted_p < 0.001 else rounded_p(test.adjusted_p, 3)
    return f"{shown} {MARK}" if test.significant else shown


def breakdown_cells(row: Segment, as_versions: bool) -> tuple[str, ...]:
    """One segment's figures, in ``breakdown_columns`` order."""
    f = row.figures
    if row.folded:  # the folded rest: its values were tested one by one
        inside = row.significant_inside
        tests: tuple[str, ...] = (f"{inside:,} {MARK}" if inside else "",)
    else:
        tests = (p_value(row.against_rest),)
    if as_versions:
        step = row.step
        tests += ("", "") if step is None else (f"{step.points:+.1f} pp", p_value(step.comparison))
    return (
        f"{f.started:,}",
        f"{f.completed:,}",
        percent(f.conversion()),
        *tests,
        f"{f.aborted:,}",
        f"{f.failed:,}",
        f"{f.in_flight + f.abandoned:,}",
        seconds(f.median_ms),
        seconds(f.p90_ms),
    )
