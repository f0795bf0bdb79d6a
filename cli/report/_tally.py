"""The report's figures from its histogram: typed rows read back and folded to outcome counts.

``cli._funnel_run`` aggregates every flow (or, on the fast path, every start and ending
counted apart, and the odd groups' paired instances) into the table ``HISTOGRAM``: one row
per distinct value of the printed columns and completed duration, with how many flows.
``read_histogram`` reads it back with three queries, each into its own typed row
(``CountRow``, ``QuantileRow``, ``BinRow``), and folds the counts to ``OutcomeCount``s: a
completed flow whose duration exceeds the conversion window is counted late
(``_conversion_time``).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Final, Literal

from authfunnel.cli.report._conversion_time import BINS, bin_sql
from authfunnel.cli.report._funnel_query import Durations, OutcomeCount
from authfunnel.cli.report._rows import fetch_rows

if TYPE_CHECKING:
    import duckdb

HISTOGRAM: Final = "authfunnel_histogram"


@dataclass(frozen=True, slots=True)
class CountRow:
    """Flows (or, on the fast path, starts and endings counted apart) alike in every column."""

    flow: str
    by_value: str | None
    # 'instance': a paired flow; 'start', 'end': counted apart; 'shift': see ``_fold``.
    kind: Literal["instance", "start", "end", "shift"]
    outcome: str | None
    step: str | None
    reason: str | None
    error_class: str | None
    skipped: bool | None  # endings: after bypassing the funnel's optional steps
    abandoned: bool | None  # instances: open and started before the cutoff; else: before it
    orphan: bool  # endings before their group's first start (an instance numbered 0)
    late: bool  # completed after the conversion window
    flows: int
    no_browser: int


def counts_sql(window_ms: int) -> str:
    """The counts of ``HISTOGRAM``, completed flows longer than ``window_ms`` told apart."""
    return f"""
    SELECT flow, by_value, kind, outcome, step, reason, error_class, skipped, abandoned, orphan,
        coalesce(duration > {int(window_ms)}, false) AS late,
        sum(flows) AS flows, sum(no_browser) AS no_browser
    FROM {HISTOGRAM}
    GROUP BY flow, by_value, kind, outcome, step, reason, error_class, skipped, abandoned,
        orphan, late
"""


@dataclass(frozen=True, slots=True)
class QuantileRow:
    """Per flow and breakdown value (or across values: ``overall``), the completed durations
    at the ranks either side of the median and of p90, and where between them each lies."""

    flow: str
    by_value: str | None
    overall: bool
    median_low: int | None
    median_high: int | None
    median_at: float | None
    p90_low: int | None
    p90_high: int | None
    p90_at: float | None


# Median and p90 of completed durations per flow and breakdown value ('overall': across
# values), as DuckDB's quantile_cont computes them: the values at ranks floor and ceil of
# (n - 1) * q, interpolated (``_interpolate``).
QUANTILES_SQL: Final = f"""
    WITH h AS (
        SELECT flow, by_value, GROUPING(by_value) = 1 AS overall, duration, sum(flows) AS flows
        FROM {HISTOGRAM} WHERE duration IS NOT NULL
        GROUP BY GROUPING SETS ((flow, by_value, duration), (flow, duration))
    ),
    ranked AS (
        SELECT *, sum(flows) OVER (PARTITION BY flow, by_value, overall ORDER BY duration
                ROWS UNBOUNDED PRECEDING) AS upto,
            (sum(flows) OVER (PARTITION BY flow, by_value, overall) - 1)::DOUBLE AS last
        FROM h
    )
    SELECT flow, by_value, overall,
        min(duration) FILTER (WHERE upto > floor(last * 0.5)) AS median_low,
        min(duration) FILTER (WHERE upto > ceil(last * 0.5)) AS median_high,
        any_value(last * 0.5) AS median_at,
        min(duration) FILTER (WHERE upto > floor(last * 0.9)) AS p90_low,
        min(duration) FILTER (WHERE upto > ceil(last * 0.9)) AS p90_high,
        any_value(last * 0.9) AS p90_at
    FROM ranked
    GROUP BY flow, by_value, overall
"""


@dataclass(frozen=True, slots=True)
class BinRow:
    """Completed flows of one flow and breakdown value (or across values) in one time bin."""

    flow: str
    by_value: str | None
    overall: bool
    bin: int
    flows: int


# Completed durations per bin of ``_conversion_time.BINS``, grouped as ``QUANTILES_SQL``.
BINS_SQL: Final = f"""
    SELECT flow, by_value, GROUPING(by_value) = 1 AS overall, {bin_sql("duration")} AS bin,
        sum(flows) AS flows
    FROM {HISTOGRAM} WHERE duration IS NOT NULL
    GROUP BY GROUPING SETS ((flow, by_value, bin), (flow, bin))
    HAVING sum(flows) <> 0
