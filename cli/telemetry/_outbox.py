"""The outbox: tracked events, persisted as the Segment messages they will be sent as.

One SQLite file in the state dir (WAL, ``synchronous=NORMAL``: a commit survives a killed
process, and costs no fsync). ``messages`` has no index but its rowid, and no AUTOINCREMENT:
each costs another page written per event, about doubling ``track`` (rowids still only grow
while rows remain, so oldest-first holds; messageIds are uuid4, and dedupe is the
endpoint's job, as for any replay).

Every message is written before ``track`` returns and leaves only after the endpoint
accepted its batch. The outbox is bounded by count and age (``_bounds``, on ``Outbox.now``);
what the bounds drop is counted in ``meta`` so ``telemetry status`` can report it. A row
whose body is not a Segment message is moved to ``quarantine`` as it is read, so that it
blocks neither delivery nor ``telemetry show``.

The ``archive`` table (see ``_archive``) keeps accepted messages for reports. The file
itself (schema, opening, errors) is ``_store``'s; a damaged one is moved aside and what can
be read of it kept (``_salvage``).
"""

from __future__ import annotations

import json
import os
import sqlite3
import time
import uuid
from collections.abc import Iterable
from pathlib import Path
from typing import Any, Final

from authfunnel.cli.telemetry import _clock
from authfunnel.cli.telemetry._bounds import BoundedTable, Dropped, bound_table
from authfunnel.cli.telemetry._clock import Clock, Uptime
from authfunnel.cli.telemetry._store import (
    BUSY_TIMEOUT_MS,
    SCHEMA_VERSION,
    OutboxError,
    connect,
    connect_read_only,
    transaction,
    translated,
    writable,
)

# Named here too: the modules that share this file import them from the outbox.
__all__ = [
    "BUSY_TIMEOUT_MS",
    "DEFAULT_MAX_AGE_DAYS",
    "DEFAULT_MAX_EVENTS",
    "SCHEMA_VERSION",
    "Outbox",
    "OutboxError",
    "open_outbox",
    "transaction",
    "translated",
    "unreadable",
]

DEFAULT_MAX_EVENTS: Final = 10_000
DEFAULT_MAX_AGE_DAYS: Final = 30.0
QUARANTINED: Final = "quarantined"  # meta: how many rows were moved to the quarantine table
REPAIRED: Final = "repaired"  # meta: what moving a damaged file aside kept, until told
_MESSAGE_KEYS: Final = ("type", "messageId")  # what the endpoint needs of each
ANCHOR: Final = "clock_anchor"  # [boot id, time since boot, wall time]: this boot's origin


