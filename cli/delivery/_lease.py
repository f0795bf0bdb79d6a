"""The sender lease: one row in the outbox, so only one process sends at a time.

A lease has a holder and an expiry; a sender renews it after each batch and releases it when
done. A sender that dies leaves a lease that expires, so delivery resumes without a human.
Taking and checking the lease happen in one ``BEGIN IMMEDIATE`` transaction, so two
processes can never both believe they hold it.
"""

from __future__ import annotations

from typing import Final

from cli.delivery._outbox import Outbox, transaction, translated

SENDER: Final = "sender"


def acquire(outbox: Outbox, holder: str, ttl: float) -> bool:
    """Take the lease for ``ttl`` seconds unless another live holder has it."""
    now = outbox.clock()
    with translated(), transaction(outbox.db):
        row = outbox.db.execute(
            "SELECT holder, expires FROM lease WHERE name = ?", (SENDER,)
        ).fetchone()
        if row is not None and row[0] != holder and float(row[1]) > now:
            return False
        outbox.db.execute(
            "INSERT OR REPLACE INTO lease VALUES (?, ?, ?)", (SENDER, holder, now + ttl)
        )
    return True


def renew(outbox: Outbox, holder: str, ttl: float) -> bool:
    """Extend the lease; ``False`` if it was lost (expired and taken by another)."""
    with translated():
        updated = outbox.db.execute(
            "UPDATE lease SET expires = ? WHERE name = ? AND holder = ?",
            (outbox.clock() + ttl, SENDER, holder),
        ).rowcount
    return bool(updated)


def release(outbox: Outbox, holder: str) -> None:
    with translated():
        outbox.db.execute("DELETE FROM lease WHERE name = ? AND holder = ?", (SENDER, holder))


def held(outbox: Outbox) -> bool:
    """Whether some sender holds an unexpired lease now."""
    with translated():
        row = outbox.db.execute("SELECT expires FROM lease WHERE name = ?", (SENDER,)).fetchone()
    return row is not None and float(row[0]) > outbox.clock()