"""


def read_histogram(
    con: duckdb.DuckDBPyConnection, window_ms: int
) -> tuple[list[OutcomeCount], list[Durations], int]:
    """The outcome counts (completed flows longer than ``window_ms`` late), the durations'
    quantiles and bins, and the orphan endings in ``HISTOGRAM``."""
    outcomes, orphans = _fold(fetch_rows(con, counts_sql(window_ms), CountRow))
    binned = bin_rows(fetch_rows(con, BINS_SQL, BinRow))
    return outcomes, quantiles(fetch_rows(con, QUANTILES_SQL, QuantileRow), binned), orphans


def bin_rows(rows: list[BinRow]) -> dict[tuple[str, str | None, bool], list[int]]:
    """Completed flows per bin, by flow, breakdown value and ``overall``."""
    binned: dict[tuple[str, str | None, bool], list[int]] = {}
    for row in rows:
        key = (row.flow, None if row.overall else row.by_value, row.overall)
        binned.setdefault(key, [0] * len(BINS))[row.bin] += row.flows
    return binned


def quantiles(
    rows: list[QuantileRow], binned: Mapping[tuple[str, str | None, bool], list[int]]
) -> list[Durations]:
    """Each row's median and p90, interpolated between the ranks either side, and its
    completed durations per bin (``binned``: by flow, breakdown value and ``overall``)."""
    return [
        Durations(
            flow=q.flow,
            by_value=q.by_value,
            median_ms=_interpolate(q.median_low, q.median_high, q.median_at),
            p90_ms=_interpolate(q.p90_low, q.p90_high, q.p90_at),
            overall=q.overall,
            time_to_convert=tuple(
                binned.get((q.flow, None if q.overall else q.by_value, q.overall), ())
            ),
        )
        for q in rows
    ]


Key = tuple[str, str | None]


def _fold(rows: list[CountRow]) -> tuple[list[OutcomeCount], int]:
    """Count rows to outcome counts and the orphan endings: starts minus endings of the
    well-formed groups are the flows still open, before the cutoff or after it, once the
    ended flows counted open on one side and closed on the other ('shift') are closed on
    their start's side."""
    outcomes: list[OutcomeCount] = []
    orphans = 0
    opened: Counter[tuple[str, str | None, bool]] = Counter()
    no_browser: Counter[Key] = Counter()
    for row in rows:
        if row.orphan:  # endings without a start
            orphans += row.flows
            continue
        before_cutoff = bool(row.abandoned)
        if row.kind == "start":
            opened[row.flow, row.by_value, before_cutoff] += row.flows
            no_browser[row.flow, row.by_value] += row.no_browser
            continue
        # Ended flows started before the cutoff and ended after it, less the reverse (a
        # clock stepped back): each was opened on its start's side, closed on the other.
        if row.kind == "shift":
            opened[row.flow, row.by_value, True] -= row.flows
            opened[row.flow, row.by_value, False] += row.flows
            continue
        if row.kind == "end":
            opened[row.flow, row.by_value, before_cutoff] -= row.flows
        outcomes.append(
            OutcomeCount(
                flow=row.flow,
                by_value=row.by_value,
                outcome=row.outcome,
                step=row.step,
                reason=row.reason,
                error_class=row.error_class,
                abandoned=before_cutoff and row.kind == "instance",
                flows=row.flows,
                no_browser=row.no_browser,
                late=row.late,
                skipped=bool(row.skipped),
            )
        )
    for (flow, by, abandoned), count in opened.items():
        if count < 0:
            raise RuntimeError(f"internal error: {flow} has more endings than starts")
        if count:
            outcomes.append(
                OutcomeCount(flow, by, None, None, None, None, abandoned, count, no_browser=0)
            )
    # The starts' no_browser count rides on any row of the same flow and breakdown value.
    for (flow, by), count in no_browser.items():
        if count:
            index = next(i for i, o in enumerate(outcomes) if (o.flow, o.by_value) == (flow, by))
            outcomes[index] = replace(
                outcomes[index], no_browser=outcomes[index].no_browser + count
            )
    return outcomes, orphans


def _interpolate(low: float | None, high: float | None, at: float | None) -> float | None:
    """The quantile at rank ``at`` from the values at the ranks below (``low``) and above it
    (``high``), as quantile_cont does."""
    if low is None or high is None or at is None:
        return None
    low, high = float(low), float(high)
    if high == low:
        return low
    return low + (high - low) * (at - int(at))
