"""Segment's warehouse schema read as the report's events, as ibis expressions for any engine.

Segment's warehouses keep a source in one schema: ``tracks`` (one row per track message:
``event`` is the snake_cased name, ``timestamp``, ``anonymous_id``, ``user_id``...) and one
table per event, named by its snake_cased name, with those columns plus one snake_cased
column per property it ever carried, each name as the engine stores it (PostgreSQL keeps
its first 63 bytes: ``_warehouse_names``). The report reads the tables of the events the
funnels emit (``read_events``) and counts, per flow, the events of any table that they do not read
(``event_tables``, in the same scan as the read events' bookkeeping); a table (or a property
column) that does not exist yet holds no such events (no such values). Types are read from
the warehouse, not assumed: ``sequence`` stored as a double or as text is cast to an integer,
so it orders as a number. ``bookkeeping`` counts what the report says of ``tracks``;
``_warehouse_figures`` pairs and counts.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Final

from authfunnel.cli.report._roles import CANCELLED_REASON, EventRoles, event_roles
from authfunnel.cli.report._warehouse_names import WHOLE, Identifiers, stored_names
from authfunnel.cli.report._warehouse_names import snake_case as snake_case  # re-exported
from authfunnel.fsm import Funnel

if TYPE_CHECKING:
    import ibis.expr.datatypes as dt
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
    "skipped": "boolean",
    "succeeded": "boolean",
    "user_cancelled": "boolean",
}
# Columns every Segment table has that the report reads.
COMMON: Final = {"timestamp": "timestamp('UTC')", "anonymous_id": "string", "user_id": "string"}
_EPOCH: Final = "1970-01-01 00:00:00+00:00"

# A table's column names and their types: PostgreSQL's type names, or ibis types (an engine
# whose type names PostgreSQL's parser does not read, such as Spark, gives those).
Columns = Mapping[str, "str | dt.DataType"]


def segment_table(schema: str | None, name: str, columns: Columns) -> ir.Table:
    import ibis
    from ibis.backends.sql.datatypes import PostgresType

    typed = {
        column: PostgresType.from_string(kind) if isinstance(kind, str) else kind
        for column, kind in columns.items()
    }
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
    tables: Mapping[str, Columns],
    schema: str | None,
    funnels: Sequence[Funnel],
    by: str | None,
    identifiers: Identifiers = WHOLE,
) -> ir.Table | None:
    """The events ``funnels`` read, one row each, from the tables that exist (``None``: none
    does): group (invocation, else sender) and sequence (else time in microseconds), flow,
    is_start, and for endings outcome (never NULL for an ending: ``paired`` tells endings
    by it), step, reason, error class and duration. A table the engine clipped the name of
    may hold an event not read too (``_warehouse_names``): its rows whose ``event_text``
    names the read event are read (every row, where the table has no ``event_text``)."""
    import ibis

    roles = event_roles(funnels)
    stored = stored_names(roles.names, identifiers, "event")
    columns = stored_names([*PROPERTIES, *([by] if by else [])], identifiers, "property")
    flows = list(roles.flows)
    single_steps = {str(f.flow): f.initial_step for f in funnels if len(f.step_names) == 1}
    parts = []
    for name in roles.names:
        if stored[name] not in tables:
            continue  # no such event recorded yet
        table = segment_table(schema, stored[name], tables[stored[name]])
        if identifiers.may_share(name) and "event_text" in table.columns:
            table = table.filter(table.event_text == name)
        p = {prop: _column(table, columns[prop], kind) for prop, kind in PROPERTIES.items()}
        c = {col: _column(table, col, kind) for col, kind in COMMON.items()}
        fixed = roles.fixed_flows.get(name)
        flow = p["flow"] if fixed is None else ibis.literal(fixed, "string")
        if name in roles.told:
            outcome = ibis.cases(
                (p["succeeded"], "completed"), (p["user_cancelled"], "aborted"), else_="failed"
            )
            reason = p["reason"].coalesce(CANCELLED_REASON)
            reason = ibis.cases((p["user_cancelled"], reason), else_=p["reason"])
        else:
            outcome = ibis.literal(roles.outcomes.get(name), "string")
            reason = p["reason"]
        ending = not roles.is_start(name)
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
                # As the DuckDB paths read it: an ending's, false where it does not say.
                skipped=p["skipped"].fill_null(False) if ending else ibis.null("boolean"),
                no_browser=p["no_browser"],
                by_value=_column(table, columns[by], "string") if by else null_text,
            ).filter(flow.isin(flows))
        )
    if not parts:
        return None
    return ibis.union(*parts, distinct=False) if len(parts) > 1 else parts[0]


def first_seen(
    tables: Mapping[str, Columns],
    schema: str | None,
    by: str,
    values: Sequence[str],
    identifiers: Identifiers = WHOLE,
) -> ir.Table | None:
    """When each of ``values`` of the property ``by`` was first seen (``by_value``,
    ``seen``): its earliest time on any event, read or not, as the DuckDB paths read it from
    every message (``None``: no event table has the property's column)."""
    import ibis

    column = identifiers.name_of(by)
    parts = []
    for name, columns in tables.items():
        if name == TRACKS or column not in columns:
            continue
        table = segment_table(schema, name, columns)
        value = table[column].cast("string")
        ts = _column(table, "timestamp", COMMON["timestamp"])
        parts.append(table.select(by_value=value, ts=ts).filter(value.isin(values) & ts.notnull()))
    if not parts:
        return None
    found = ibis.union(*parts, distinct=False) if len(parts) > 1 else parts[0]
    return found.group_by("by_value").aggregate(seen=found.ts.min())


def event_tables(
    tables: Mapping[str, Columns],
    schema: str | None,
    funnels: Sequence[Funnel],
    identifiers: Identifiers = WHOLE,
) -> ir.Table | None:
    """One scan of every event table for two tallies, per ``flow`` and ``event``: the placed
    events ``funnels`` do not read (``events``), counted per flow not reported, else per
    name (``event_text``), as ``_unreported`` counts them; and the bookkeeping of the events
    they read (``read_events``' rows): how many are unplaced, how many placed by time alone
    (``approximate``), their first and last times. ``None``: no event table."""
    import ibis

    roles = event_roles(funnels)
    stored = stored_names(roles.names, identifiers, "event")
    read_by = {stored[name]: name for name in reversed(roles.names)}
    parts = []
    for name, columns in tables.items():
        if name == TRACKS or ("event" not in columns and name not in read_by):
            continue  # not an event's table (identifies, pages, users)
        table = segment_table(schema, name, columns)
        ts = _column(table, "timestamp", COMMON["timestamp"])
        sender = _column(table, "anonymous_id", "string").coalesce(
            _column(table, "user_id", "string")
        )
        # Each row is only counted: grouped by the table's own columns and two plain flags
        # (a handful of groups, hashed in memory), every label is computed on the groups.
        grouped = table.group_by(
            event_text=_column(table, "event_text", "string"),
            raw_flow=_column(table, "flow", "string"),
            exact=(
                _column(table, "invocation_id", "string").notnull()
                & _column(table, "sequence", "int64").notnull()
            ),
            timed=sender.notnull() & ts.notnull(),
        ).aggregate(n=table.count(), first=ts.min(), last=ts.max())
        # A shared table's rows are the read event's by their event_text (as read_events).
        reader = read_by.get(name)
        by_text = reader is not None and identifiers.may_share(reader) and "event_text" in columns
        parts.append(_labelled(grouped, name, "event" in columns, read_by, roles, by_text))
    if not parts:
        return None
    found = ibis.union(*parts, distinct=False) if len(parts) > 1 else parts[0]
    labelled = found.mutate(event=ibis.cases((found.flow.isnull(), found.event), else_=None))
    return labelled.group_by(["flow", "event"]).aggregate(
        events=labelled.events.sum(),
        unplaced=labelled.unplaced.sum(),
        approximate=labelled.approximate.sum(),
        read_first=labelled.read_first.min(),
        read_last=labelled.read_last.max(),
    )


def _labelled(
    grouped: ir.Table,
    name: str,
    has_event: bool,
    read_by: Mapping[str, str],
    roles: EventRoles,
    by_text: bool,
) -> ir.Table:
    """A table's groups (``event_tables``) as its tallies: per flow not read (else per name),
    the placed events ``funnels`` do not read; the bookkeeping of ``read_events``' rows of
    this table (its name's, of the funnels' flows; with ``by_text``, of its rows whose
    ``event_text`` is that name)."""
    import ibis

    text = grouped.event_text.coalesce(ibis.literal(name))
    flow = grouped.raw_flow
    if roles.fixed_flows:
        fixed = ((text == n, ibis.literal(f)) for n, f in roles.fixed_flows.items())
        flow = ibis.cases(*fixed, else_=flow)
    reads = (text.isin(roles.names) & flow.isin(roles.flows)).fill_null(False)
    exact, by_time = grouped.exact, ~grouped.exact & grouped.timed
    read = ibis.literal(False)
    if name in read_by:
        fixed_flow = roles.fixed_flows.get(read_by[name])
        read_flow = grouped.raw_flow
        if fixed_flow is not None:
            read_flow = ibis.literal(fixed_flow, "string")
        read = read_flow.isin(roles.flows).fill_null(False)
        if by_text:
            read = read & (text == read_by[name])
    counted = ibis.literal(has_event) & (exact | by_time) & ~reads
    zero = ibis.literal(0, "int64")
    other = ibis.cases((~flow.isin(roles.flows), flow), else_=ibis.null("string"))
    no_time = ibis.null("timestamp('UTC')")
    return grouped.select(
        flow=other,
        event=text,
        events=ibis.ifelse(counted, grouped.n, zero),
        unplaced=ibis.ifelse(read & ~exact & ~by_time, grouped.n, zero),
        approximate=ibis.ifelse(read & by_time, grouped.n, zero),
        read_first=ibis.ifelse(read, grouped.first, no_time),
        read_last=ibis.ifelse(read, grouped.last, no_time),
    )


def bookkeeping(tracks: ir.Table) -> ir.Table:
    """One row: messages in ``tracks``, the first and last times (a scan). ``tracks`` holds
    only track messages (the other types have tables of their own, never opened): no unknown
    events; the events the funnels read and those they do not are tallied by
    ``event_tables``."""
    import ibis

    return tracks.aggregate(
        rows=tracks.count(),
        unknown_events=ibis.literal(0, "int64"),
        first_event=tracks.timestamp.min(),
        last_event=tracks.timestamp.max(),
    )
