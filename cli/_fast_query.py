"""The fast path of the funnel query: counts from events, pairing only where counting would differ.

The engine records each flow instance as one start, then at most one ending, in the same
invocation. Where that holds, every figure a report prints follows from counting events by
low-cardinality columns (flow, outcome, step, reason, error class, the ``--by`` value):
started = starts, ended = endings, in flight = starts - endings. Three scans, none a join
over every event:

1. *Check*: group per invocation (per (invocation, flow) with ``--by``) and list the groups
   where counting would differ from pairing: not exactly one start then at most one ending
   (a retry, a repeated ending, an ending before or without its start), a start and its
   ending on different sides of a time boundary the report applies (``--since``,
   ``--until``, the abandoned cutoff), a ``--by`` value the ending does not share with its
   start, or ``no_browser`` on an ending.
2. *Count* every event by the columns a report prints (``COUNTED``: one row per distinct
   combination, at most about one per distinct ending duration), with no join.
3. *Set aside* the listed groups' events (one semi-join to a small table): they are counted
   the same way and subtracted, and paired exactly by the per-instance query
   (``cli._funnel_query.flows_sql``) instead.

So the result equals the exact query's on every input; only the work differs.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

from cli._events import USABLE, WELL_FORMED
from cli._funnel_query import (
    COMMAND_EVENTS,
    STARTS,
    events_sql,
    flows_sql,
    quote,
    read_names,
    sql_names,
)
from fsm import COMMAND, Funnel

ODD_GROUPS: Final = "authfunnel_odd_groups"
ODD_EVENTS: Final = "authfunnel_odd_events"
COUNTED: Final = "authfunnel_counted"


def window_sql(column: str, *, since: bool, until: bool) -> str:
    """Whether ``column`` (a start time) lies in the report's window, ``$since``/``$until``."""
    parts = [f"{column} >= $since"] * since + [f"{column} < $until"] * until
    return " AND ".join(parts) or "true"


# The per-invocation check packs one invocation's events into a single BIGINT bit_or, so the
# GROUP BY over every invocation (the costly part: one hash-table entry each) updates two
# aggregates, a count and this. Flow number ``c`` (at most LANES of them) owns slot 2c for
# its start and 2c + 1 for its ending: a lane of LANE_BITS bits for the sequence, then,
# above every lane, one presence bit per slot, one bit per time zone and two flags.
LANES: Final = 4
LANE_BITS: Final = 6
LANE_SEQUENCES: Final = 1 << LANE_BITS  # sequences 1 to 63 fit; others set a flag
_PRESENCE: Final = 2 * LANES * LANE_BITS
_ZONES: Final = _PRESENCE + 2 * LANES
_FLAGS: Final = _ZONES + 5  # an ending carrying no_browser; a sequence outside the lanes


def group_key(funnels: Sequence[Funnel], *, by: bool) -> str:
    """The columns an odd group is listed by: the invocation alone where the cheaper
    per-invocation check applies (no ``--by``, at most ``LANES`` flows), else (invocation, flow)."""
    return "invocation_id" if not by and len(funnels) <= LANES else "invocation_id, flow"


def odd_groups_sql(funnels: Sequence[Funnel], *, since: bool, until: bool, by: bool) -> str:
    """Create the table of groups that counting alone would get wrong (see ``group_key``)."""
    window = window_sql("ts", since=since, until=until)
    if group_key(funnels, by=by) == "invocation_id":
        return _odd_invocations_sql(funnels, window)
    by_check = (
        " AND (count(by_value) = 0 OR (count(by_value) = count(*)"
        " AND min(by_value) = max(by_value)))"
        if by
        else ""
    )
    return f"""
        CREATE OR REPLACE TEMP TABLE {ODD_GROUPS} AS
        SELECT invocation_id, flow
        FROM (SELECT *, {_zone_sql(window)} AS zone FROM ({events_sql(funnels)}))
        GROUP BY invocation_id, flow
        HAVING NOT (
            sum(is_start::INTEGER) = 1 AND count(*) <= 2
            -- The start comes first (its key is even).
            AND (count(*) = 1 OR min(sequence * 2 + (NOT is_start)::INTEGER) % 2 = 0)
            AND min(zone) = max(zone)
            AND count(no_browser) FILTER (WHERE NOT is_start) = 0{by_check}
        )"""


