"""Properties left out because their event's declaration does not name them, counted.

A call site that passes a property its event does not declare (a path, an email, a misspelt
run property) loses it before the message is stored: nothing undeclared leaves the machine.
Silently, a misspelt property would just be missing from every report; so each one left out
is counted, durably, in the outbox's ``undeclared`` table, which ``telemetry status`` shows:
per event name and property NAME, never a value (the name is the application's code, the
value may be the person's data). The count is written in the transaction that records the
event, so a killed process cannot count what it did not record.

The table is bounded: names are cut to ``MAX_NAME`` characters and at most ``MAX_PAIRS`` pairs
are kept; any further pair is counted under ``OTHERS``.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Final

from authfunnel.cli.app import printable
from authfunnel.cli.telemetry._outbox import Outbox, OutboxError, translated

MAX_NAME: Final = 200
MAX_PAIRS: Final = 200
OTHERS: Final = "(others)"
SHOWN: Final = 10  # pairs named on the status line; the rest are counted


def count(outbox: Outbox, event: str, names: Iterable[str]) -> None:
    """Count one leaving-out of each of ``names`` from ``event`` (inside the caller's write)."""
    db = outbox.db
    with translated():
        for name in sorted(names):
            pair = (event[:MAX_NAME], name[:MAX_NAME])
            added = db.execute(
                "UPDATE undeclared SET count = count + 1 WHERE event = ? AND property = ?", pair
            ).rowcount
            if added:
                continue
            (pairs,) = db.execute("SELECT COUNT(*) FROM undeclared").fetchone()
            if pairs >= MAX_PAIRS:
                pair = (OTHERS, OTHERS)
            db.execute(
                "INSERT INTO undeclared (event, property, count) VALUES (?, ?, 1) "
                "ON CONFLICT (event, property) DO UPDATE SET count = count + 1",
                pair,
            )


def counts(outbox: Outbox) -> dict[str, dict[str, int]]:
    """Event name to {property name: times left out}; empty when none was, or the table
    cannot be read (an outbox of an earlier version opened read-only has none)."""
    try:
        with translated():
            rows = outbox.db.execute(
                "SELECT event, property, count FROM undeclared ORDER BY event, property"
            ).fetchall()
    except OutboxError:
        return {}
    found: dict[str, dict[str, int]] = {}
    for event, name, times in rows:
        if isinstance(times, int) and times > 0:
            found.setdefault(str(event), {})[str(name)] = times
    return found


def summary(found: dict[str, dict[str, int]]) -> str | None:
    """One status line for ``counts``'s result, or None when nothing was left out."""
    pairs = [(event, name, n) for event, names in found.items() for name, n in names.items()]
    if not pairs:
        return None
    pairs.sort(key=lambda pair: (-pair[2], pair[0], pair[1]))
    total = sum(n for _, _, n in pairs)
    named = "; ".join(f"{name} on {event} ({n:,})" for event, name, n in pairs[:SHOWN])
    more = f"; and {len(pairs) - SHOWN:,} more" if len(pairs) > SHOWN else ""
    return printable(f"Undeclared properties left out (never stored): {total:,}: {named}{more}")
