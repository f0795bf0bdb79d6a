"""How long a conversion may take, and how long conversions took.

**The conversion window** (``--window``): a completed flow counts as converted only if it
completed within the window of its start, that is if its ``duration_ms`` (which every
completed flow carries) is at most the window; one that took longer is *completed late*: it
reached every stage but is not a conversion, and is counted apart (never dropped), so that
``started == completed + completed_late + aborted + failed + in_flight + abandoned``. A
completed flow without a ``duration_ms`` (an older client's) cannot be late: it converts.

The default, one hour: these flows are CLI logins and signups, which take seconds to
minutes (a browser round trip; the device-code grant's codes expire after 15 minutes at
most providers), so an hour keeps every login a person finished in one sitting and leaves
out a terminal left open overnight. It is shorter than the abandonment cutoff
(``ABANDONED_AFTER_HOURS``, 24 h), which is another question: when a flow with *no* ending
yet is given up for the figures (abandoned rather than in flight). A flow still open at the
report's time is in flight or abandoned whatever the window; once it ends, the window says
whether it converted.

**Time to convert**: every completed flow's duration (late ones included: the distribution
is where they show) in ``BINS``, log-spaced so that seconds and minutes both read.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import timedelta
from typing import Final

from authfunnel.cli.app import UsageError

DEFAULT_WINDOW: Final = timedelta(hours=1)
_DURATION: Final = re.compile(r"^(\d+)([smhdw])$")
_SECONDS: Final = {"s": 1, "m": 60, "h": 3_600, "d": 86_400, "w": 604_800}
_LONGEST: Final = timedelta(days=3650)  # past this a "window" is no window: say so


def parse_window(text: str | None) -> timedelta:
    """``--window``'s value (``30m``, ``2h``, ``7d``) as a duration (None: the default); a
    usage error otherwise."""
    if text is None:
        return DEFAULT_WINDOW
    found = _DURATION.match(text.strip())
    window = None
    # Bounded in whole seconds first: timedelta itself overflows on a long run of digits.
    if found and 0 < int(found[1]) * _SECONDS[found[2]] <= _LONGEST.total_seconds():
        window = timedelta(seconds=int(found[1]) * _SECONDS[found[2]])
    if window is None:
        raise UsageError(
            f"--window {text!r} is not a duration from 1s to 10 years",
            hint="a whole number and a unit (s, m, h, d or w): --window 30m, 2h or 7d",
        )
    return window


def window_text(window: timedelta) -> str:
    """``window`` as ``--window`` takes it, in its largest whole unit: ``1h``, ``90m``."""
    seconds = int(window.total_seconds())
    for unit, size in (("w", 604_800), ("d", 86_400), ("h", 3_600), ("m", 60)):
        if seconds and seconds % size == 0:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


def window_ms(window: timedelta) -> int:
    return window // timedelta(milliseconds=1)


@dataclass(frozen=True)
class Bin:
    """Completed flows that took ``from_ms`` or more and less than ``to_ms`` (None: no end)."""

    label: str
    from_ms: int
    to_ms: int | None


# Upper bounds, in milliseconds, of every bin but the last (which has none).
_EDGES: Final = (1_000, 2_000, 5_000, 10_000, 30_000, 60_000, 120_000, 300_000)
_LABELS: Final = (
    "<1 s",
    "1-2 s",
    "2-5 s",
    "5-10 s",
    "10-30 s",
    "30 s-1 min",
    "1-2 min",
    "2-5 min",
    "5+ min",
)
BINS: Final = tuple(
    Bin(label, (0, *_EDGES)[i], _EDGES[i] if i < len(_EDGES) else None)
    for i, label in enumerate(_LABELS)
)


def bin_of(duration_ms: int) -> int:
    """The index in ``BINS`` of a duration (a negative one, a clock stepped back, is <1 s)."""
    return sum(duration_ms >= edge for edge in _EDGES)


def bin_sql(column: str) -> str:
    """SQL for ``bin_of(column)``."""
    return " + ".join(f"({column} >= {edge})::INTEGER" for edge in _EDGES)
