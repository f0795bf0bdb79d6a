"""The fast path of the funnel query: counts from events, with no group per flow instance.

The engine records each flow instance as one start, then at most one ending, in the same
invocation. Where that holds, every figure a report prints follows from counting events by
low-cardinality columns (flow, outcome, step, reason, error class, the ``--by`` value):
started = starts, ended = endings, in flight = starts - endings. Three scans:

1. *Check*: group per invocation (per (invocation, flow) with ``--by``) with a few integer
   aggregates and list the groups where counting would differ from pairing: not exactly
   one start then at most one
   ending (a retry, a repeated ending, an ending before or without its start), a start and
   its ending on different sides of a time boundary the report applies (``--since``,
   ``--until``, the abandoned cutoff), a ``--by`` value the ending does not share with its
   start, or ``no_browser`` on an ending.
2. *Set aside* the listed groups' events (a small table).
3. *Count*: every other event, as a start or ending row, plus the exact per-instance query
   (``cli._funnel_query.flows_sql``) over the set-aside events.

So the result equals the exact query's on every input; only the work differs.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

from cli._funnel_query import events_sql, flows_sql
from fsm import Funnel

ODD_GROUPS: Final = "authfunnel_odd_groups"
ODD_EVENTS: Final = "authfunnel_odd_events"


def window_sql(column: str, *, since: bool, until: bool) -> str:
    """Whether ``column`` (a start time) lies in the report's window, ``$since``/``$until``."""
    parts = [f"{column} >= $since"] * since + [f"{column} < $until"] * until
    return " AND ".join(parts) or "true"


def _zoned(funnels: Sequence[Funnel], window: str) -> str:
    """``events_sql`` plus each event's side of every time boundary, as ``zone``."""
    return f"""
        SELECT *, CASE WHEN ts IS NULL THEN -1
            ELSE ({window})::INTEGER * 2
                + coalesce(ts < $cutoff, false)::INTEGER END AS zone
        FROM ({events_sql(funnels)})"""


# The per-invocation check packs each flow's start and ending sequence into a lane of this
# many bits of one BIGINT sum: at most this many flows, sequences below LANE_SEQUENCES.
LANES: Final = 4
LANE_BITS: Final = 15
LANE_SEQUENCES: Final = 1 << (LANE_BITS - 2)


def group_key(funnels: Sequence[Funnel], *, by: bool) -> str:
    """The columns an odd group is listed by: the invocation alone where the cheaper
    per-invocation check applies (no ``--by``, at most ``LANES`` flows), else (invocation, flow)."""
    return "invocation_id" if not by and len(funnels) <= LANES else "invocation_id, flow"


def odd_groups_sql(funnels: Sequence[Funnel], *, since: bool, until: bool, by: bool) -> str:
    """Create the table of groups that counting alone would get wrong (see ``group_key``)."""
    events = _zoned(funnels, window_sql("ts", since=since, until=until))
    if group_key(funnels, by=by) == "invocation_id":
        return _odd_invocations_sql(funnels, events)
    by_check = (
        " AND (count(by_value) = 0 OR (count(by_value) = count(*)"
        " AND min(by_value) = max(by_value)))"
        if by
        else ""
    )
    return f"""
        CREATE OR REPLACE TEMP TABLE {ODD_GROUPS} AS
        SELECT invocation_id, flow
        FROM ({events})
        GROUP BY invocation_id, flow
        HAVING NOT (
            sum(is_start::INTEGER) = 1 AND count(*) <= 2
            -- The start comes first (its key is even).
            AND (count(*) = 1 OR min(sequence * 2 + (NOT is_start)::INTEGER) % 2 = 0)
            AND min(zone) = max(zone)
            AND count(no_browser) FILTER (WHERE NOT is_start) = 0{by_check}
        )"""


