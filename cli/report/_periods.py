"""Conversion over time (``--over day|week``, ``--tz``): flows bucketed by when they started.

A flow's period is the day, or the ISO week (Monday to Sunday), in which its *start* falls,
read in the report's time zone (UTC unless ``--tz`` names an IANA zone). Each period's
figures are the funnel's, for the flows started in it (completed: within the conversion
window, as everywhere in the report).

How: a period is a breakdown value computed at load. ``use_periods`` puts each event's
period (``'2026-01-12'``: the day, or the week's Monday) in the ``by_value`` column of the
view ``events``, so the query's exact ``--by`` machinery does the rest: a flow takes its
start's value, and a flow whose start and ending fall in different periods (one crossing
midnight in the zone) is a group the fast path pairs exactly rather than counts. A start
without a timestamp has the value ``NO_TIME``: its own row, counted, never folded into a
period. The reference (``_reference``) reads periods the same way, in Python's ``zoneinfo``.

``timeline`` lists the periods from the first with a flow to the last, the empty ones as
zeros, and marks as incomplete the period in which the source's events stop (the newest
event's, or ``--until``'s when it comes first): the report knows nothing past that moment,
so that period holds only part of its flows, and its last flows have had less time to end.
(The period holding *now* would mark nothing on last month's export, whose last day the
export cut just the same.)
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Final, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from authfunnel.cli.app import UsageError
from authfunnel.cli.report._figures import Figures

if TYPE_CHECKING:
    import duckdb

Period = Literal["day", "week"]
PERIODS: Final = ("day", "week")
NO_TIME: Final = "(no time)"
AS_LOADED: Final = "authfunnel_events_as_loaded"
# Past this many periods between the first and the last, the empty ones are not listed (a
# stray timestamp from 1970 would otherwise make 20,000 rows of zeros).
MAX_FILLED: Final = 1_000
# The HTML page shows conversion over time even without --over: by day when the analysed
# events (those within --since and --until) span at most this many days (five weeks of
# daily bars), else by week.
MOST_DAYS: Final = 35


def parse_zone(name: str | None) -> ZoneInfo:
    """``--tz``'s IANA zone (default UTC); a one-line usage error naming an unknown one."""
    if name is None:
        return ZoneInfo("UTC")
    try:
        zone = ZoneInfo(name.strip())
    except (ZoneInfoNotFoundError, ValueError):
        zone = None
    # zoneinfo also opens files of the zone database that name no zone ("localtime",
    # "posixrules", "right/UTC"), which DuckDB's time zones (the query's) do not know.
    if zone is None or not _duckdb_knows(zone.key):
        raise UsageError(
            f"--tz {name!r} is not a time zone this system knows",
            hint="an IANA zone name: --tz UTC, --tz Europe/Paris, --tz America/New_York",
        )
    return zone


def _duckdb_knows(key: str) -> bool:
    import duckdb

    with duckdb.connect() as con:
        found = con.execute("SELECT 1 FROM pg_timezone_names() WHERE name = ?", [key])
        return found.fetchone() is not None


def period_sql(period: Period, zone: ZoneInfo) -> str:
    """SQL for the period of ``ts`` in ``zone`` (``NO_TIME`` when it has none)."""
    name = str(zone.key).replace("'", "''")
    return (
        f"CASE WHEN ts IS NULL THEN '{NO_TIME}' ELSE "
        f"strftime(date_trunc('{period}', timezone('{name}', ts)), '%Y-%m-%d') END"
    )


def period_of(moment: datetime | None, period: Period, zone: ZoneInfo) -> str:
    """The period of ``moment`` in ``zone``, as ``period_sql`` computes it."""
    if moment is None:
        return NO_TIME
    return _start(moment.astimezone(zone).date(), period).isoformat()


def _start(day: date, period: Period) -> date:
    return day - timedelta(days=day.weekday()) if period == "week" else day


def use_periods(con: duckdb.DuckDBPyConnection, period: Period, zone: ZoneInfo) -> None:
    """Make the view ``events`` carry each event's period as its ``by_value`` (once per
    load: the view as loaded is kept under ``AS_LOADED``)."""
    con.execute(f"DROP VIEW IF EXISTS {AS_LOADED}")
    con.execute(f"ALTER VIEW events RENAME TO {AS_LOADED}")
    con.execute(
        "CREATE OR REPLACE TEMP VIEW events AS SELECT * REPLACE "
        f"({period_sql(period, zone)} AS by_value) FROM {AS_LOADED}"
    )


