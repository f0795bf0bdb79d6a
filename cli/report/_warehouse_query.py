"""The funnel as one ibis expression over Segment's warehouse schema, for any SQL engine.

Segment's warehouses keep a source in one schema: ``tracks`` (one row per track message:
``event`` is the snake_cased name, ``timestamp``, ``anonymous_id``, ``user_id``...) and one
table per event, named by its snake_cased name, with those columns plus one snake_cased
column per property it ever carried. The report reads the tables of the events the funnels
emit; a table (or a property column) that does not exist yet holds no such events (no such
values). Types are read from the warehouse, not assumed: ``sequence`` stored as a double or
as text is cast to an integer, so it orders as a number.

The rules are the reference's (``cli.report._reference``): each (invocation, flow) group's
events in one total order (sequence, starts first, then every column, missing values last);
a window over each group gives every event the one after it (LEAD), so a start's ending is
the event right after it when that is an ending; the group's first event, when an ending, is
an orphan. The instances are then counted per outcome, step, reason, error class and
breakdown value, and their completed durations per value to a histogram, from which running
sums read the median and p90 exactly. Nothing but those aggregated rows leaves the warehouse.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Final

from authfunnel.cli.report._funnel_query import (
    ABANDONED_AFTER_HOURS,
    COMMAND_EVENTS,
    KNOWN,
    STARTS,
    read_names,
)
from authfunnel.fsm import AUTH_ABORTED, AUTH_COMPLETED, AUTH_FAILED, COMMAND_COMPLETED, Funnel

if TYPE_CHECKING:
    import ibis.expr.types as ir

TRACKS: Final = "tracks"
# The properties a report reads, with the ibis type each is cast to.
PROPERTIES: Final = {
    "invocation_id": "string",
    "sequence": "int64",
    "flow": "string",
    "step": "string",
    "reason": "string",
    "error_class": "string",
    "duration_ms": "int64",
    "no_browser": "boolean",
    "succeeded": "boolean",
    "user_cancelled": "boolean",
}
# Columns every Segment table has that the report reads.
COMMON: Final = {"timestamp": "timestamp('UTC')", "anonymous_id": "string", "user_id": "string"}
_OUTCOMES: Final = {AUTH_COMPLETED: "completed", AUTH_ABORTED: "aborted", AUTH_FAILED: "failed"}
_EPOCH: Final = "1970-01-01 00:00:00+00:00"

Columns = Mapping[str, str]  # a table's column names and their engine's type names


def snake_case(name: str) -> str:
    """A name as Segment's warehouses spell tables and columns: ``CLI Auth Started`` is
    ``cli_auth_started``, ``errorClass`` is ``error_class``."""
    split = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", name)
    return re.sub(r"[^a-z0-9]+", "_", split.lower()).strip("_")


def segment_table(schema: str | None, name: str, columns: Columns) -> ir.Table:
    import ibis
    from ibis.backends.sql.datatypes import PostgresType

    typed = {column: PostgresType.from_string(kind) for column, kind in columns.items()}
    return ibis.table(typed, name=name, database=schema)


def _column(table: ir.Table, name: str, kind: str) -> ir.Value:
    """``table``'s column ``name`` as ``kind``; NULL where the table has no such column."""
    import ibis

    if name not in table.columns:
        return ibis.null(kind)
    column = table[name]
    if kind == "int64" and column.type().is_string():
        # Text such as '12' or '12.0': as a number, so that '10' sorts after '9'.
        return column.cast("decimal(38, 0)").cast("int64")
    return column.cast(kind)


def read_events(
    tables: Mapping[str, Columns], schema: str | None, funnels: Sequence[Funnel], by: str | None
) -> ir.Table | None:
    """The events ``funnels`` read, one row each, from the tables that exist (``None``: none
    does): group (invocation, else sender) and sequence (else time in microseconds), flow,
    is_start, and for endings outcome, step, reason, error class and duration."""
    import ibis

    flows = [str(f.flow) for f in funnels]
    single_steps = {str(f.flow): f.initial_step for f in funnels if len(f.step_names) == 1}
    parts = []
    for name in read_names(funnels):
        if snake_case(name) not in tables:
            continue  # no such event recorded yet
        table = segment_table(schema, snake_case(name), tables[snake_case(name)])
        p = {prop: _column(table, prop, kind) for prop, kind in PROPERTIES.items()}
        c = {col: _column(table, col, kind) for col, kind in COMMON.items()}
        flow = ibis.literal("command") if name in COMMAND_EVENTS else p["flow"]
        if name == COMMAND_COMPLETED:
            outcome = ibis.cases(
                (p["succeeded"], "completed"), (p["user_cancelled"], "aborted"), else_="failed"
            )
            reason = ibis.cases((p["user_cancelled"], "interrupt"), else_=p["reason"])
        else:
            outcome = ibis.literal(_OUTCOMES.get(name), "string")
            reason = p["reason"]
        ending = name not in STARTS
        step = p["step"]
        if single_steps:
            only = ibis.cases(*((flow == f, s) for f, s in single_steps.items()), else_=None)
            step = step.coalesce(only)
        exact = p["invocation_id"].notnull() & p["sequence"].notnull()
        sender = ("anonymous:" + c["anonymous_id"]).coalesce("user:" + c["user_id"])
        by_timed = sender.notnull() & c["timestamp"].notnull()
        micros = c["timestamp"].delta(ibis.timestamp(_EPOCH), unit="microsecond")
        null_text = ibis.null("string")
        parts.append(
            table.select(
                grp=ibis.cases((exact, p["invocation_id"]), (by_timed, sender), else_=null_text),
                seq=ibis.cases(
                    (exact, p["sequence"]), (by_timed, micros), else_=ibis.null("int64")
                ),
                approximate=~exact & by_timed,
                ts=c["timestamp"],
                flow=flow,
                is_start=ibis.literal(not ending),
                outcome=outcome if ending else null_text,
                step=step if ending else null_text,
                reason=reason if ending else null_text,
                error_class=p["error_class"] if ending else null_text,
                duration_ms=p["duration_ms"] if ending else ibis.null("int64"),
                no_browser=p["no_browser"],
                by_value=_column(table, snake_case(by), "string") if by else null_text,
            ).filter(flow.isin(flows))
        )
    if not parts:
        return None
    return ibis.union(*parts, distinct=False) if len(parts) > 1 else parts[0]


