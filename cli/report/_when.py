"""``--since`` / ``--until`` values: an ISO date or time, or an age such as ``7d`` or ``12h``."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Final

from authfunnel.cli.app import UsageError

_AGE: Final = re.compile(r"^(\d+)([smhdw])$")
_UNITS: Final = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


def parse_when(text: str, *, option: str, now: datetime | None = None) -> datetime:
    """An aware UTC datetime for ``text``; a usage error naming ``option`` if it is neither."""
    age = _AGE.match(text.strip())
    if age:
        amount, unit = age.groups()
        try:
            return (now or datetime.now(UTC)) - timedelta(**{_UNITS[unit]: int(amount)})
        except OverflowError:  # before the year 1: no calendar (nor DuckDB) goes there
            raise UsageError(
                f"{option} {text} is too far back",
                hint=f"give an age within a few thousand years, or a date: {option} 2020-01-01",
            ) from None
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        raise UsageError(
            f"{option} {text!r} is not a date, time or age",
            hint=f"for example {option} 2026-01-31, {option} 2026-01-31T12:00Z or {option} 7d",
        ) from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