def _zone_sql(window: str) -> str:
    """An event's side of every time boundary the report applies, -1 to 3."""
    return (
        f"CASE WHEN ts IS NULL THEN -1 ELSE ({window})::INTEGER * 2"
        " + coalesce(ts < $cutoff, false)::INTEGER END"
    )


def _zone_bit_sql(window: str) -> str:
    """The bit of ``_zone_sql``'s zone in the check's code: constants chosen by comparisons,
    which cost a fraction of shifting by a computed zone."""

    def bit(zone: int) -> int:
        return 1 << (_ZONES + 1 + zone)

    def by_cutoff(inside: int) -> str:
        return f"CASE WHEN ts < $cutoff THEN {bit(inside * 2 + 1)} ELSE {bit(inside * 2)} END"

    if window == "true":
        return f"CASE WHEN ts IS NULL THEN {bit(-1)} ELSE {by_cutoff(1)} END"
    return (
        f"CASE WHEN ts IS NULL THEN {bit(-1)} WHEN {window} THEN {by_cutoff(1)}"
        f" ELSE {by_cutoff(0)} END"
    )


def _slot_sql(funnels: Sequence[Funnel]) -> str:
    """Each event's slot in the check (``2c`` for flow number ``c``'s start, ``2c + 1`` for
    its ending), NULL for an event ``funnels`` do not read: what ``events_sql`` selects,
    as one CASE over the event name and one over the flow."""
    numbers = {str(f.flow): c for c, f in enumerate(funnels)}
    flow_number = " ".join(f"WHEN {quote(name)} THEN {c}" for name, c in numbers.items())
    command = numbers.get(str(COMMAND.flow))
    whens = []
    for name in read_names(funnels):
        ending = int(name not in STARTS)
        if name not in COMMAND_EVENTS:
            whens.append(f"WHEN {quote(name)} THEN 2 * (CASE flow {flow_number} END) + {ending}")
        elif command is not None:
            whens.append(f"WHEN {quote(name)} THEN {2 * command + ending}")
    return f"(CASE event {' '.join(whens)} END)::BIGINT"


def _odd_invocations_sql(funnels: Sequence[Funnel], window: str) -> str:
    """The same check per invocation, with half the groups and two aggregates, over the
    stored columns (no per-event row of ``events_sql`` is built: this reads every event).

    Each event sets its slot's presence bit, its zone's bit and its sequence in its slot's
    lane. Events number the set presence bits only when no slot is taken twice; then every
    flow with an ending has one start exactly when its start bit is set, the ending follows
    it when its lane holds the greater sequence, and the events share one zone when one zone
    bit is set. A sequence outside the lanes (a long-lived process numbers past them) sets a
    flag instead, and so does no_browser on an ending: either makes the invocation odd.
    """
    lane = LANE_SEQUENCES - 1
    # An event of another flow has no slot, hence no code: counted by neither aggregate.
    # (Filtering on the slot instead would compute its CASE twice.)
    read = sql_names(read_names(funnels))
    code = f"""
        CASE WHEN sequence BETWEEN 1 AND {lane} THEN sequence << ({LANE_BITS} * slot)
            ELSE {1 << (_FLAGS + 1)} END
        | (1::BIGINT << ({_PRESENCE} + slot))
        | {_zone_bit_sql(window)}
        | CASE WHEN no_browser IS NOT NULL AND slot % 2 = 1 THEN {1 << _FLAGS} ELSE 0 END"""
    ordered = " AND ".join(
        f"(((present >> {2 * c + 1}) & 1) = 0 OR (((present >> {2 * c}) & 1) = 1"
        f" AND ((bits >> {LANE_BITS * (2 * c + 1)}) & {lane})"
        f" > ((bits >> {LANE_BITS * 2 * c}) & {lane})))"
        for c in range(len(funnels))
    )
    return f"""
        CREATE OR REPLACE TEMP TABLE {ODD_GROUPS} AS
        SELECT invocation_id FROM (
            SELECT invocation_id, events, bits,
                (bits >> {_PRESENCE}) & {(1 << 2 * LANES) - 1} AS present,
                (bits >> {_ZONES}) & 31 AS zones
            FROM (
                SELECT invocation_id, count(code) AS events, bit_or(code) AS bits
                FROM (
                    SELECT invocation_id, ({code})::BIGINT AS code
                    FROM (
                        SELECT *, {_slot_sql(funnels)} AS slot
                        FROM events
                        WHERE coalesce(type, 'track') = 'track' AND event IN ({read})
                            AND {USABLE}
                    )
                )
                GROUP BY invocation_id
            )
        )
        WHERE NOT (
            (bits >> {_FLAGS}) = 0 AND (zones & (zones - 1)) = 0
            AND events = bit_count(present) AND {ordered}
        )"""