def paired(events: ir.Table) -> ir.Table:
    """Each event with the one after it in its group (``next_*``) and whether it is its
    group's first (``first``): rules 3 and 4 of the reference, in one window."""
    import ibis

    usable = events.filter(events.grp.notnull() & events.seq.notnull())
    order = [
        usable.seq,
        ~usable.is_start,
        usable.ts,
        usable.outcome,
        usable.step,
        usable.reason,
        usable.error_class,
        usable.duration_ms,
        usable.no_browser,
        usable.by_value,
    ]
    window = ibis.window(group_by=[usable.grp, usable.flow], order_by=order)
    following = ("is_start", "outcome", "step", "reason", "error_class", "duration_ms")
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
) -> ir.Table:
    """The flow instances started in the window, one row each, with their outcome, step,
    reason, error class, abandonment (``cutoff``: see ``cutoff``), breakdown value and
    completed duration; and, in the same pass (``orphan``), one row per group whose first
    event is an ending, whatever the window."""
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
    ended = start & kept.next_is_start.notnull() & ~kept.next_is_start

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
        error_class=ending(kept.next_error_class),
        abandoned=(start & outcome.isnull() & (kept.ts < cutoff)).fill_null(False),
        duration=ibis.ifelse(outcome == "completed", kept.next_duration_ms, ibis.null("int64")),
        no_browser=start & kept.no_browser.fill_null(False),
    )
    return instances


# Each figure row's columns (``figures``): a count's, then a quantile's; NULL where not its.
COUNT_KEYS: Final = ("flow", "orphan", "by_value", "outcome", "step", "reason", "error_class")
QUANTILES: Final = {"median": 0.5, "p90": 0.9}
FIGURE_COLUMNS: Final = (
    *COUNT_KEYS,
    *("abandoned", "flows", "no_browser", "overall"),
    *(f"{name}_{part}" for name in QUANTILES for part in ("low", "high", "at")),
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
    null_int = ibis.null("int64")
    return ibis.union(
        counts.mutate(
            overall=ibis.null("boolean"),
            **{name: null_int for name in quantiles if not name.endswith("_at")},
            **{name: ibis.null("float64") for name in quantiles if name.endswith("_at")},
        ).select(*FIGURE_COLUMNS),
        quantile_rows.mutate(
            orphan=ibis.literal(False),
            outcome=ibis.null("string"),
            step=ibis.null("string"),
            reason=ibis.null("string"),
            error_class=ibis.null("string"),
            abandoned=ibis.null("boolean"),
            flows=null_int,
            no_browser=null_int,
        ).select(*FIGURE_COLUMNS),
        distinct=False,
    )


def cutoff(tracks: ir.Table) -> ir.Value:
    """Flows with no ending started before this are abandoned: the newest message's time
    less ``ABANDONED_AFTER_HOURS``."""
    return tracks.timestamp.max() - ibis_hours(ABANDONED_AFTER_HOURS)


def ibis_hours(hours: int) -> ir.Value:
    import ibis

    return ibis.interval(timedelta(hours=hours))


def bookkeeping(tracks: ir.Table, events: ir.Table | None) -> ir.Table:
    """One row: messages in ``tracks``, those no funnel knows, the first and last times; of
    the read events, the unplaced ones and the ones placed by time (no window: a scan)."""
    import ibis

    known = [snake_case(name) for name in KNOWN]
    figures: dict[str, ir.Value] = {
        "rows": tracks.count(),
        "unknown_events": tracks.count(where=~tracks.event.isin(known)),
        "first_event": tracks.timestamp.min(),
        "last_event": tracks.timestamp.max(),
    }
    zero = ibis.literal(0, "int64")
    row = tracks.aggregate(**figures)
    if events is None:
        return row.mutate(unplaced=zero, approximate=zero)
    read = events.aggregate(
        unplaced=events.count(where=events.grp.isnull() | events.seq.isnull()),
        approximate=events.count(where=events.approximate & events.seq.notnull()),
    )
    return row.cross_join(read)