class Outbox:
    """The durable queue of Segment messages for one install (safe across processes)."""

    def __init__(
        self,
        path: Path,
        *,
        max_events: int = DEFAULT_MAX_EVENTS,
        max_age_days: float = DEFAULT_MAX_AGE_DAYS,
        clock: Clock = time.time,
        uptime: Uptime = _clock.uptime,
        read_only: bool = False,
    ) -> None:
        self.path = path
        self.read_only = read_only
        self.max_events = max_events
        self.max_age_days = max_age_days
        self.clock = clock
        self.uptime = uptime
        self._anchor: tuple[str, float, float] | None = None
        self._db = connect_read_only(path) if read_only else connect(path)
        try:  # which file this connection holds, so a damaged one is moved aside only once
            found = os.stat(path)
            self.identity: tuple[int, int] | None = (found.st_dev, found.st_ino)
        except OSError:
            self.identity = None
        self._appended = 0
        self._size_at_open = 0
        self._bounded = False
        self._anonymous_id: str | None = None

    @property
    def db(self) -> sqlite3.Connection:
        """The connection, for the lease and flow records that share this file."""
        return self._db

    def close(self) -> None:
        self._db.close()

    # Identity ---------------------------------------------------------------------------------

    @property
    def anonymous_id(self) -> str:
        """This install's anonymousId: a uuid4 made once, on first use, and kept."""
        if self._anonymous_id is None:
            kept = self.get("anonymous_id")  # read first: a read-only store has one or none
            if kept is None and not self.read_only:
                with translated():
                    self._db.execute(
                        "INSERT OR IGNORE INTO meta VALUES ('anonymous_id', ?)",
                        (str(uuid.uuid4()),),
                    )
                kept = self.get("anonymous_id")
            self._anonymous_id = kept or ""
        return self._anonymous_id

    # Time -------------------------------------------------------------------------------------

    def now(self) -> float:
        """Wall-clock time that no jump of the wall clock within this boot moves.

        The first reading in a boot anchors the time since boot to the wall clock (kept in
        ``meta``, shared by every process of the boot); later ones add what really elapsed.
        Ages are measured on it, so setting the clock ahead drops no pending event.
        """
        boot, since_boot = self.uptime()
        if boot is None:
            return self.clock()
        anchor = self._anchor
        if anchor is None or anchor[0] != boot:
            anchor = self._anchor = self._anchored(boot, since_boot)
        return anchor[2] + (since_boot - anchor[1])

    def _anchored(self, boot: str, since_boot: float) -> tuple[str, float, float]:
        with translated(), transaction(self._db):
            row = self._db.execute("SELECT value FROM meta WHERE key = ?", (ANCHOR,)).fetchone()
            try:
                stored = json.loads(row[0]) if row is not None else None
                if stored is not None and stored[0] == boot:
                    return (boot, float(stored[1]), float(stored[2]))
            except (ValueError, TypeError, IndexError, KeyError):
                pass  # unreadable: anchor afresh
            anchor = (boot, since_boot, self.clock())
            self._db.execute(
                "INSERT OR REPLACE INTO meta VALUES (?, ?)", (ANCHOR, json.dumps(anchor))
            )
        return anchor

    # Meta -------------------------------------------------------------------------------------

    def get(self, key: str) -> str | None:
        with translated():
            row = self._db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return None if row is None else str(row[0])

    def put(self, key: str, value: str | None) -> None:
        with translated():
            if value is None:
                self._db.execute("DELETE FROM meta WHERE key = ?", (key,))
            else:
                self._db.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", (key, value))

    def add_to(self, key: str, amount: int) -> None:
        """Add ``amount`` to the integer stored under ``key`` (a counter in ``meta``)."""
        with translated():
            self._db.execute(
                "INSERT INTO meta VALUES (?, ?) ON CONFLICT(key) DO UPDATE "
                "SET value = CAST(value AS INTEGER) + CAST(excluded.value AS INTEGER)",
                (key, str(amount)),
            )

    # Messages ---------------------------------------------------------------------------------

    def append(self, message: dict[str, Any]) -> int:
        """Persist ``message`` (committed when this returns); return how many the bounds dropped.

        The bounds are enforced at the first append of a process and whenever the count may
        exceed them, not at every append (that would cost a COUNT per event).
        """
        with translated():
            self._db.execute(
                "INSERT INTO messages (message_id, created, body) VALUES (?, ?, ?)",
                (message["messageId"], self.now(), _dumps(message)),
            )
        self._appended += 1
        if not self._bounded or self._size_at_open + self._appended > self.max_events:
            return self.enforce_bounds()
        return 0

    def pending(self, limit: int | None = None) -> list[tuple[int, str]]:
        """``(row id, message JSON)`` of the messages not yet accepted, oldest first.

        A row whose body is not a Segment message (not JSON, or without its type or messageId)
        is moved to ``quarantine`` on the way: it could never be sent, and left in place it
        would hold back every message after it.
        """
        found: list[tuple[int, str]] = []
        after = -1
        while True:
            wanted = -1 if limit is None else limit - len(found)
            with translated():
                rows = self._db.execute(
                    "SELECT id, body FROM messages WHERE id > ? ORDER BY id LIMIT ?",
                    (after, wanted),
                ).fetchall()
            bad: list[tuple[int, Any, str]] = []
            for row_id, body in rows:
                why = unreadable(body)
                if why is None:
                    found.append((int(row_id), str(body)))
                else:
                    bad.append((int(row_id), body, why))
            if bad:
                self.quarantine("messages", bad)
            if not bad or len(rows) < wanted or wanted < 0:
                return found
            after = rows[-1][0]

    def quarantine(self, table: str, rows: Iterable[tuple[int, Any, str]]) -> None:
        """Move ``(row id, what it held, why)`` rows of ``table`` to the quarantine table.

        A read-only store cannot move them: they are only left out of what is read. Another
        process may have read the same rows and moved them first: only the rows this one
        still finds are moved (and counted), so a row is quarantined once.
        """
        if self.read_only:
            return
        try:
            with translated(), transaction(self._db):
                moved = [
                    (table, self.clock(), why, repr(data))
                    for row_id, data, why in rows
                    if self._db.execute(f"DELETE FROM {table} WHERE rowid = ?", (row_id,)).rowcount
                ]
                self._db.executemany(
                    "INSERT INTO quarantine (source, moved, reason, data) VALUES (?, ?, ?, ?)",
                    moved,
                )
                if moved:
                    self.add_to(QUARANTINED, len(moved))
        except OutboxError as exc:
            if not exc.read_only:
                raise

    def count(self) -> int:
        with translated():
            return int(self._db.execute("SELECT COUNT(*) FROM messages").fetchone()[0])

    def delete(self, row_ids: Iterable[int]) -> None:
        """Remove accepted messages (one transaction)."""
        ids = [(row_id,) for row_id in row_ids]
        with translated(), transaction(self._db):
            self._db.executemany("DELETE FROM messages WHERE id = ?", ids)

    def enforce_bounds(self) -> int:
        """Drop messages older than the age bound, then the oldest beyond the count bound."""
        with translated(), transaction(self._db):
            dropped = self.bound("messages")
            for key, amount in (
                ("dropped_age", dropped.by_age),
                ("dropped_count", dropped.by_count),
            ):
                if amount:
                    self.add_to(key, amount)
        self._size_at_open = dropped.kept
        self._appended = 0
        self._bounded = True
        return dropped.total

    def bound(self, table: BoundedTable) -> Dropped:
        """Bound ``table`` (pending ``messages`` or the ``archive``) by this outbox's age and
        count bounds, on ``now``: the one clock rows are stamped with. Inside a transaction."""
        return bound_table(
            self._db,
            table,
            now=self.now(),
            max_age_s=self.max_age_days * 86_400,
            max_rows=self.max_events,
        )