def counted_sql(*, since: bool, until: bool, by: bool) -> str:
    """Create ``COUNTED``: the messages of the view ``events`` that a report can read (well
    formed: see ``cli._events.WELL_FORMED``) counted per distinct value of the columns it
    reads, in one scan with no join. The fewer the columns, the cheaper the scan: the
    window and the ``--by`` value are constants when not asked for."""
    window = window_sql("ts", since=since, until=until)
    return f"""
        CREATE OR REPLACE TEMP TABLE {COUNTED} AS
        SELECT type, event, flow, step, reason, error_class, no_browser,
            succeeded, user_cancelled, duration_ms, {"by_value" if by else "NULL"} AS by_value,
            {window if since or until else "true"} AS in_window,
            ts < $cutoff AS abandoned,
            count(*) AS n
        FROM events
        WHERE {WELL_FORMED}
        GROUP BY ALL"""


def odd_events_sql(funnels: Sequence[Funnel], *, by: bool) -> str:
    """Create the table of the odd groups' events, read once (a semi-join to a small table)."""
    return f"""
        CREATE OR REPLACE TEMP TABLE {ODD_EVENTS} AS
        SELECT * FROM ({events_sql(funnels)})
        SEMI JOIN {ODD_GROUPS} USING ({group_key(funnels, by=by)})"""


def fast_flows_sql(
    funnels: Sequence[Funnel], *, since: bool, until: bool, by: bool, odd: bool
) -> str:
    """Rows for the report's aggregation, each with a ``weight``: every start (``kind``
    'start') and ending ('end') as counted, minus the odd groups' (weight -1), plus one row
    per flow instance ('instance') of the odd groups.

    Columns: flow, by_value, instance, outcome, step, reason, error_class, duration_ms,
    no_browser, kind, in_window, abandoned (for starts and endings: before the cutoff), weight.
    """
    counted = events_sql(
        funnels, source=COUNTED, keep=("in_window", "abandoned", "n"), usable="true"
    )
    ends = """flow, by_value, 1 AS instance, outcome, step, reason, error_class, duration_ms,
            is_start AND coalesce(no_browser, false) AS no_browser,
            CASE WHEN is_start THEN 'start' ELSE 'end' END AS kind"""
    rows = f"SELECT {ends}, in_window, abandoned, n AS weight FROM ({counted})"
    if not odd:
        return rows
    window = window_sql("ts", since=since, until=until)
    started_in_window = window_sql("started_at", since=since, until=until)
    return f"""{rows}
        UNION ALL
        SELECT {ends}, {window} AS in_window, ts < $cutoff AS abandoned, -1 AS weight
        FROM {ODD_EVENTS}
        UNION ALL
        SELECT flow, by_value, instance, outcome, step, reason, error_class, duration_ms,
            no_browser, 'instance' AS kind, {started_in_window} AS in_window,
            outcome IS NULL AND started_at < $cutoff AS abandoned, 1 AS weight
        FROM ({flows_sql(funnels, by=by, source=ODD_EVENTS)})"""
