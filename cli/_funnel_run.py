"""Running the funnel query: the fast path where it is exact, the per-instance query otherwise.

``run_query`` first lists the (invocation, flow) groups that counting events alone would get
wrong (``cli._fast_query``). When they are few, it counts the rest and pairs only those
groups; when they are many (``--by`` a property only starts carry, for example), the check
has found that pairing is needed almost everywhere, and it runs the per-instance query
(``cli._funnel_query``) alone. Both paths give the same ``QueryResult``.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Final, Literal

from cli._events import WELL_FORMED
from cli._fast_query import (
    ODD_GROUPS,
    fast_flows_sql,
    odd_events_sql,
    odd_groups_sql,
    window_sql,
)
from cli._funnel_query import (
    ABANDONED_AFTER_HOURS,
    KNOWN,
    Durations,
    OutcomeCount,
    QueryResult,
    _names,
    flows_sql,
)
from fsm import Funnel

if TYPE_CHECKING:
    import duckdb

QueryPath = Literal["auto", "fast", "exact"]
# Past this share of odd groups among the events, pairing is needed nearly everywhere: the
# per-instance query alone is cheaper than counting plus pairing.
ODD_SHARE_LIMIT: Final = 0.1


def run_query(
    con: duckdb.DuckDBPyConnection,
    funnels: Sequence[Funnel],
    *,
    since: datetime | None = None,
    until: datetime | None = None,
    by: bool = False,
    exact_quantiles: bool = True,
    path: QueryPath = "auto",
) -> QueryResult:
    """Count flows by outcome and step for ``funnels`` over the view ``events``.

    ``path`` forces the fast path (with pairing of the odd groups, however many) or the
    per-instance query; ``auto`` picks by the share of odd groups. Results are equal.
    """
    params: dict[str, object] = {"cutoff": _cutoff(con)}
    if since is not None:
        params["since"] = since
    if until is not None:
        params["until"] = until
    bounds = {"since": since is not None, "until": until is not None}
    relation = ""
    if path != "exact":
        con.execute(odd_groups_sql(funnels, by=by, **bounds), params)
        odd = _count(con, f"SELECT count(*) FROM {ODD_GROUPS}")
        events = _count(con, "SELECT count(*) FROM events")
        if path == "fast" or odd <= ODD_SHARE_LIMIT * events:
            if odd:
                con.execute(odd_events_sql(funnels))
            relation = fast_flows_sql(funnels, by=by, odd=odd > 0, **bounds)
    if not relation:
        relation = f"""
            SELECT flow, by_value, instance, outcome, step, reason, error_class, duration_ms,
                no_browser, 'instance' AS kind,
                {window_sql("started_at", **bounds)} AS in_window,
                outcome IS NULL AND started_at < $cutoff AS abandoned
            FROM ({flows_sql(funnels, by=by)})"""
    # Exact quantiles keep every duration in memory, which DuckDB cannot spill; past a size
    # the report uses DuckDB's bounded-memory T-Digest instead (and says so).
    quantile = "quantile_cont" if exact_quantiles else "approx_quantile"
    rows = con.execute(
        f"""
        SELECT flow, by_value, kind, outcome, step, reason, error_class, abandoned,
            count(*), count(*) FILTER (WHERE no_browser),
            {quantile}(duration_ms, 0.5) FILTER (WHERE outcome = 'completed' AND instance > 0),
            {quantile}(duration_ms, 0.9) FILTER (WHERE outcome = 'completed' AND instance > 0),
            count(*) FILTER (WHERE instance = 0),
            GROUPING(outcome), GROUPING(by_value)
        FROM ({relation})
        WHERE instance = 0 OR (instance > 0 AND in_window)
        GROUP BY GROUPING SETS (
            (flow, by_value, kind, outcome, step, reason, error_class, abandoned, instance = 0),
            (flow, by_value),
            (flow)
        )
        """,
        params,
    ).fetchall()
    outcomes, durations, orphans = _fold(rows)
    unknown = _count(
        con,
        f"SELECT count(*) FROM events WHERE {WELL_FORMED} AND NOT "
        f"(coalesce(type, 'track') = 'track' AND event IN ({_names(KNOWN)}))",
    )
    return QueryResult(outcomes, durations, exact_quantiles, unknown, orphans)


def _cutoff(con: duckdb.DuckDBPyConnection) -> datetime | None:
    """Flows with no ending that started before this are abandoned."""
    newest = con.execute("SELECT max(ts) FROM events").fetchall()[0][0]
    return None if newest is None else newest - timedelta(hours=ABANDONED_AFTER_HOURS)


Key = tuple[str, str | None]


def _fold(rows: list[tuple[object, ...]]) -> tuple[list[OutcomeCount], list[Durations], int]:
    """Query rows to outcome counts: starts minus endings of the well-formed groups are the
    flows still open, before the cutoff or after it."""
    outcomes: list[OutcomeCount] = []
    durations: list[Durations] = []
    orphans = 0
    opened: Counter[tuple[str, str | None, bool]] = Counter()
    no_browser: Counter[Key] = Counter()
    for row in rows:
        flow, by_value, kind, outcome, step, reason, error_class, abandoned = row[:8]
        flows, browserless, median, p90, orphan_rows, rolled_up, overall = row[8:]
        assert isinstance(flow, str)
        by = _text(by_value)
        if rolled_up:
            assert median is None or isinstance(median, float | int)
            assert p90 is None or isinstance(p90, float | int)
            durations.append(Durations(flow, by, median, p90, bool(overall)))
            continue
        count = int(str(flows))
        if orphan_rows:
            orphans += int(str(orphan_rows))
            continue
        if kind == "start":
            opened[flow, by, bool(abandoned)] += count
            no_browser[flow, by] += int(str(browserless))
            continue
        if kind == "end":
            opened[flow, by, bool(abandoned)] -= count
        outcomes.append(
            OutcomeCount(
                flow=flow,
                by_value=by,
                outcome=_text(outcome),
                step=_text(step),
                reason=_text(reason),
                error_class=_text(error_class),
                abandoned=bool(abandoned) and kind == "instance",
                flows=count,
                no_browser=int(str(browserless)),
            )
        )
    for (flow, by, abandoned), count in opened.items():
        if count < 0:
            raise RuntimeError(f"internal error: {flow} has more endings than starts")
        if count:
            outcomes.append(
                OutcomeCount(flow, by, None, None, None, None, abandoned, count, no_browser=0)
            )
    # The starts' no_browser count rides on any row of the same flow and breakdown value.
    for (flow, by), count in no_browser.items():
        if count:
            index = next(i for i, o in enumerate(outcomes) if (o.flow, o.by_value) == (flow, by))
            outcomes[index] = replace(
                outcomes[index], no_browser=outcomes[index].no_browser + count
            )
    return outcomes, durations, orphans


def _text(value: object) -> str | None:
    return None if value is None else str(value)


def _count(con: duckdb.DuckDBPyConnection, sql: str) -> int:
    rows = con.execute(sql).fetchall()
    return int(rows[0][0]) if rows else 0