def open_outbox(path: Path, **options: Any) -> Outbox:
    """Open (creating) the outbox at ``path``.

    A damaged file is moved aside, never deleted, and what can be read of it is kept in a
    fresh one (``_salvage``); what was done is left in ``meta`` under ``REPAIRED`` for the
    next recording invocation to say once. Where nothing can be written (a read-only state
    dir) the outbox is opened read-only: ``outbox.read_only``. Raises ``OutboxError`` when
    it cannot be used at all.
    """
    if path.exists() and not writable(path):
        return Outbox(path, read_only=True, **options)
    try:
        return Outbox(path, **options)
    except OutboxError as exc:
        if not exc.corrupt:
            raise
        from authfunnel.cli.telemetry import _salvage

        outbox, notice = _salvage.replace(path, None, options)
        outbox.put(REPAIRED, notice)
        return outbox


def unreadable(body: object) -> str | None:
    """Why ``body`` is not a Segment message this outbox can send, or ``None`` when it is."""
    if not isinstance(body, str):
        return "not text"
    try:
        message = json.loads(body)
    except ValueError:
        return "not JSON"
    if not isinstance(message, dict):
        return "not a JSON object"
    if not all(isinstance(message.get(key), str) for key in _MESSAGE_KEYS):
        return "no type or messageId"
    return None


def _dumps(message: dict[str, Any]) -> str:
    return json.dumps(message, separators=(",", ":"), ensure_ascii=False)