def period_for_range(first: datetime | None, last: datetime | None) -> Period:
    """The period the HTML page draws without ``--over``: see ``MOST_DAYS``."""
    if first is None or last is None:
        return "day"
    return "day" if (last - first) <= timedelta(days=MOST_DAYS) else "week"


@dataclass(frozen=True)
class Bucket:
    """One period's figures (``start`` None: the flows whose start has no time)."""

    start: date | None
    figures: Figures
    incomplete: bool = False
    partial: bool = False  # --since falls inside it: only its flows from then are counted


@dataclass(frozen=True)
class Timeline:
    """The periods of one flow, oldest first, then the untimed flows' row if any."""

    period: Period
    buckets: list[Bucket]
    filled: bool  # empty periods listed as zeros (False past ``MAX_FILLED``)


def timeline(
    by_period: Mapping[str, Figures],
    period: Period,
    zone: ZoneInfo,
    ends: datetime | None,
    empty: Callable[[], Figures],
    since: datetime | None = None,
) -> Timeline:
    """``by_period`` (figures per period value) as a ``Timeline``: periods from the first to
    the last, the missing ones ``empty()``; the one holding ``ends`` (where the source's
    events stop) marked incomplete, the one ``since`` falls inside (not on its first
    instant) marked partial."""
    starts = sorted(date.fromisoformat(value) for value in by_period if value != NO_TIME)
    buckets: list[Bucket] = []
    filled = True
    if starts:
        step = timedelta(days=7 if period == "week" else 1)
        count = (starts[-1] - starts[0]) // step + 1
        filled = count <= MAX_FILLED or count == len(starts)  # or none is empty
        days = [starts[0] + step * i for i in range(count)] if filled else starts
        last = date.fromisoformat(period_of(ends, period, zone)) if ends else None
        cut = _cut_by(since, period, zone)
        buckets = [
            Bucket(
                day,
                by_period.get(day.isoformat()) or empty(),
                incomplete=day == last,
                partial=day == cut,
            )
            for day in days
        ]
    if NO_TIME in by_period:
        buckets.append(Bucket(None, by_period[NO_TIME]))
    return Timeline(period, buckets, filled)


def _cut_by(since: datetime | None, period: Period, zone: ZoneInfo) -> date | None:
    """The period ``since`` falls inside, None when it is on a period's first instant (the
    instant before it is another period's: exact across daylight-saving changes)."""
    if since is None:
        return None
    found = period_of(since, period, zone)
    if period_of(since - timedelta(microseconds=1), period, zone) == found:
        return date.fromisoformat(found)
    return None


def marks_legend(over: Timeline) -> str:
    """What the marks on period labels say, for the marks some label bears (terminal, HTML)."""
    meanings = (
        (
            "so far",
            "the period in which the source's events stop, so incomplete",
            any(bucket.incomplete for bucket in over.buckets),
        ),
        (
            "partial",
            "--since falls inside it, so only its flows from then are counted",
            any(bucket.partial for bucket in over.buckets),
        ),
    )
    return "".join(f" '{mark}': {meaning}." for mark, meaning, borne in meanings if borne)


def label(bucket: Bucket, period: Period) -> str:
    """How a period reads: ``2026-01-12 Mon``, ``2026-W03 (from 01-12)``, ``(no time)``."""
    if bucket.start is None:
        return NO_TIME
    if period == "week":
        year, week, _ = bucket.start.isocalendar()
        text = f"{year}-W{week:02d} (from {bucket.start:%m-%d})"
    else:
        text = f"{bucket.start:%Y-%m-%d %a}"
    return text + (" partial" if bucket.partial else "") + (" so far" if bucket.incomplete else "")


def stop(last_event: datetime | None, until: datetime | None) -> datetime | None:
    """Where the analysed events stop: the newest event, or ``--until`` when earlier."""
    if until is not None and last_event is not None and until <= last_event:
        return until  # on a period's first instant: the period before it is complete
    return last_event
