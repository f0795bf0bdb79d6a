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

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Final

from authfunnel.cli.report._conversion_time import BINS
from authfunnel.cli.report._funnel_query import ABANDONED_AFTER_HOURS

if TYPE_CHECKING:
    import ibis.expr.types as ir


def paired(events: ir.Table, *, start_time: bool = True, breakdown: bool = True) -> ir.Table:
    """Each event with what its neighbours in its group say: whether the event before it is
    a start, one that said no_browser (``prev_kind``: see ``kind``; NULL for the group's
    first event), whether the event after it is an ending
    (``next_ending``); with ``start_time`` the time of the event before it (``prev_ts``),
    with ``breakdown`` its ``by_value`` (``prev_by_value``): rules 3 and 4 of the reference,
    in one window. An instance is then one row, never a join: an ending right after a start
    (it carries its own outcome, step, reason...: nothing of it is read again), a start not
    followed by an ending, or a group's first event when it is an ending (an orphan)."""
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
    # One LAG says both what the start before an ending said of the browser and that it is
    # a start: 0 an ending, 1 a start, 2 a start that said no_browser.
    kind = ibis.cases((~usable.is_start, 0), (usable.no_browser.fill_null(False), 2), else_=1).cast(
        "int8"
    )
    neighbours: dict[str, ir.Value] = {
        "prev_kind": kind.lag().over(window),
        "next_ending": ~usable.is_start.lead().over(window),
    }
    if start_time:
        neighbours["prev_ts"] = usable.ts.lag().over(window)
    if breakdown:
        neighbours["prev_by_value"] = usable.by_value.lag().over(window)
    return usable.mutate(**neighbours)


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

    def in_window(ts: ir.Value) -> ir.Value:
        inside = ibis.literal(True)
        if since is not None:
            inside &= ts >= ibis.literal(since)
        if until is not None:
            inside &= ts < ibis.literal(until)
        return inside.fill_null(False)

    start = windowed.is_start
    # An ending right after a start: the instance that start began, ended here.
    ended = ~start & (windowed.prev_kind > 0).fill_null(False)
    started_at = windowed.prev_ts if "prev_ts" in windowed.columns else windowed.ts
    kept = windowed.filter(
        (start & ~windowed.next_ending.fill_null(False) & in_window(windowed.ts))
        | (ended & in_window(started_at))
        | (~start & windowed.prev_kind.isnull())
    )
    # Each kept row is a start (its ending columns NULL, as ``read_events`` gives them), an
    # ending right after its start, or an orphan: its columns are read as they are, and an
    # orphan's are never read (it is counted alone, and kept out of the durations). Every
    # expression here runs once per instance in one process after the window: the fewer,
    # the faster (10 M events: 1.65 s -> 1.46 s after the window).
    start, orphan = kept.is_start, kept.prev_kind.isnull()
    by_value = kept.by_value
    if "prev_by_value" in kept.columns:
        # The start's value, else the ending's (the start's event is the one before).
        by_value = ibis.ifelse(start, by_value, kept.prev_by_value.coalesce(by_value))
    duration = ibis.ifelse(kept.outcome == "completed", kept.duration_ms, ibis.null("int64"))
    return kept.select(
        flow=kept.flow,
        orphan=~start & orphan,
        by_value=by_value,
        outcome=kept.outcome,
        step=kept.step,
        reason=kept.reason,
        skipped=kept.skipped,
        error_class=kept.error_class,
        abandoned=(start & (kept.ts < cutoff)).fill_null(False),
        duration=duration,
        # A start's own word, else (an ending) its start's: the event before it.
        no_browser=ibis.ifelse(start, kept.no_browser, kept.prev_kind == 2).fill_null(False),
        late=(duration > window_ms).fill_null(False),
    )


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


def figures(instances: ir.Table, stage: Callable[[ir.Table], ir.Table] | None = None) -> ir.Table:
    """The report's rows from ``instances``, in one relation: the counts (``overall`` NULL)
    and, from a histogram of completed durations, per flow and breakdown value and per flow
    (``overall``), the completed durations at the ranks either side of the median and of p90
    with where between them each lies, read from running sums over the durations in order:
    the exact quantiles, computed where the events are, as DuckDB's ``quantile_cont``.
    ``stage`` (an engine's ``staged``) computes the tally they are all read from once, where
    the engine would compute it again for each use."""
    import ibis

    # One pass over the instances: counted per key and completed duration (a few rows per
    # distinct duration), which the counts, the histogram and the bins then read, not the
    # instances again. PostgreSQL sums integers to NUMERIC (ibis's int64 casts of them are
    # dropped as no-ops): ``_warehouse.figure_row`` reads them as integers.
    # Grouped by the completed duration first: where the engine sorts to group (PostgreSQL
    # does, not knowing how few groups there are), most comparisons then end at the first
    # key instead of running through the ten that nearly every instance shares.
    tally = instances.group_by(["duration", *COUNT_KEYS, "abandoned"]).aggregate(
        flows=instances.count(), no_browser=instances.count(where=instances.no_browser)
    )
    if stage is not None:
        tally = stage(tally)
    counts = tally.group_by([*COUNT_KEYS, "abandoned"]).aggregate(
        flows=tally.flows.sum(), no_browser=tally.no_browser.sum()
    )
    timed = tally.filter(tally.duration.notnull() & ~tally.orphan)
    each = timed.group_by(["flow", "by_value", "duration"]).aggregate(n=timed.flows.sum())
    across = timed.group_by(["flow", "duration"]).aggregate(n=timed.flows.sum())
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
    # Completed flows per time-to-convert bin (``_conversion_time.BINS``), as ``_tally``'s,
    # from the histogram: a duration's bin is its histogram row's.
    binned = durations.mutate(
        bin=sum(
            (ibis.ifelse(durations.duration >= b.from_ms, 1, 0) for b in BINS[1:]),
            ibis.literal(0),
        )
    )
    bins = binned.group_by(["flow", "by_value", "overall", "bin"]).aggregate(flows=binned.n.sum())
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
