"""The funnel's figures from the read events (``_warehouse_query``), as one ibis expression.

The rules are the reference's (``cli.report._reference``): each (invocation, flow) group's
events in one total order (sequence, starts first, then every column, missing values last);
a window over each group gives every event the one after it (LEAD), so a start's ending is
the event right after it when that is an ending; the group's first event, when an ending, is
an orphan (``paired``, ``instances``). The instances are then counted per outcome, step,
reason, error class and breakdown value, and their completed durations per value to a
histogram, from which running sums read the median and p90 exactly (``figures``). Nothing
but those aggregated rows leaves the warehouse.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Final

from authfunnel.cli.report._conversion_time import BINS
from authfunnel.cli.report._funnel_query import ABANDONED_AFTER_HOURS

if TYPE_CHECKING:
    import ibis.expr.types as ir


def paired(events: ir.Table) -> ir.Table:
    """Each event with the one after it in its group (``next_*``) and whether it is its
    group's first (``first``): rules 3 and 4 of the reference, in one window."""
    import ibis

    # Only what the pairing and the counts read goes through the sort (``approximate`` is
    # bookkeeping's).
    usable = events.filter(events.grp.notnull() & events.seq.notnull()).drop("approximate")
    order = [
        usable.seq,
        ~usable.is_start,
        usable.ts,
        usable.outcome,
        usable.step,
        usable.reason,
        usable.error_class,
        usable.duration_ms,
        usable.skipped,
        usable.no_browser,
        usable.by_value,
    ]
    window = ibis.window(group_by=[usable.grp, usable.flow], order_by=order)
    # Each LEAD reads the next row again: only what an ending says. Whether the next event
    # is an ending is whether it has an outcome (every ending has one, no start has).
    following = ("outcome", "step", "reason", "error_class", "duration_ms", "skipped")
    return usable.mutate(
        first=ibis.row_number().over(window) == 0,
        next_by_value=usable.by_value.lead().over(window),
        **{f"next_{name}": usable[name].lead().over(window) for name in following},
    )


def instances(
    windowed: ir.Table,
    cutoff: ir.Value,
    since: datetime | None,
    until: datetime | None,
    window_ms: int,
) -> ir.Table:
    """The flow instances started in the window, one row each, with their outcome, step,
    reason, error class, abandonment (``cutoff``: see ``cutoff``), breakdown value and
    completed duration, and whether it completed after the conversion window (``late``:
    longer than ``window_ms``, as ``_tally.counts_sql``); and, in the same pass (``orphan``),
    one row per group whose first event is an ending, whatever the window."""
    import ibis

    in_window = ibis.literal(True)
    if since is not None:
        in_window &= windowed.ts >= ibis.literal(since)
    if until is not None:
        in_window &= windowed.ts < ibis.literal(until)
    kept = windowed.filter(
        (windowed.is_start & in_window.fill_null(False)) | (windowed.first & ~windowed.is_start)
    )
    start = kept.is_start
    ended = start & kept.next_outcome.notnull()

    def ending(column: ir.Value) -> ir.Value:
        return ibis.ifelse(ended, column, ibis.null(column.type()))

    outcome = ending(kept.next_outcome)
    instances = kept.select(
        flow=kept.flow,
        orphan=~start,
        by_value=ibis.ifelse(
            start, kept.by_value.coalesce(ending(kept.next_by_value)), ibis.null("string")
        ),
        outcome=outcome,
        step=ending(kept.next_step),
        reason=ending(kept.next_reason),
        skipped=ending(kept.next_skipped),
        error_class=ending(kept.next_error_class),
        abandoned=(start & outcome.isnull() & (kept.ts < cutoff)).fill_null(False),
        duration=ibis.ifelse(outcome == "completed", kept.next_duration_ms, ibis.null("int64")),
        no_browser=start & kept.no_browser.fill_null(False),
    )
    return instances.mutate(late=(instances.duration > window_ms).fill_null(False))


# Each figure row's columns (``figures``): a count's, then a quantile's; NULL where not its.
COUNT_KEYS: Final = (
    *("flow", "orphan", "by_value", "outcome", "step", "reason", "error_class", "skipped"),
    "late",
)
QUANTILES: Final = {"median": 0.5, "p90": 0.9}
FIGURE_COLUMNS: Final = (
    *COUNT_KEYS,
    *("abandoned", "flows", "no_browser", "overall"),
    *(f"{name}_{part}" for name in QUANTILES for part in ("low", "high", "at")),
    "bin",
)


