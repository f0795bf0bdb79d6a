"""Running the funnel query: the fast path where it is exact, the per-instance query otherwise.

``run_query`` first lists the invocations (with more than ``MAX_FUNNELS`` flows, the
(invocation, flow) groups) that counting events alone would get wrong
(``cli._fast_query``). When they are few, it counts the rest and pairs only those groups;
when they are many (``--by`` a property only starts carry, for example), the check has
found that pairing is needed almost everywhere, and it runs the per-instance query
(``cli._funnel_query``) alone. Both paths give the same ``QueryResult``: the one the
plain-Python reference (``cli.report._reference``) computes, which states the rules and
which the property tests hold both paths to.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Final, Literal

from authfunnel.cli.report._conversion_time import DEFAULT_WINDOW, window_ms
from authfunnel.cli.report._events import WELL_FORMED
from authfunnel.cli.report._fast_query import (
    COUNTED,
    ODD_GROUPS,
    counted_sql,
    fast_flows_sql,
    odd_events_sql,
    odd_groups_sql,
    window_sql,
)
from authfunnel.cli.report._funnel_query import (
    ABANDONED_AFTER_HOURS,
    QueryResult,
    events_sql,
    flows_sql,
)
from authfunnel.cli.report._roles import event_roles
from authfunnel.cli.report._rows import fetch_rows
from authfunnel.cli.report._tally import HISTOGRAM, read_histogram
from authfunnel.cli.report._unreported import Unreported, unreported_counts, unreported_sql
from authfunnel.fsm import Funnel

if TYPE_CHECKING:
    import duckdb

QueryPath = Literal["auto", "fast", "exact"]
# Past this share of odd groups among the events, pairing is needed nearly everywhere: the
# per-instance query alone is cheaper than counting plus pairing.
ODD_SHARE_LIMIT: Final = 0.1
# Events sampled to tell whether a --by property is carried by starts and endings alike.
BY_SAMPLE: Final = 100_000
# A gap this wide between the shares of starts and of endings carrying the --by value means
# most flows would be odd (starts include the command's, which lack an auth property).
BY_SKEW: Final = 0.2


@dataclass(frozen=True, slots=True)
class ByShares:
    """In a sample, the share of starts and of endings that carry the ``--by`` property."""

    starts: float | None
    endings: float | None


def run_query(
    con: duckdb.DuckDBPyConnection,
    funnels: Sequence[Funnel],
    *,
    since: datetime | None = None,
    until: datetime | None = None,
    by: bool = False,
    path: QueryPath = "auto",
    window: timedelta = DEFAULT_WINDOW,
) -> QueryResult:
    """Count flows by outcome and step for ``funnels`` over the view ``events`` (completed
    flows that took longer than ``window``: late, see ``_conversion_time``).

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
    counted = False
    if path == "fast" or (path == "auto" and not (by and _by_only_on_one_side(con, funnels))):
        for statement in odd_groups_sql(funnels, by=by, **bounds):
            _execute(con, statement, params)
        odd = _count(con, f"SELECT count(*) FROM {ODD_GROUPS}")
        events = _count(con, "SELECT count(*) FROM events")
        if path == "fast" or odd <= ODD_SHARE_LIMIT * events:
            _execute(con, counted_sql(funnels, by=by, **bounds), params)
            counted = True
            if odd:
                con.execute(odd_events_sql(funnels, by=by))
            relation = fast_flows_sql(funnels, by=by, odd=odd > 0, **bounds)
    if not relation:
        relation = f"""
            SELECT flow, by_value, instance, outcome, step, reason, error_class, duration_ms,
                skipped, no_browser, 'instance' AS kind,
                {window_sql("started_at", **bounds)} AS in_window,
                outcome IS NULL AND started_at < $cutoff AS abandoned, 1 AS weight
            FROM ({flows_sql(funnels, by=by)})"""
    # One aggregation to a histogram: the figures' counts, and per completed duration how
    # many flows took it. Median and p90 come from the histogram: exact at any size, in the
    # bounded (spillable) memory of a hash aggregate rather than a list of every duration.
    # Rows are weighted (the fast path subtracts what it pairs instead): a group that nets
    # to nothing is no group.
    _execute(
        con,
        f"""
        CREATE OR REPLACE TEMP TABLE {HISTOGRAM} AS
        SELECT flow, by_value, kind, outcome, step, reason, error_class, skipped, abandoned,
            instance = 0 AS orphan,
            CASE WHEN outcome = 'completed' AND instance > 0 THEN duration_ms END AS duration,
            sum(weight) AS flows, sum(CASE WHEN no_browser THEN weight ELSE 0 END) AS no_browser
        FROM ({relation})
        WHERE instance = 0 OR (instance > 0 AND in_window)
        GROUP BY ALL
        HAVING sum(weight) <> 0
        """,
        params,
    )
    outcomes, durations, orphans = read_histogram(con, window_ms(window))
    # Well-formed messages no funnel reads (``COUNTED`` holds only well-formed messages):
    # other types, and events of flows not reported.
    tally, source, well_formed = "count(*)", "events", WELL_FORMED
    if counted:
        tally, source, well_formed = "coalesce(sum(n), 0)", COUNTED, "true"
    unknown = _count(
        con,
        f"SELECT {tally} FROM {source} WHERE {well_formed} AND coalesce(type, 'track') <> 'track'",
    )
    sql = unreported_sql(event_roles(funnels), source, tally=tally, where=well_formed)
    unreported = unreported_counts(fetch_rows(con, sql, Unreported))
    return QueryResult(outcomes, durations, unknown, orphans, unreported)


def _execute(con: duckdb.DuckDBPyConnection, sql: str, params: dict[str, object]) -> None:
    """Run ``sql`` with the parameters it names (DuckDB refuses any it does not)."""
    con.execute(sql, {name: value for name, value in params.items() if f"${name}" in sql})


def _by_only_on_one_side(con: duckdb.DuckDBPyConnection, funnels: Sequence[Funnel]) -> bool:
    """Whether the ``--by`` property is on starts but not endings (``no_browser``) or the
    reverse, in a sample: then nearly every flow needs pairing, and the check is wasted.
    (A guess that only picks the path: both give the same result.)"""
    shares = fetch_rows(
        con,
        f"""
        SELECT count_if(is_start AND by_value IS NOT NULL) / greatest(count_if(is_start), 1)
                AS starts,
            count_if(NOT is_start AND by_value IS NOT NULL) / greatest(count_if(NOT is_start), 1)
                AS endings
        FROM (SELECT * FROM ({events_sql(funnels)}) LIMIT {BY_SAMPLE})
        """,
        ByShares,
    )
    return bool(shares) and abs((shares[0].starts or 0) - (shares[0].endings or 0)) > BY_SKEW


def _cutoff(con: duckdb.DuckDBPyConnection) -> datetime | None:
    """Flows with no ending that started before this are abandoned."""
    newest = con.execute("SELECT max(ts) FROM events").fetchall()[0][0]
    return None if newest is None else newest - timedelta(hours=ABANDONED_AFTER_HOURS)


def _count(con: duckdb.DuckDBPyConnection, sql: str) -> int:
    rows = con.execute(sql).fetchall()
    return int(rows[0][0]) if rows else 0
