"""The sender lease: one row in the outbox, so only one process sends at a time.

A lease has a holder and an expiry; a sender renews it while it works and releases it when
done. A sender that dies leaves a lease that expires, so delivery resumes without a human.
Taking and checking the lease happen in one ``BEGIN IMMEDIATE`` transaction, so two
processes can never both believe they hold it.

Expiry is on the clock since boot, tagged with the boot's id (``holder@boot``): a wall clock
set back cannot keep a dead sender's lease alive, nor one set ahead expire a live one, and a
lease from another boot is stale (its holder cannot have survived the reboot). Without that
clock the wall clock serves, and a lease expiring further ahead than any lease lasts
(``MAX_TTL``) is stale: it was written before the clock went back.

A heartbeat only says the holder lives, not that it gets anywhere: a sender whose request
hangs renews its lease all the same. So beside the lease the holder keeps a promise
(``PROGRESS``): an answer from the endpoint by then (``patience``: its request timeout and a
grace), renewed by each answer (``progressed``), never by the heartbeat. Only an explicit
flush (``take_over_stalled``) takes over a live lease whose holder broke that promise; the
holder learns it at its next renewal and stops. A post of the same batch may then still be
in flight: the endpoint dedupes by messageId, and the archive takes a message once.

The holder claims the batch it is posting (``claim``: the ``in_flight`` table), so that
``discard_unsent`` (``telemetry disable``) removes only what no one is sending: a batch in
flight is left to finish, is archived if accepted, and is counted apart. A claim lives only
as long as its holder's lease: the next sender clears a dead one's.

A row that cannot be read (a holder or expiry that is not what this module writes: a damaged
file, a hand edit) is no lease at all: the next sender takes it over, which repairs it.
Telemetry never breaks a command over its own bookkeeping.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Final

from authfunnel.cli.telemetry._outbox import Outbox, transaction, translated

SENDER: Final = "sender"
PROGRESS: Final = "sender progress"  # its holder's promise: an answer by ``expires``
MAX_TTL: Final = 2 * 3600.0  # longer than any lease plus the longest back-off


def acquire(
    outbox: Outbox,
    holder: str,
    ttl: float,
    *,
    patience: float | None = None,
    take_over_stalled: bool = False,
) -> bool:
    """Take the lease for ``ttl`` seconds unless another live holder has it (and, with
    ``take_over_stalled``, has kept its promise of progress). ``patience``: how long this
    holder may go without an answer before it counts as stalled (default ``ttl``)."""
    tag, now = _tag(outbox, holder)
    with translated(), transaction(outbox.db):
        query = "SELECT name, holder, expires FROM lease WHERE name IN (?, ?)"
        rows = {name: (by, at) for name, by, at in outbox.db.execute(query, (SENDER, PROGRESS))}
        lease = rows.get(SENDER)
        if lease is not None and lease[0] != tag and _live(outbox, *lease):
            stalled = take_over_stalled and _stalled(outbox, lease[0], rows.get(PROGRESS))
            if not stalled:
                return False
        outbox.db.executemany(
            "INSERT OR REPLACE INTO lease VALUES (?, ?, ?)",
            [
                (SENDER, tag, now + _capped(ttl)),
                (PROGRESS, tag, now + _capped(ttl if patience is None else patience)),
            ],
        )
        outbox.db.execute("DELETE FROM in_flight WHERE holder != ?", (tag,))  # holders gone
    return True


def renew(outbox: Outbox, holder: str, ttl: float) -> bool:
    """Extend the lease; ``False`` if it was lost (expired and taken by another)."""
    tag, now = _tag(outbox, holder)
    with translated():
        updated = outbox.db.execute(
            "UPDATE lease SET expires = ? WHERE name = ? AND holder = ?",
            (now + _capped(ttl), SENDER, tag),
        ).rowcount
    return bool(updated)


def progressed(outbox: Outbox, holder: str, patience: float) -> None:
    """The endpoint answered ``holder``: it promises the next answer within ``patience``."""
    tag, now = _tag(outbox, holder)
    with translated():
        outbox.db.execute(
            "UPDATE lease SET expires = ? WHERE name = ? AND holder = ?",
            (now + _capped(patience), PROGRESS, tag),
        )


def release(outbox: Outbox, holder: str) -> None:
    tag, _ = _tag(outbox, holder)
    with translated(), transaction(outbox.db):
        outbox.db.execute("DELETE FROM in_flight WHERE holder = ?", (tag,))
        outbox.db.execute(
            "DELETE FROM lease WHERE name IN (?, ?) AND holder = ?", (SENDER, PROGRESS, tag)
        )


def claim(outbox: Outbox, holder: str, row_ids: Iterable[int]) -> set[int]:
    """Make ``row_ids`` the batch ``holder`` posts (none: it posts nothing now); return those
    still pending, the only ones it may post (a discard may have removed the others)."""
    tag, _ = _tag(outbox, holder)
    with translated(), transaction(outbox.db):
        outbox.db.execute("DELETE FROM in_flight WHERE holder = ?", (tag,))
        outbox.db.executemany(
            "INSERT OR REPLACE INTO in_flight SELECT id, ? FROM messages WHERE id = ?",
            [(tag, row_id) for row_id in row_ids],
        )
        rows = outbox.db.execute("SELECT id FROM in_flight WHERE holder = ?", (tag,))
        return {int(row[0]) for row in rows}


@dataclass(frozen=True)
class Discarded:
    """What ``discard_unsent`` removed, and what it left to the sender posting it."""

    discarded: int
    in_flight: int


def discard_unsent(outbox: Outbox) -> Discarded:
    """Remove every pending message but the batch a live sender is posting (one transaction):
    that one ends as its post does, archived if accepted.

    A row that is no message (a torn body) is first moved to the quarantine, as reading the
    pending messages does: it is no event to count as discarded, and is kept for inspection.
    """
    outbox.pending()
    with translated(), transaction(outbox.db):
        row = outbox.db.execute(
            "SELECT holder, expires FROM lease WHERE name = ?", (SENDER,)
        ).fetchone()
        sending = row[0] if row is not None and _live(outbox, row[0], row[1]) else None
        outbox.db.execute("DELETE FROM in_flight WHERE holder IS NOT ?", (sending,))
        discarded = outbox.db.execute(
            "DELETE FROM messages WHERE id NOT IN (SELECT id FROM in_flight)"
        ).rowcount
        in_flight = outbox.db.execute("SELECT COUNT(*) FROM messages").fetchone()[0]
    return Discarded(discarded=int(discarded), in_flight=int(in_flight))


def held(outbox: Outbox) -> bool:
    """Whether some sender holds an unexpired lease now."""
    with translated():
        row = outbox.db.execute(
            "SELECT holder, expires FROM lease WHERE name = ?", (SENDER,)
        ).fetchone()
    return row is not None and _live(outbox, row[0], row[1])


def _tag(outbox: Outbox, holder: str) -> tuple[str, float]:
    """The holder as stored (with this boot's id) and the time its expiry is counted on."""
    boot, since_boot = outbox.uptime()
    if boot is None:
        return holder, outbox.clock()
    return f"{holder}@{boot}", since_boot


def _live(outbox: Outbox, tag: Any, expires: Any) -> bool:
    """Whether a stored lease (as read: any type SQLite held) is live; unreadable is not."""
    now = _now_for(outbox, tag, expires)
    return now is not None and now < expires <= now + MAX_TTL


def _stalled(outbox: Outbox, tag: Any, promise: tuple[Any, Any] | None) -> bool:
    """Whether the live holder ``tag`` broke its promise of progress (one unreadable is
    broken; none at all, from a sender that makes none, is not: wait for its lease)."""
    if promise is None or promise[0] != tag:
        return False
    now = _now_for(outbox, tag, promise[1])
    return now is None or not now < promise[1] <= now + MAX_TTL


def _now_for(outbox: Outbox, tag: Any, expires: Any) -> float | None:
    """Now, on the clock ``tag``'s times are counted on; None when the row cannot be read or
    was written in another boot (its holder did not survive the reboot)."""
    if not isinstance(tag, str) or not isinstance(expires, (int, float)):
        return None
    if not math.isfinite(expires):
        return None
    boot, since_boot = outbox.uptime()
    _, at, lease_boot = tag.rpartition("@")
    if at and boot is not None:
        return since_boot if lease_boot == boot else None
    return outbox.clock()  # a lease written by the wall clock (or read without boot time)


def _capped(ttl: float) -> float:
    return min(ttl, MAX_TTL)
