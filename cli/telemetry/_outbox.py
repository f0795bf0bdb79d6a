"""The outbox: tracked events, persisted as the Segment messages they will be sent as.

One SQLite file in the state dir (WAL, ``synchronous=NORMAL``: a commit survives a killed
process, and costs no fsync). ``messages`` has no index but its rowid, and no AUTOINCREMENT:
each costs another page written per event, about doubling ``track`` (rowids still only grow
while rows remain, so oldest-first holds; messageIds are uuid4, and dedupe is the
endpoint's job, as for any replay).

Every message is written before ``track`` returns and leaves only after the endpoint
accepted its batch. The outbox is bounded by count and age (``_bounds``, on ``Outbox.now``);
what the bounds drop is counted in ``meta`` so ``telemetry status`` can report it.

The ``archive`` table (see ``_archive``) keeps accepted messages for reports.

``sqlite3.Error`` becomes ``OutboxError`` here and nowhere else.
"""

from __future__ import annotations

import json
import os
import sqlite3
import time
import uuid
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Final

from authfunnel.cli.app import FILE_MODE, private_dir, private_file
from authfunnel.cli.telemetry import _clock
from authfunnel.cli.telemetry._bounds import BoundedTable, Dropped, bound_table
from authfunnel.cli.telemetry._clock import Clock, Uptime

SCHEMA_VERSION: Final = 3  # 2: the archive table; 3: refused, refusals, in_flight
DEFAULT_MAX_EVENTS: Final = 10_000
DEFAULT_MAX_AGE_DAYS: Final = 30.0
BUSY_TIMEOUT_MS: Final = 15_000

_SCHEMA: Final = """
CREATE TABLE IF NOT EXISTS messages (
    id INTEGER PRIMARY KEY,
    message_id TEXT NOT NULL,
    created REAL NOT NULL,
    body TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS archive (
    id INTEGER PRIMARY KEY,
    message_id TEXT NOT NULL,
    created REAL NOT NULL,
    body TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
-- The sender's (see _refused and _in_flight): messages the endpoint refused again and again,
-- kept for reports; how often each pending one was refused alone; the batch being posted.
CREATE TABLE IF NOT EXISTS refused (
    id INTEGER PRIMARY KEY,
    message_id TEXT NOT NULL,
    created REAL NOT NULL,
    body TEXT NOT NULL,
    status INTEGER NOT NULL,
    code TEXT NOT NULL,
    refused_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS refusals (message_id TEXT PRIMARY KEY, count INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS in_flight (id INTEGER PRIMARY KEY, holder TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS lease (name TEXT PRIMARY KEY, holder TEXT NOT NULL, expires REAL);
CREATE TABLE IF NOT EXISTS open_flows (
    invocation_id TEXT NOT NULL,
    flow TEXT NOT NULL,
    pid INTEGER NOT NULL,
    pid_start TEXT,
    step TEXT,
    started REAL NOT NULL,
    seen REAL NOT NULL,
    started_body TEXT NOT NULL,
    PRIMARY KEY (invocation_id, flow)
);
"""

ANCHOR: Final = "clock_anchor"  # [boot id, time since boot, wall time]: this boot's origin


class OutboxError(Exception):
    """The outbox cannot be used; ``corrupt`` when the file is not a usable database."""

    def __init__(self, message: str, *, corrupt: bool = False) -> None:
        super().__init__(message)
        self.corrupt = corrupt


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
    ) -> None:
        self.path = path
        self.max_events = max_events
        self.max_age_days = max_age_days
        self.clock = clock
        self.uptime = uptime
        self._anchor: tuple[str, float, float] | None = None
        self._db = _connect(path)
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
            with translated():
                self._db.execute(
                    "INSERT OR IGNORE INTO meta VALUES ('anonymous_id', ?)", (str(uuid.uuid4()),)
                )
                self._anonymous_id = self.get("anonymous_id") or ""
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
        """``(row id, message JSON)`` of the messages not yet accepted, oldest first."""
        query = "SELECT id, body FROM messages ORDER BY id"
        with translated():
            if limit is None:
                rows = self._db.execute(query).fetchall()
            else:
                rows = self._db.execute(query + " LIMIT ?", (limit,)).fetchall()
        return [(int(row[0]), str(row[1])) for row in rows]

    def count(self) -> int:
        with translated():
            return int(self._db.execute("SELECT COUNT(*) FROM messages").fetchone()[0])

    def delete(self, row_ids: Iterable[int]) -> None:
        """Remove accepted messages (one transaction)."""
        ids = [(row_id,) for row_id in row_ids]
        with translated(), transaction(self._db):
            self._db.executemany("DELETE FROM messages WHERE id = ?", ids)

    def discard_all(self) -> int:
        """Remove every pending message (telemetry disabled before they were sent)."""
        with translated():
            return self._db.execute("DELETE FROM messages").rowcount

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

    def dropped(self) -> dict[str, int]:
        """How many messages the bounds have dropped since the outbox was created."""
        return {
            "age": int(self.get("dropped_age") or 0),
            "count": int(self.get("dropped_count") or 0),
        }


