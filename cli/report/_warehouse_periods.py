"""Conversion over time in a warehouse: each event's period (``_periods``) as an ibis value.

A period is the day, or the ISO week from Monday, of an event's time read in the report's
zone (``--tz``). Engines convert time zones each in its own way (PostgreSQL's ``AT TIME
ZONE``, Snowflake's ``CONVERT_TIMEZONE``, BigQuery's ``DATETIME(ts, zone)``...) and ibis has
no one operation for it; but over the analysed events a zone is a handful of UTC offsets,
each from one instant to the next transition (two a year where daylight saving time is
kept). Python's ``zoneinfo`` lists them (``utc_offsets``), and the period is computed in the
warehouse as the UTC time shifted by its offset, truncated and formatted: plain arithmetic
every engine compiles, and the very offsets the reference (``_reference``) reads.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Final
from zoneinfo import ZoneInfo

from authfunnel.cli.report._periods import NO_TIME, Period

if TYPE_CHECKING:
    import ibis.expr.types as ir

# Offsets change at most a few times a year: looking once a day finds every change, which
# is then placed to the second (a zone's historical offsets may hold seconds).
_LOOK_EVERY: Final = timedelta(days=1)
_TRUNCATE: Final = {"day": "D", "week": "W"}


def utc_offsets(zone: ZoneInfo, first: datetime, last: datetime) -> list[tuple[datetime, int]]:
    """``zone``'s offsets from UTC in seconds over ``first``..``last``: the offset at
    ``first``, then each new offset from the UTC instant it takes effect, oldest first."""

    def offset(moment: datetime) -> int:
        found = moment.astimezone(zone).utcoffset()
        assert found is not None  # an aware time's offset
        return int(found.total_seconds())

    moment = first.astimezone(UTC)
    found = [(moment, offset(moment))]
    while moment < last:
        ahead = min(moment + _LOOK_EVERY, last.astimezone(UTC))
        if offset(ahead) != found[-1][1]:
            # The change lies in (moment, ahead], on a whole second: bisected in seconds.
            low, high = math.floor(moment.timestamp()), math.ceil(ahead.timestamp())
            while high - low > 1:
                middle = (low + high) // 2
                if offset(_instant(middle)) != found[-1][1]:
                    high = middle
                else:
                    low = middle
            found.append((_instant(high), offset(_instant(high))))
        moment = ahead
    return found


def _instant(seconds: int) -> datetime:
    return datetime.fromtimestamp(seconds, UTC)


def period_value(
    ts: ir.TimestampValue,
    period: Period,
    zone: ZoneInfo,
    first: datetime | None,
    last: datetime | None,
) -> ir.StringValue:
    """The period of ``ts`` (``'2026-01-12'``: the day, or the week's Monday) in ``zone``,
    as ``_periods.period_sql`` computes it in DuckDB; ``NO_TIME`` where ``ts`` is NULL.
    ``first`` and ``last`` bound the times ``ts`` holds (None: it holds none)."""
    import ibis

    if first is None or last is None:
        return ibis.literal(NO_TIME)
    offsets = utc_offsets(zone, first, last)

    def shifted(seconds: int) -> ir.TimestampValue:
        # A literal interval: Redshift has no MAKE_INTERVAL, Snowflake no interval product.
        return ts + ibis.interval(seconds=seconds)

    local = shifted(offsets[-1][1])
    if len(offsets) > 1:
        # Before each change, the offset it replaces.
        changes = zip(offsets[1:], offsets, strict=False)
        local = ibis.cases(
            *((ts < ibis.literal(start), shifted(before)) for (start, _), (_, before) in changes),
            else_=local,
        )
    shown = local.truncate(_TRUNCATE[period]).strftime("%Y-%m-%d")
    return ibis.ifelse(ts.isnull(), ibis.literal(NO_TIME), shown)
