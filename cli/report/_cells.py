"""How a figure reads in a cell: the same in the terminal table and the HTML page."""

from __future__ import annotations

from typing import Final

from authfunnel.cli.report._figures import Figures

# A breakdown row after its value: what each segment of a --by adds up to.
BREAKDOWN_COLUMNS: Final = (
    "started",
    "completed",
    "conversion",
    "aborted",
    "failed",
    "open",
    "median",
    "p90",
)


def percent(value: float | None) -> str:
    return "-" if value is None else f"{100 * value:.1f}%"


def seconds(ms: float | None) -> str:
    return "-" if ms is None else f"{ms / 1000:.1f} s"


def breakdown_cells(f: Figures) -> tuple[str, ...]:
    """One segment's figures, in ``BREAKDOWN_COLUMNS`` order."""
    return (
        f"{f.started:,}",
        f"{f.completed:,}",
        percent(f.conversion()),
        f"{f.aborted:,}",
        f"{f.failed:,}",
        f"{f.in_flight + f.abandoned:,}",
        seconds(f.median_ms),
        seconds(f.p90_ms),
    )
