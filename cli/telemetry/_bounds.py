"""How a table of messages is bounded: by age, then by count, oldest first.

The outbox's pending ``messages``, the ``archive`` of delivered ones and the ``refused`` ones
(the dead letters) are all bounded this way, and all on the outbox's clock (``Outbox.now``:
the wall clock anchored once per boot, advanced by the time since boot; see ``_clock``).
``created`` is stamped on that clock when a message is recorded and carried into the archive
with it, and ``now`` is read on it too, so a wall clock set ahead ages no row and one set back
keeps none past the age bound.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from typing import Final, Literal

BoundedTable = Literal["messages", "archive", "refused"]
_BOUNDED: Final = frozenset({"messages", "archive", "refused"})


@dataclass(frozen=True)
class Dropped:
    """What one bounding removed, and how many rows the table kept."""

    by_age: int
    by_count: int
    kept: int

    @property
    def total(self) -> int:
        return self.by_age + self.by_count


def bound_table(
    db: sqlite3.Connection, table: BoundedTable, *, now: float, max_age_s: float, max_rows: int
) -> Dropped:
    """Delete ``table``'s rows created before ``now - max_age_s``, then its oldest beyond
    ``max_rows``.

    Run it inside the caller's transaction, so the count and the deletes see one state;
    ``sqlite3.Error`` propagates for the caller to translate. Rowids only grow while rows
    remain, so the lowest ids are the oldest.
    """
    if table not in _BOUNDED:  # it is written into the SQL: only ever one of ours
        raise ValueError(f"{table!r} is not a bounded table")
    old = db.execute(f"DELETE FROM {table} WHERE created < ?", (now - max_age_s,)).rowcount
    total = int(db.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0])
    excess = max(0, total - max_rows)
    if excess:
        db.execute(
            f"DELETE FROM {table} WHERE id IN (SELECT id FROM {table} ORDER BY id LIMIT ?)",
            (excess,),
        )
    return Dropped(by_age=int(old), by_count=excess, kept=total - excess)