def figures(instances: ir.Table) -> ir.Table:
    """The report's rows from ``instances``, in one relation: the counts (``overall`` NULL)
    and, from a histogram of completed durations, per flow and breakdown value and per flow
    (``overall``), the completed durations at the ranks either side of the median and of p90
    with where between them each lies, read from running sums over the durations in order:
    the exact quantiles, computed where the events are, as DuckDB's ``quantile_cont``."""
    import ibis

    # Counts, never sums, come back: PostgreSQL sums integers to NUMERIC (Python's Decimal).
    counts = instances.group_by([*COUNT_KEYS, "abandoned"]).aggregate(
        flows=instances.count(), no_browser=instances.count(where=instances.no_browser)
    )
    timed = instances.filter(instances.duration.notnull())
    each = timed.group_by(["flow", "by_value", "duration"]).aggregate(n=timed.count())
    across = timed.group_by(["flow", "duration"]).aggregate(n=timed.count())
    durations = ibis.union(
        each.mutate(overall=ibis.literal(False)),
        across.mutate(by_value=ibis.null("string"), overall=ibis.literal(True)),
        distinct=False,
    )
    part = [durations.flow, durations.by_value, durations.overall]
    ranked = durations.mutate(
        upto=durations.n.sum().over(
            ibis.window(group_by=part, order_by=durations.duration, preceding=None, following=0)
        ),
        last=(durations.n.sum().over(ibis.window(group_by=part)) - 1).cast("float64"),
    )
    quantiles: dict[str, ir.Value] = {}
    for name, q in QUANTILES.items():
        at = ranked.last * q
        quantiles[f"{name}_low"] = ranked.duration.min(where=ranked.upto > at.floor())
        quantiles[f"{name}_high"] = ranked.duration.min(where=ranked.upto > at.ceil())
        quantiles[f"{name}_at"] = at.max()
    quantile_rows = ranked.group_by(["flow", "by_value", "overall"]).aggregate(**quantiles)
    # Completed flows per time-to-convert bin (``_conversion_time.BINS``), as ``_tally``'s:
    # counted, not summed (see above).
    binned = timed.mutate(
        bin=sum((ibis.ifelse(timed.duration >= b.from_ms, 1, 0) for b in BINS[1:]), ibis.literal(0))
    )
    bins = ibis.union(
        binned.group_by(["flow", "by_value", "bin"])
        .aggregate(flows=binned.count())
        .mutate(overall=ibis.literal(False)),
        binned.group_by(["flow", "bin"])
        .aggregate(flows=binned.count())
        .mutate(by_value=ibis.null("string"), overall=ibis.literal(True)),
        distinct=False,
    )
    # Each kind of row holds NULL (or false) in the other kinds' columns.
    null_int = ibis.null("int64")
    no_count = {
        "late": ibis.literal(False),
        "orphan": ibis.literal(False),
        "outcome": ibis.null("string"),
        "step": ibis.null("string"),
        "reason": ibis.null("string"),
        "skipped": ibis.null("boolean"),
        "error_class": ibis.null("string"),
        "abandoned": ibis.null("boolean"),
        "no_browser": null_int,
    }
    no_quantiles = {
        name: ibis.null("float64" if name.endswith("_at") else "int64") for name in quantiles
    }
    return ibis.union(
        counts.mutate(bin=null_int, overall=ibis.null("boolean"), **no_quantiles).select(
            *FIGURE_COLUMNS
        ),
        quantile_rows.mutate(bin=null_int, flows=null_int, **no_count).select(*FIGURE_COLUMNS),
        bins.mutate(**no_count, **no_quantiles).select(*FIGURE_COLUMNS),
        distinct=False,
    )


def cutoff(newest: datetime | None) -> ir.Value:
    """Flows with no ending started before this are abandoned: the newest message's time
    (``Bookkeeping.last_event``, already read) less ``ABANDONED_AFTER_HOURS``; NULL (none
    abandoned) when there is no message. A literal, so the figures do not scan ``tracks``
    a second time for it."""
    import ibis

    if newest is None:
        return ibis.null("timestamp('UTC')")
    return ibis.literal(newest - timedelta(hours=ABANDONED_AFTER_HOURS), "timestamp('UTC')")
