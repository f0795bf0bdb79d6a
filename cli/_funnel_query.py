"""The funnel query: recorded events to per-flow outcomes, in one DuckDB pass grouped per flow.

Events are numbered within (invocation_id, flow) in ``sequence`` order (timestamps tie at
millisecond precision; the sequence never does). Each start event opens a new flow instance,
so a flow run twice in one invocation counts twice. One GROUP BY over those instances yields
each flow's first terminal event, its step, reason, error class and duration; a second,
small aggregation counts flows per outcome and step. There is no join per step: the step
order is applied afterwards, in Python, from the funnel declaration (``cli._stages``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Final

from fsm import (
    AUTH_ABORTED,
    AUTH_COMPLETED,
    AUTH_FAILED,
    AUTH_LOGOUT,
    AUTH_STARTED,
    COMMAND,
    COMMAND_COMPLETED,
    COMMAND_INVOKED,
    Funnel,
)

if TYPE_CHECKING:
    import duckdb

STARTS: Final = (AUTH_STARTED, AUTH_LOGOUT, COMMAND_INVOKED)
KNOWN: Final = (*STARTS, AUTH_COMPLETED, AUTH_ABORTED, AUTH_FAILED, COMMAND_COMPLETED)
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


@dataclass(frozen=True)
class Durations:
    """Median and 90th percentile of completed flows' ``duration_ms``."""

    flow: str
    by_value: str | None
    median_ms: float | None
    p90_ms: float | None
    overall: bool  # across every breakdown value of the flow


@dataclass(frozen=True)
class QueryResult:
    """Everything the report needs from the events."""

    outcomes: list[OutcomeCount]
    durations: list[Durations]
    unknown_events: int
    orphan_terminals: int


def _quote(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _names(names: Sequence[str]) -> str:
    return ", ".join(_quote(name) for name in names)


def flows_sql(funnels: Sequence[Funnel]) -> str:
    """The per-flow-instance query over the view ``events`` (one row per flow instance)."""
    single_steps = [(f.flow, f.initial_step) for f in funnels if len(f.step_names) == 1]
    # A terminal event without a `step` property ends its flow at the only step (the command).
    step = "step"
    if single_steps:
        cases = " ".join(f"WHEN {_quote(f)} THEN {_quote(s)}" for f, s in single_steps)
        step = f"coalesce(step, CASE flow {cases} END)"
    flows = _names([str(f.flow) for f in funnels])
    return f"""
    WITH classified AS (
        SELECT invocation_id, sequence, ts, by_value, no_browser, step, reason, error_class,
            duration_ms,
            CASE WHEN event IN ({_names([COMMAND_INVOKED, COMMAND_COMPLETED])})
                THEN {_quote(str(COMMAND.flow))} ELSE flow END AS flow,
            event IN ({_names(STARTS)}) AS is_start,
            CASE event
                WHEN {_quote(AUTH_COMPLETED)} THEN 'completed'
                WHEN {_quote(AUTH_ABORTED)} THEN 'aborted'
                WHEN {_quote(AUTH_FAILED)} THEN 'failed'
                WHEN {_quote(COMMAND_COMPLETED)} THEN CASE
                    WHEN succeeded THEN 'completed'
                    WHEN user_cancelled THEN 'aborted'
                    ELSE 'failed' END
            END AS outcome,
            CASE WHEN event = {_quote(COMMAND_COMPLETED)} AND user_cancelled
                THEN 'interrupt' ELSE reason END AS reason_
        FROM events
        WHERE coalesce(type, 'track') = 'track' AND event IN ({_names(KNOWN)})
            AND invocation_id IS NOT NULL AND sequence IS NOT NULL
    ),
    numbered AS (
        SELECT *, sum(is_start::INTEGER) OVER (
            PARTITION BY invocation_id, flow ORDER BY sequence ROWS UNBOUNDED PRECEDING
        ) AS instance
        FROM classified WHERE flow IN ({flows})
    )
    SELECT flow, invocation_id, instance,
        min(ts) AS started_at,
        arg_min(outcome, sequence) FILTER (WHERE outcome IS NOT NULL) AS outcome,
        arg_min({step}, sequence) FILTER (WHERE outcome IS NOT NULL) AS step,
        arg_min(reason_, sequence) FILTER (WHERE outcome IS NOT NULL) AS reason,
        arg_min(error_class, sequence) FILTER (WHERE outcome IS NOT NULL) AS error_class,
        arg_min(duration_ms, sequence) FILTER (WHERE outcome IS NOT NULL) AS duration_ms,
        coalesce(bool_or(no_browser) FILTER (WHERE is_start), false) AS no_browser,
        arg_min(by_value, sequence) FILTER (WHERE by_value IS NOT NULL) AS by_value
    FROM numbered
    GROUP BY flow, invocation_id, instance
    """


def run_query(
    con: duckdb.DuckDBPyConnection,
    funnels: Sequence[Funnel],
    *,
    since: datetime | None = None,
    until: datetime | None = None,
) -> QueryResult:
    """Count flows by outcome and step for ``funnels`` over the view ``events``."""
    window = []
    if since is not None:
        window.append("started_at >= $since")
    if until is not None:
        window.append("started_at < $until")
    where = " AND ".join(["instance > 0", *window])
    params: dict[str, object] = {}
    if since is not None:
        params["since"] = since
    if until is not None:
        params["until"] = until
    newest = "(SELECT max(ts) FROM events)"
    rows = con.execute(
        f"""
        WITH flows AS ({flows_sql(funnels)})
        SELECT flow, by_value, outcome, step, reason, error_class,
            outcome IS NULL AND started_at < {newest} - INTERVAL {ABANDONED_AFTER_HOURS} HOUR,
            count(*), count(*) FILTER (WHERE no_browser),
            quantile_cont(duration_ms, 0.5) FILTER (WHERE outcome = 'completed' AND instance > 0),
            quantile_cont(duration_ms, 0.9) FILTER (WHERE outcome = 'completed' AND instance > 0),
            count(*) FILTER (WHERE instance = 0),
            GROUPING(outcome), GROUPING(by_value)
        FROM flows
        WHERE instance = 0 OR ({where})
        GROUP BY GROUPING SETS (
            (flow, by_value, outcome, step, reason, error_class, 7, instance = 0),
            (flow, by_value),
            (flow)
        )
        """,
        params,
    ).fetchall()
    outcomes: list[OutcomeCount] = []
    durations: list[Durations] = []
    orphans = 0
    for row in rows:
        flow, by_value, outcome, step, reason, error_class, abandoned = row[:7]
        flows, no_browser, median, p90, orphan_rows, rolled_up, overall = row[7:]
        if rolled_up:
            durations.append(Durations(flow, _text(by_value), median, p90, bool(overall)))
        elif orphan_rows:
            orphans += int(orphan_rows)
        else:
            outcomes.append(
                OutcomeCount(
                    flow=flow,
                    by_value=_text(by_value),
                    outcome=outcome,
                    step=step,
                    reason=reason,
                    error_class=error_class,
                    abandoned=bool(abandoned),
                    flows=int(flows),
                    no_browser=int(no_browser),
                )
            )
    unknown = con.execute(
        f"SELECT count(*) FROM events WHERE event IS NOT NULL AND invocation_id IS NOT NULL "
        f"AND sequence IS NOT NULL AND event NOT IN ({_names(KNOWN)})"
    ).fetchall()
    return QueryResult(outcomes, durations, int(unknown[0][0]), orphans)


def _text(value: object) -> str | None:
    return None if value is None else str(value)
