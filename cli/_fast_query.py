"""The fast path of the funnel query: counts from events, pairing only where counting would differ.

The engine records each flow instance as one start, then at most one ending, in the same
invocation. Where that holds, every figure a report prints follows from counting events by
low-cardinality columns (flow, outcome, step, reason, error class, the ``--by`` value):
started = starts, ended = endings, in flight = starts - endings. Three scans, none a join
over every event:

1. *Check*: group per invocation and list those where counting could differ from pairing:
   an ending that does not come right after a start of its flow (an ending first, a
   repeated ending), events on different sides of a time boundary the report applies
   (``--since``, ``--until``, the abandoned cutoff), or ``no_browser`` on an ending. A
   retry (start, ending, start, ending) counts as it pairs. With ``--by`` (or more flows
   than the check's lanes) the groups are (invocation, flow), and stricter: one start then
   at most one ending, and a ``--by`` value the ending shares with its start.
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

from cli._events import WELL_FORMED
from cli._funnel_query import (
    COMMAND_EVENTS,
    STARTS,
    events_sql,
    flows_sql,
    quote,
    read_names,
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
# aggregates, a count and this. Flow number ``c`` (at most LANES of them) owns a lane of
# POSITIONS bits for its starts, one bit per sequence, at bit ``POSITIONS * c``, and one for
# its endings ``_ENDINGS`` bits higher; above them, one bit per time zone and two flags.
LANES: Final = 4
POSITIONS: Final = 7  # sequences 1 to 7 have a bit (a process's first events); others set a flag
_ENDINGS: Final = LANES * POSITIONS
_ZONES: Final = 2 * _ENDINGS  # four: inside the window or not, before the cutoff or not
_FLAGS: Final = _ZONES + 4  # an ending carrying no_browser; an event the lanes cannot place
_LANE: Final = (1 << POSITIONS) - 1


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
            AND (count(*) = 1 OR min(sequence::HUGEINT * 2 + (NOT is_start)::INTEGER) % 2 = 0)
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
    """The bit of an event's zone (``_zone_sql``, for a known time) in the check's code:
    constants chosen by comparisons, which cost a fraction of shifting by a computed zone."""

    def by_cutoff(inside: int) -> str:
        early, late = (1 << (_ZONES + inside * 2 + before) for before in (1, 0))
        return f"CASE WHEN ts < $cutoff THEN {early} ELSE {late} END"

    if window == "true":
        return by_cutoff(1)
    return f"CASE WHEN {window} THEN {by_cutoff(1)} ELSE {by_cutoff(0)} END"


def _commonest_first(name: str) -> int:
    return 0 if name in COMMAND_EVENTS else 1 if name in STARTS else 2


def _lane_sql(funnels: Sequence[Funnel]) -> str:
    """Each message's lane in the check (``POSITIONS * c`` for flow number ``c``'s starts,
    64 more for its endings), NULL for a message ``funnels`` do not read (``reads_sql``):
    one CASE over the event name and one over the flow."""
    numbers = {str(f.flow): c for c, f in enumerate(funnels)}
    lanes = " ".join(f"WHEN {quote(name)} THEN {POSITIONS * c}" for name, c in numbers.items())
    command = numbers.get(str(COMMAND.flow))
    whens = []
    # The commonest first: every invocation has the command's two events, every flow a start.
    for name in sorted(read_names(funnels), key=_commonest_first):
        half = 0 if name in STARTS else _ENDINGS
        if name not in COMMAND_EVENTS:
            whens.append(f"WHEN {quote(name)} THEN {half} + (CASE flow {lanes} END)")
        elif command is not None:
            whens.append(f"WHEN {quote(name)} THEN {half + POSITIONS * command}")
    return f"CASE WHEN coalesce(type, 'track') = 'track' THEN CASE event {' '.join(whens)} END END"


def _each_ending_follows_a_start_sql() -> str:
    """Whether, in every lane, each ending comes right after a start of its flow (no other
    event of the flow between): adding each start's next bit to the lane's gaps carries up
    to the flow's next event and sets it, so those events are the ones that follow a start.
    A carry stops at that event, so no two meet; a lane's top bit is never a gap and never
    shifted, so none reaches the next lane."""
    lanes = (1 << _ENDINGS) - 1
    below_top = lanes & ~sum(1 << (POSITIONS * (c + 1) - 1) for c in range(LANES))
    gaps = f"(~(starts | endings) & {below_top})"
    return f"endings & ~({gaps} + ((starts & {below_top}) << 1)) = 0"


def _odd_invocations_sql(funnels: Sequence[Funnel], window: str) -> str:
    """The same check per invocation, with half the groups and two aggregates, over the
    stored columns (no per-event row of ``events_sql`` is built: this reads every event).

    Each event sets the bit of its sequence in its lane and the bit of its zone. Counting
    equals pairing when no two events share a sequence (the count equals the set bits of
    every lane folded together), the events share one zone (one zone bit is set), and in
    every flow each ending comes right after a start
    (``_each_ending_follows_a_start_sql``): then each
    start opens an instance and each ending closes the one just opened, as counted. So a
    retry (start, ending, start, ending) is two instances, and a start with no ending
    before the next is one in flight. A sequence outside the lanes, an unknown time or
    invocation, or no_browser on an ending sets a flag instead: the invocation is odd.
    """
    # An event with no lane has no code (its shift is NULL), so neither aggregate counts it.
    code = f"""CASE
            WHEN sequence BETWEEN 1 AND {POSITIONS} AND ts IS NOT NULL
                THEN (1::BIGINT << (lane + sequence - 1)) | {_zone_bit_sql(window)}
                    | CASE WHEN no_browser IS NOT NULL AND lane >= {_ENDINGS}
                        THEN {1 << _FLAGS} ELSE 0 END
            WHEN lane IS NOT NULL THEN {1 << (_FLAGS + 1)} END"""
    folded = " | ".join(f"(bits >> {POSITIONS * c})" for c in range(2 * LANES))
    return f"""
        CREATE OR REPLACE TEMP TABLE {ODD_GROUPS} AS
        SELECT invocation_id FROM (
            SELECT invocation_id, events, bits,
                bits & {(1 << _ENDINGS) - 1} AS starts,
                (bits >> {_ENDINGS}) & {(1 << _ENDINGS) - 1} AS endings,
                (bits >> {_ZONES}) & 15 AS zones
            FROM (
                SELECT invocation_id, count(code) AS events, bit_or(code) AS bits
                FROM (
                    SELECT invocation_id, {code} AS code
                    FROM (SELECT *, {_lane_sql(funnels)} AS lane FROM events)
                )
                GROUP BY invocation_id
            )
        )
        WHERE invocation_id IS NOT NULL AND NOT (
            (bits >> {_FLAGS}) = 0 AND (zones & (zones - 1)) = 0
            AND events = bit_count(({folded}) & {_LANE})
            AND {_each_ending_follows_a_start_sql()}
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