def _odd_invocations_sql(funnels: Sequence[Funnel], events: str) -> str:
    """The same check per invocation, with half the groups and four cheap aggregates.

    Flow number ``c`` owns bit ``c`` (present), ``4 + c`` (a start), ``8 + c`` (an ending)
    of ``bits``; bits 12 to 16 say which time zones occur, 20 an ending carrying no_browser,
    21 a sequence outside the lanes (which then adds nothing to them: a long-lived process's
    sequence passes the lane width, and a negative shift is an error). Every flow has exactly
    one start when the flows with a start are the flows present and the starts number the
    flows; at most one ending when the endings number the flows with one. Then lane ``c`` of
    ``lanes`` is exactly ``LANE_SEQUENCES - start + ending`` (no carry), so the ending follows
    its start when the lane is at least ``LANE_SEQUENCES``.
    """
    code = "CASE flow " + " ".join(f"WHEN '{f.flow}' THEN {i}" for i, f in enumerate(funnels))
    in_order = " AND ".join(
        f"(((ends >> {c}) & 1) = 0 OR ((lanes >> {LANE_BITS * c}) & {(1 << LANE_BITS) - 1})"
        f" >= {LANE_SEQUENCES})"
        for c in range(len(funnels))
    )
    return f"""
        CREATE OR REPLACE TEMP TABLE {ODD_GROUPS} AS
        SELECT invocation_id FROM (
            SELECT invocation_id, events, starts, bits & 15 AS present,
                (bits >> 4) & 15 AS started, (bits >> 8) & 15 AS ends,
                (bits >> 12) & 31 AS zones, bits >> 20 AS flaws, lanes
            FROM (
                SELECT invocation_id, count(*) AS events, count_if(is_start) AS starts,
                    bit_or((1 << c) | (1 << (CASE WHEN is_start THEN 4 ELSE 8 END + c))
                        | (1 << (13 + zone))
                        | CASE WHEN NOT is_start AND no_browser IS NOT NULL
                            THEN 1 << 20 ELSE 0 END
                        | CASE WHEN sequence BETWEEN 1 AND {LANE_SEQUENCES - 1}
                            THEN 0 ELSE 1 << 21 END) AS bits,
                    sum(CASE WHEN sequence NOT BETWEEN 1 AND {LANE_SEQUENCES - 1} THEN 0
                        WHEN is_start THEN {LANE_SEQUENCES} - sequence ELSE sequence END
                        << ({LANE_BITS} * c)) AS lanes
                FROM (SELECT *, ({code} END)::BIGINT AS c FROM ({events}))
                GROUP BY invocation_id
            )
        )
        WHERE NOT (
            flaws = 0 AND (zones & (zones - 1)) = 0
            AND started = present AND starts = bit_count(present)
            AND events - starts = bit_count(ends)
            AND {in_order}
        )"""


def odd_events_sql(funnels: Sequence[Funnel], *, by: bool) -> str:
    """Create the table of the odd groups' events, read once for the per-instance query."""
    return f"""
        CREATE OR REPLACE TEMP TABLE {ODD_EVENTS} AS
        SELECT * FROM ({events_sql(funnels)})
        SEMI JOIN {ODD_GROUPS} USING ({group_key(funnels, by=by)})"""


def fast_flows_sql(
    funnels: Sequence[Funnel], *, since: bool, until: bool, by: bool, odd: bool
) -> str:
    """Rows for the report's aggregation: one per start (``kind`` 'start') and ending
    ('end') of the well-formed groups, one per flow instance ('instance') of the odd ones.

    Columns: flow, by_value, instance, outcome, step, reason, error_class, duration_ms,
    no_browser, kind, in_window, abandoned (for starts and endings: before the cutoff).
    """
    window = window_sql("ts", since=since, until=until)
    normal = f"({_zoned(funnels, window)})"
    if odd:
        normal += f" ANTI JOIN {ODD_GROUPS} USING ({group_key(funnels, by=by)})"
    rows = f"""
        SELECT flow, by_value, 1 AS instance, outcome, step, reason, error_class,
            duration_ms, is_start AND coalesce(no_browser, false) AS no_browser,
            CASE WHEN is_start THEN 'start' ELSE 'end' END AS kind,
            {window} AS in_window, ts < $cutoff AS abandoned
        FROM {normal}"""
    if not odd:
        return rows
    started_in_window = window_sql("started_at", since=since, until=until)
    return f"""{rows}
        UNION ALL
        SELECT flow, by_value, instance, outcome, step, reason, error_class, duration_ms,
            no_browser, 'instance' AS kind, {started_in_window} AS in_window,
            outcome IS NULL AND started_at < $cutoff AS abandoned
        FROM ({flows_sql(funnels, by=by, source=ODD_EVENTS)})"""