def open_outbox(path: Path, **options: Any) -> Outbox:
    """Open (creating) the outbox at ``path``; a corrupt file is moved aside, never deleted.

    Raises ``OutboxError`` when it cannot be used; ``error.corrupt`` says the file was moved
    aside (its new name is in the message) and the next invocation starts a fresh one.
    """
    try:
        return Outbox(path, **options)
    except OutboxError as exc:
        if not exc.corrupt:
            raise
        moved = move_aside(path)
        raise OutboxError(f"{path} is corrupt; moved it to {moved}", corrupt=True) from exc


def move_aside(path: Path) -> Path:
    """Rename ``path`` (and its WAL files) to ``<name>.corrupt-<time>`` for inspection."""
    stamp = time.strftime("%Y%m%dT%H%M%S")
    target = path.with_name(f"{path.name}.corrupt-{stamp}-{uuid.uuid4().hex[:6]}")
    path.rename(target)
    for suffix in ("-wal", "-shm"):
        companion = path.with_name(path.name + suffix)
        if companion.exists():
            companion.rename(target.with_name(target.name + suffix))
    return target


def _connect(path: Path) -> sqlite3.Connection:
    try:
        private_dir(path.parent)
    except OSError as exc:
        raise OutboxError(f"cannot create {path.parent}: {exc.strerror}") from exc
    try:
        # SQLite gives the -wal and -shm files the database file's mode: made 0600 first, all
        # three are. Ones an earlier version left readable are tightened too.
        private_file(path)
        for suffix in ("-wal", "-shm"):
            companion = path.with_name(path.name + suffix)
            if companion.exists():
                os.chmod(companion, FILE_MODE)
    except OSError as exc:
        raise OutboxError(f"cannot create {path}: {exc.strerror}") from exc
    try:
        db = sqlite3.connect(path, isolation_level=None, timeout=BUSY_TIMEOUT_MS / 1000)
    except sqlite3.Error as exc:
        raise OutboxError(f"cannot open {path}: {exc}") from exc
    try:
        db.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        if db.execute("PRAGMA journal_mode").fetchone()[0] != "wal":
            db.execute("PRAGMA journal_mode = WAL")
        db.execute("PRAGMA synchronous = NORMAL")
        if db.execute("PRAGMA user_version").fetchone()[0] != SCHEMA_VERSION:
            db.executescript(
                f"BEGIN IMMEDIATE; {_SCHEMA} PRAGMA user_version = {SCHEMA_VERSION}; COMMIT;"
            )
        db.execute("SELECT 1 FROM messages LIMIT 1").fetchall()
    except sqlite3.DatabaseError as exc:
        db.close()
        corrupt = not isinstance(exc, sqlite3.OperationalError) or "malformed" in str(exc)
        raise OutboxError(f"cannot use {path}: {exc}", corrupt=corrupt) from exc
    return db


@contextmanager
def transaction(db: sqlite3.Connection) -> Iterator[None]:
    """``BEGIN IMMEDIATE`` ... ``COMMIT``: the write lock up front, so no upgrade deadlock.

    A nested use joins the transaction already open.
    """
    if db.in_transaction:
        yield
        return
    db.execute("BEGIN IMMEDIATE")
    try:
        yield
    except BaseException:
        if db.in_transaction:
            db.execute("ROLLBACK")
        raise
    db.execute("COMMIT")


@contextmanager
def translated() -> Iterator[None]:
    """A scope in which ``sqlite3.Error`` is raised as ``OutboxError`` (the one boundary)."""
    try:
        yield
    except sqlite3.DatabaseError as exc:
        corrupt = not isinstance(exc, sqlite3.OperationalError) or "malformed" in str(exc)
        raise OutboxError(f"outbox: {exc}", corrupt=corrupt) from exc
    except sqlite3.Error as exc:
        raise OutboxError(f"outbox: {exc}") from exc


def _dumps(message: dict[str, Any]) -> str:
    return json.dumps(message, separators=(",", ":"), ensure_ascii=False)
