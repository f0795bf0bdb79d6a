"""The fast path of the funnel query: counts from events, pairing only where counting would differ.

The engine records each flow instance as one start, then at most one ending, in the same
invocation. Where that holds, every figure a report prints follows from counting events by
low-cardinality columns (flow, outcome, step, reason, error class, the ``--by`` value):
started = starts, ended = endings, in flight = starts - endings. Two scans, a third only
for damaged input, none a join over every event:

1. *Check* each invocation (``cli._invocation_check``): list those where counting could
   differ from pairing (an ending that does not come right after a start of its flow, a
   flow spanning ``--since`` or ``--until``), and count the ended flows whose start and
   ending lie on different sides of the abandoned cutoff, to move them across. A retry
   (start, ending, start, ending) counts as it pairs. With ``--by``, an invocation is also
   listed unless each flow's events all carry its one value or none does, so that every
   ending is counted under its start's value. With more than ``MAX_FUNNELS`` flows the
   groups are (invocation, flow), and stricter: one start then at most one ending, on one
   side of every boundary, and a ``--by`` value the ending shares with its start.
2. *Count* every event by the columns a report prints (``COUNTED``: one row per distinct
   combination, at most about one per distinct ending duration), with no join.
3. *Set aside* the listed groups' events, if any (one semi-join to a small table): they
   are counted the same way and subtracted, and paired exactly by the per-instance query
   (``cli._funnel_query.flows_sql``) instead.

So the result equals the exact query's on every input; only the work differs.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

from authfunnel.cli.report._events import WELL_FORMED, quote
from authfunnel.cli.report._funnel_query import events_sql, flows_sql
from authfunnel.cli.report._invocation_check import CHECKED, MAX_FUNNELS, checked_sql, layout
from authfunnel.fsm import Funnel

ODD_GROUPS: Final = "authfunnel_odd_groups"
ODD_EVENTS: Final = "authfunnel_odd_events"
COUNTED: Final = "authfunnel_counted"


def window_sql(column: str, *, since: bool, until: bool) -> str:
    """Whether ``column`` (a start time) lies in the report's window, ``$since``/``$until``."""
    parts = [f"{column} >= $since"] * since + [f"{column} < $until"] * until
    return " AND ".join(parts) or "true"


def group_key(funnels: Sequence[Funnel]) -> str:
    """The columns an odd group is listed by: the invocation alone where the cheaper
    per-invocation check applies (at most ``MAX_FUNNELS`` flows), else (invocation, flow)."""
    return "invocation_id" if len(funnels) <= MAX_FUNNELS else "invocation_id, flow"


def odd_groups_sql(
    funnels: Sequence[Funnel], *, since: bool, until: bool, by: bool
) -> tuple[str, ...]:
    """Statements that create the table of groups counting alone would get wrong (see
    ``group_key``), and per invocation the table ``CHECKED`` they come from."""
    window = window_sql("ts", since=since, until=until)
    if group_key(funnels) == "invocation_id":
        return (
            checked_sql(layout(funnels, window=since or until), window, by=by),
            f"CREATE OR REPLACE TEMP TABLE {ODD_GROUPS} AS"
            f" SELECT invocation_id FROM {CHECKED} WHERE odd",
        )
    by_check = (
        " AND (count(by_value) = 0 OR (count(by_value) = count(*)"
        " AND min(by_value) = max(by_value)))"
        if by
        else ""
    )
    return (
        f"""
        CREATE OR REPLACE TEMP TABLE {ODD_GROUPS} AS
        SELECT invocation_id, flow
        FROM (SELECT *, {_zone_sql(window)} AS zone FROM ({events_sql(funnels)}))
        GROUP BY invocation_id, flow
        HAVING NOT (
            sum(is_start::INTEGER) = 1 AND count(*) <= 2
            -- The start comes first (its key is even).
            AND (count(*) = 1 OR min(sequence::HUGEINT * 2 + (NOT is_start)::INTEGER) % 2 = 0)
            AND min(zone) = max(zone){by_check}
        )""",
    )


def _zone_sql(window: str) -> str:
    """An event's side of every time boundary the report applies, -1 to 3."""
    return (
        f"CASE WHEN ts IS NULL THEN -1 ELSE ({window})::INTEGER * 2"
        " + coalesce(ts < $cutoff, false)::INTEGER END"
    )


def counted_sql(funnels: Sequence[Funnel], *, since: bool, until: bool, by: bool) -> str:
    """Create ``COUNTED``: the messages of the view ``events`` that a report can read (well
    formed: see ``cli._events.WELL_FORMED``) counted per distinct value of the columns it
    reads, in one scan with no join. Every well-formed message is kept: those ``funnels`` do
    not read are the report's bookkeeping (other message types, events of flows not
    reported: ``_unreported``). The fewer the rows and columns, the cheaper the scan: the
    window and the ``--by`` value are constants when not asked for."""
    window = window_sql("ts", since=since, until=until)
    return f"""
        CREATE OR REPLACE TEMP TABLE {COUNTED} AS
        SELECT type, event, flow, step, reason, error_class, skipped, no_browser,
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
        SEMI JOIN {ODD_GROUPS} USING ({group_key(funnels)})"""


def fast_flows_sql(
    funnels: Sequence[Funnel], *, since: bool, until: bool, by: bool, odd: bool
) -> str:
    """Rows for the report's aggregation, each with a ``weight``: every start (``kind``
    'start') and ending ('end') as counted, minus the odd groups' (weight -1), plus one row
    per flow instance ('instance') of the odd groups, and per flow how many ended flows to
    close on their start's side of the cutoff ('shift', from ``CHECKED``).

    Columns: flow, by_value, instance, outcome, step, reason, error_class, duration_ms,
    skipped, no_browser, kind, in_window, abandoned (for starts and endings: before the
    cutoff), weight.
    """
    counted = events_sql(
        funnels, source=COUNTED, keep=("in_window", "abandoned", "n"), usable="true"
    )
    ends = """flow, by_value, 1 AS instance, outcome, step, reason, error_class, duration_ms,
            skipped, is_start AND coalesce(no_browser, false) AS no_browser,
            CASE WHEN is_start THEN 'start' ELSE 'end' END AS kind"""
    rows = f"SELECT {ends}, in_window, abandoned, n AS weight FROM ({counted})"
    if group_key(funnels) == "invocation_id":
        # Ended flows counted open before the cutoff and closed after it (or the reverse),
        # per --by value.
        rows += "".join(
            f"""
        UNION ALL
        SELECT {quote(str(f.flow))}, {f"by_{c}" if by else "NULL"} AS by_value, 1, NULL, NULL,
            NULL, NULL, NULL, NULL, false, 'shift', true, true, sum(shift_{c})
        FROM {CHECKED} WHERE NOT odd GROUP BY by_value"""
            for c, f in enumerate(funnels)
        )
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
            skipped, no_browser, 'instance' AS kind, {started_in_window} AS in_window,
            outcome IS NULL AND started_at < $cutoff AS abandoned, 1 AS weight
        FROM ({flows_sql(funnels, by=by, source=ODD_EVENTS)})"""
