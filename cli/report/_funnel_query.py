"""The funnel query: recorded events to per-flow outcomes, in one DuckDB pass grouped per flow.

Flows are identified by (invocation_id, flow) and ordered by ``sequence`` (timestamps tie at
millisecond precision; the sequence never does). One GROUP BY over (invocation_id, flow)
yields, for the usual group holding one flow instance, its terminal event's outcome, step,
reason, error class and duration. Groups holding more (a flow run twice in one invocation,
a repeated ending, an ending before its start) are numbered in sequence order, each start
opening a new instance, and grouped per instance: a window over only those few events,
because a window over every event costs more than the whole rest of the query.
``cli._funnel_run`` then counts instances per outcome and step; where each ending comes right
after a start of its flow (retries too), ``cli._fast_query`` reaches the same counts without
this query. There
is no join per step: the step order is applied afterwards, in Python, from the funnel
declaration (``cli._stages``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

from authfunnel.cli.report._events import USABLE, quote
from authfunnel.cli.report._roles import event_roles
from authfunnel.cli.report._unreported import Unreported
from authfunnel.fsm import Funnel

# Flows with no terminal event for this long after the newest event are called abandoned.
ABANDONED_AFTER_HOURS: Final = 24


@dataclass(frozen=True)
class OutcomeCount:
    """Flows of one ``flow`` and breakdown value that ended the same way at the same step."""

    flow: str
    by_value: str | None
    outcome: str | None  # completed, aborted, failed, or None for flows with no terminal
    step: str | None
    reason: str | None
    error_class: str | None
    abandoned: bool
    flows: int
    no_browser: int
    late: bool = False  # completed, but after the conversion window (``_conversion_time``)
    skipped: bool = False  # ended after bypassing the funnel's optional steps (no apps API)


@dataclass(frozen=True)
class Durations:
    """Median and 90th percentile of completed flows' ``duration_ms``."""

    flow: str
    by_value: str | None
    median_ms: float | None
    p90_ms: float | None
    overall: bool  # across every breakdown value of the flow
    # Completed flows per bin of ``_conversion_time.BINS`` (late ones included).
    time_to_convert: tuple[int, ...] = ()


@dataclass(frozen=True)
class QueryResult:
    """Everything the report needs from the events."""

    outcomes: list[OutcomeCount]
    durations: list[Durations]
    unknown_events: int  # well-formed messages that are not track messages (identify, page)
    orphan_terminals: int
    # Well-formed track messages the funnels do not read, per flow or name (``_unreported``).
    unreported: tuple[Unreported, ...] = ()


# A (invocation, flow) group that is exactly one flow instance (a start, then at most one
# ending), or one ending alone.
_SINGLE: Final = "starts <= 1 AND events - starts <= 1 AND (events = 1 OR first_key % 2 = 0)"


def reads_sql(funnels: Sequence[Funnel]) -> str:
    """Whether a message of ``events`` is one ``funnels`` read (``EventRoles.reads_sql``)."""
    return event_roles(funnels).reads_sql()


def events_sql(
    funnels: Sequence[Funnel],
    *,
    source: str = "events",
    keep: Sequence[str] = ("invocation_id", "sequence", "ts"),
    usable: str = USABLE,
) -> str:
    """The events ``funnels`` read, one row each, over the view ``events``: ``flow``
    (the command's included), ``is_start``, and for endings ``outcome``, ``step``, ``reason``.

    Over another ``source`` with the same property columns (the fast path's counted events,
    one row per distinct event), ``keep`` names the columns passed through and ``usable``
    says which rows carry an invocation and a sequence."""
    roles = event_roles(funnels)
    single_steps = [(f.flow, f.initial_step) for f in funnels if len(f.step_names) == 1]
    # A terminal event without a `step` property ends its flow at the only step (the command).
    step = "step"
    if single_steps:
        cases = " ".join(f"WHEN {quote(f)} THEN {quote(s)}" for f, s in single_steps)
        step = f"coalesce(step, CASE flow {cases} END)"
    return f"""
        SELECT * REPLACE (
            -- What only an ending says is read from endings alone, whatever a start carries.
            CASE WHEN outcome IS NOT NULL THEN {step} END AS step,
            CASE WHEN outcome IS NOT NULL THEN reason END AS reason,
            CASE WHEN outcome IS NOT NULL THEN error_class END AS error_class,
            CASE WHEN outcome IS NOT NULL THEN duration_ms END AS duration_ms,
            CASE WHEN outcome IS NOT NULL THEN coalesce(skipped, false) END AS skipped)
        FROM (
            SELECT {", ".join(keep)}, by_value, no_browser, step, error_class, duration_ms,
                skipped,
                {roles.flow_sql()} AS flow,
                {roles.is_start_sql()} AS is_start,
                {roles.outcome_sql()} AS outcome,
                {roles.reason_sql()} AS reason
            FROM {source}
            WHERE {roles.reads_sql()} AND {usable}
        )"""


def flows_sql(funnels: Sequence[Funnel], *, by: bool = False, source: str | None = None) -> str:
    """The per-flow-instance query (one row per flow instance) over the view ``events``, or
    over ``source``, a table of ``events_sql`` rows."""
    by_aggregates = (
        "any_value(CASE WHEN is_start THEN by_value END) AS start_by, "
        "any_value(CASE WHEN NOT is_start THEN by_value END) AS end_by"
        if by
        else "NULL AS start_by, NULL AS end_by"
    )
    return f"""
    WITH numbered AS NOT MATERIALIZED (
        SELECT * FROM {source or f"({events_sql(funnels)})"}
    ),
    -- The one pass: group per (invocation, flow). Nearly every group is one flow instance:
    -- a start, then at most one ending. Outcome, step, reason, error_class and duration_ms
    -- are read from endings only (``events_sql``) and no_browser from starts only, so
    -- any_value (the first non-null) reads each exactly, with no FILTER and no arg_min:
    -- both cost more.
    per_flow AS MATERIALIZED (
        SELECT invocation_id, flow,
            count(*) AS events,
            sum(is_start::INTEGER) AS starts,
            -- Even when the group's first event is a start (HUGEINT: any sequence doubles).
            min(sequence::HUGEINT * 2 + (NOT is_start)::INTEGER) AS first_key,
            -- A flow's time is its start's, wherever its ending is stamped (a clock stepped
            -- back) or if the start has none.
            any_value(CASE WHEN is_start THEN ts END) AS started_at,
            any_value(outcome) AS outcome,
            any_value(step) AS step,
            any_value(reason) AS reason,
            any_value(error_class) AS error_class,
            any_value(duration_ms) AS duration_ms,
            any_value(skipped) AS skipped,
            coalesce(any_value(CASE WHEN is_start THEN no_browser END), false) AS no_browser,
            {by_aggregates}
        FROM numbered
        GROUP BY invocation_id, flow
    ),
    single AS (
        SELECT flow, invocation_id, least(starts, 1) AS instance, started_at, outcome, step,
            reason, error_class, duration_ms, skipped, no_browser,
            coalesce(start_by, end_by) AS by_value
        FROM per_flow
        WHERE {_SINGLE}
    ),
    -- The rare rest (a flow run twice in one invocation, a repeated ending, an ending
    -- before its start): number its events in one total order (sequence, starts first,
    -- then every column an instance reads, so the file's row order never decides), each
    -- start opening a new instance, and group per instance. An instance's ending is its
    -- first, all its columns taken from that one event.
    repeated AS (
        SELECT *,
            sum(is_start::INTEGER) OVER in_order AS instance,
            row_number() OVER in_order AS rank
        FROM numbered
        SEMI JOIN (SELECT invocation_id, flow FROM per_flow WHERE NOT ({_SINGLE})) AS r
            USING (invocation_id, flow)
        WINDOW in_order AS (
            PARTITION BY invocation_id, flow
            ORDER BY sequence, NOT is_start, ts, outcome, step, reason, error_class,
                duration_ms, skipped, no_browser, by_value
            ROWS UNBOUNDED PRECEDING)
    ),
    paired AS (
        SELECT flow, invocation_id, instance,
            any_value(CASE WHEN is_start THEN ts END) AS started_at,
            arg_min({{'outcome': outcome, 'step': step, 'reason': reason,
                'error_class': error_class, 'duration_ms': duration_ms, 'skipped': skipped,
                'by_value': by_value}},
                rank) FILTER (WHERE outcome IS NOT NULL) AS ending,
            coalesce(bool_or(no_browser) FILTER (WHERE is_start), false) AS no_browser,
            any_value(CASE WHEN is_start THEN by_value END) AS start_by
        FROM repeated
        GROUP BY flow, invocation_id, instance
    )
    SELECT * FROM single
    UNION ALL
    -- As in a single group: the start's --by value, else its ending's (never a repeat's).
    SELECT flow, invocation_id, instance, started_at, ending.outcome, ending.step,
        ending.reason, ending.error_class, ending.duration_ms, ending.skipped, no_browser,
        coalesce(start_by, ending.by_value) AS by_value
    FROM paired
    """
